"""The workspace's pages for learning from answered complaints (the desk's Learning methods).

A handler links a resolved complaint to the article that answered it (the
complaint page offers the articles the suggest search finds, with why); HR
reviews the proposed phrasings, with the guard's conflicts, and sees per
article which phrasings led to it and which led past it to a complaint.
Registered on the workspace's blueprint; only parses, calls and renders.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from .auth import staff_required
from .errors import go_back_to
from .i18n import N_
from .suggest import searcher
from .web import actor, desk
from .workspace import TEXT, bp, t

TEXT.update({
    "phrasings": N_("Phrasings to approve"),
    "link": N_("Answered by an existing article: link it"),
    "link_help": N_("The complaint's wording (redacted) is proposed as a new phrasing of that article; HR approves it before it is written into the article."),
    "article_id": N_("Article id"),
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "despite": N_("Approve despite the conflicts"),
    "conflicts_found": N_("Would win other articles' phrasings"),
    "no_phrasings": N_("No phrasings to approve"),
    "signals": N_("How this article is used"),
    "to_it": N_("Phrasings that led to it"),
    "past_it": N_("Phrasings that led past it to a complaint"),
    "solved_clicks": N_("\"This solved it\""),
    "linked": N_("Handler links"),
    "opened": N_("Opened from the form"),
    "false_deflection": N_("complained within 7 days"),
})


@bp.post("/complaints/<number>/link")
@staff_required
def link_article(number: str):
    go_back_to(url_for("workspace.complaint", number=number))
    desk().link_article(actor(), number, request.form.get("article_id", ""), searcher())
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.complaint", number=number))


@bp.get("/phrasings")
@staff_required
def phrasings():
    page = request.args.get("page", "1")
    result = desk().phrasings(actor(), page=int(page) if page.isdigit() and len(page) < 7 else 1)
    return render_template("staff/phrasings.html", phrasings=result.items, result=result)


@bp.post("/phrasings/<int:phrasing_id>")
@staff_required
def decide_phrasing(phrasing_id: int):
    go_back_to(url_for("workspace.phrasings"))
    form = request.form
    desk().decide_phrasing(actor(), phrasing_id, form.get("decision") == "approve", searcher(),
                           form.get("text"), form.get("despite_conflicts") == "1")
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.phrasings"))


@bp.get("/articles/<article_id>")
@staff_required
def article_signals(article_id: str):
    return render_template("staff/article_signals.html", s=desk().article_signals(actor(), article_id[:100]))
