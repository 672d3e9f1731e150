"""What use teaches the knowledge base, without identity.

Two loops close here. A handler links a resolved complaint to the article
that answered it; the complaint's wording, redacted as `kb publish` redacts,
becomes a proposed phrasing of that article, and HR's approval writes it
into the article's file (phrasings.py) for the next build. And the figures
that judge deflection are made honest: a deflection followed, within
FALSE_DEFLECTION_DAYS, by a complaint from the same browser did not solve
anything. The browser is known only by a random token the site keeps in
localStorage; the database keeps its SHA-256 on the deflection for that
window and then erases it, and never stores it with a complaint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Text, cast, select, update
from sqlalchemy.orm import Session

from .models import AnalyticsEvent, Deflection, Phrasing

# A complaint this soon after a "this solved it" from the same browser makes it a false deflection.
FALSE_DEFLECTION_DAYS = 7
# Event kinds from the form (events.py): an article opened from the suggestions, and suggestions that were on
# screen when the employee submitted anyway (recorded by the desk at registration, not sent by the browser).
OPENED = "article_opened"
PASSED = "suggestion_passed"
# A proposal made by "this solved it" clicks: its proposer, and its status once every such click proved false.
DEFLECTION = "deflection"
WITHDRAWN = "withdrawn"
FALSE_DEFLECTION = "false deflection"


# A proposed phrasing is at most this long: whole sentences of the complaint, from its start.
PHRASING_CHARS = 160
# Of a long text only its start is read for a proposal (the phrasing keeps the opening sentences anyway).
PROPOSAL_INPUT = 2000
_PLACEHOLDER = re.compile(r"\[[^\[\]\s]{1,16}\]")  # what the redactor leaves: [姓名], [电话], [email]...
_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])|(?<=[.;；])\s")


def phrasing_of(text: str, limit: int = PHRASING_CHARS) -> str:
    """The complaint's wording as one phrasing line: its opening sentences up to `limit` characters.

    The first sentence alone lost what a short complaint says in its second ("I asked for a refund
    last week. It is still not in my account."); a long one keeps the start, where people say what is wrong.
    """
    out = ""
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = " ".join(sentence.split())
        if not sentence or (out and _PLACEHOLDER.search(sentence)):
            continue  # after the first, a sentence that held a name or a number says who, not what
        joined = f"{out} {sentence}".strip() if out and out[-1].isascii() else out + sentence
        if out and len(joined) > limit:
            break
        out = joined
    return out[:limit].strip()


def proposal_text(text: str, redactor) -> str:
    """What a complaint or a "this solved it" query proposes as a phrasing: redacted, then its opening sentences.

    The one recipe for both (the desk's link and deflection, and benchmarks/learning.py's replay), so the
    benchmark measures the wording the product proposes. `redactor` is `publish.redactor_for`'s.
    """
    return phrasing_of(redactor.redact(text)[0])


def proposable(kb, text: str, redactor) -> str:
    """The phrasing a complaint or a "this solved it" query proposes, or "" for none: a sensitive matter
    (sensitive.assess, as everywhere) proposes nothing, whatever its wording.

    The desk (link_article, record_deflection) and benchmarks/learning.py call this one function.
    """
    from .sensitive import assess
    if not (text or "").strip() or assess(kb, text).sensitive:
        return ""
    return proposal_text(text[:PROPOSAL_INPUT], redactor)


def _key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def is_new(text: str, existing: Iterable[str]) -> bool:
    """Not already one of these phrasings (spacing and case aside): proposing it again would teach nothing."""
    return bool(text.strip()) and _key(text) not in {_key(e) for e in existing}


def browser_hash(token: str | None) -> str | None:
    return hashlib.sha256(token.encode("ascii")).hexdigest() if token else None


def forget_old_tokens(session: Session, now: dt.datetime) -> None:
    """Erase browser hashes older than the window: past it they can contradict nothing."""
    session.execute(update(Deflection).where(
        Deflection.browser_hash.is_not(None),
        Deflection.created_at < now - dt.timedelta(days=FALSE_DEFLECTION_DAYS)).values(browser_hash=None))


def contradict(session: Session, token: str | None, now: dt.datetime) -> int:
    """A complaint from this browser: its deflections of the last FALSE_DEFLECTION_DAYS were false. Returns how many.

    A proposal that those clicks made is withdrawn once no click that still stands supports it.
    """
    digest = browser_hash(token)
    if digest is None:
        return 0
    found = list(session.scalars(select(Deflection).where(
        Deflection.browser_hash == digest, Deflection.contradicted_at.is_(None),
        Deflection.created_at >= now - dt.timedelta(days=FALSE_DEFLECTION_DAYS), Deflection.created_at <= now)))
    for d in found:
        d.contradicted_at = now
    session.flush()
    withdraw_unsupported(session, {d.phrasing_id for d in found if d.phrasing_id is not None}, now)
    return len(found)


def withdraw_unsupported(session: Session, phrasing_ids: set[int], now: dt.datetime) -> None:
    """Proposals from clicks only (no handler's link) that no standing click supports any more: withdrawn.

    An approved or rejected one stays as HR decided; a withdrawn one is proposed again by the next click.
    """
    if not phrasing_ids:
        return
    standing = set(session.scalars(select(Deflection.phrasing_id).where(
        Deflection.phrasing_id.in_(phrasing_ids), Deflection.contradicted_at.is_(None))))
    for p in session.scalars(select(Phrasing).where(Phrasing.id.in_(phrasing_ids - standing),
                                                    Phrasing.status == "proposed", Phrasing.complaint_id.is_(None))):
        p.status, p.decided_by, p.decided_at = WITHDRAWN, FALSE_DEFLECTION, now


def _like_escaped(text: str) -> str:
    """text as a LIKE pattern matches it literally (an article id comes from a URL)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def signals(session: Session, article_id: str, limit: int = 50) -> dict:
    """What use says about one article: the phrasings that led to it and those that led past it to a complaint.

    to_it: "this solved it" (deflections, false ones marked), handler links (phrasings proposed or approved);
    past_it: suggestions on screen when the employee submitted anyway. `opened` counts opens from the form.
    Every text is what the desk stored: redacted, and absent for a sensitive matter.
    """
    solved = [{"query": d.query, "false": d.contradicted_at is not None, "at": d.created_at}
              for d in session.scalars(select(Deflection).where(Deflection.article_id == article_id)
                                       .order_by(Deflection.id.desc()).limit(limit))]
    linked = [{"query": p.text, "status": p.status, "at": p.created_at}
              for p in session.scalars(select(Phrasing).where(Phrasing.article_id == article_id,
                                                              Phrasing.complaint_id.is_not(None),
                                                              Phrasing.status != "rejected")
                                       .order_by(Phrasing.id.desc()).limit(limit))]
    counts: dict[str, int] = defaultdict(int)
    past: list[dict] = []
    # Every event that names the article, however many there are (the newest 5,000 events of all articles
    # were read before: a busy site's counts came out silently short). The JSON text is narrowed in SQL on both
    # databases; the list itself decides.
    named = cast(AnalyticsEvent.article_ids, Text).like(f'%"{_like_escaped(article_id)}"%', escape="\\")
    rows = session.execute(select(AnalyticsEvent.kind, AnalyticsEvent.query, AnalyticsEvent.article_ids,
                                  AnalyticsEvent.created_at)
                           .where(AnalyticsEvent.kind.in_((OPENED, PASSED)), named)
                           .order_by(AnalyticsEvent.id.desc()).execution_options(yield_per=1000))
    for kind, query, article_ids, at in rows:
        if article_id not in (article_ids or []):
            continue
        counts[kind] += 1
        if kind == PASSED and query and len(past) < limit:
            past.append({"query": query, "at": at})
    return {"article": article_id, "to_it": {"solved": solved, "linked": linked}, "past_it": past,
            "opened": counts[OPENED], "passed": counts[PASSED],
            "false_deflections": sum(s["false"] for s in solved)}
