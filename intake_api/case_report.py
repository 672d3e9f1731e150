"""The written 《投诉处理报告》: one complaint's record as a document, HTML to print and PDF, in its language.

Built from the record only (desk.view), so what it says is what the history
says. Two readers: staff who may see the complaint (with the handler's name,
and the identity as `identity_for` allows), and the complainant through the
tracking code (no identity, no staff names: the team instead). Everything an
employee typed is escaped in both forms: Jinja autoescape for HTML,
`xml.sax.saxutils.escape` for reportlab's paragraph markup.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .i18n import N_, gettext, pick, speaking
from .models import Complaint
from .workflow import LEVEL_NAMES, RESPONSIBILITY, SOLUTIONS

# Labels of the document (message ids of the catalogues).
LABELS = {
    "title": N_("Complaint handling report"),
    "number": N_("Number"), "category": N_("Category"), "level": N_("Level"),
    "received": N_("Received on"), "occurred": N_("When and where"),
    "what": N_("What happened"), "request": N_("What was asked for"),
    "findings": N_("Basis and findings"), "responsibility": N_("Responsibility"),
    "solutions": N_("Solution"), "promise": N_("Promised, and by when"),
    "result": N_("Result"), "followup": N_("Follow-up measures"),
    "deadlines": N_("Time limits"), "handler": N_("Handled by"), "team": N_("Team"),
    "confirmation": N_("The complainant's confirmation"),
    "confirmed": N_("Confirmed"), "disputed": N_("Disputed: under supervisor review"),
    "pending": N_("Not yet confirmed"),
    "assessment_due_at": N_("Assessment due"), "assessed_at": N_("Assessed on"),
    "first_response_due_at": N_("First response due"),
    "first_responded_at": N_("First responded"), "result_due_at": N_("Result due"),
    "resolved_at": N_("Result fed back on"),
}
DATES = ("assessment_due_at", "assessed_at", "first_response_due_at", "first_responded_at", "result_due_at",
         "resolved_at")


@dataclass(frozen=True)
class Report:
    """The document's content, in one language, as plain text values (escaped when rendered)."""

    language: str
    title: str
    rows: list[tuple[str, str]]  # label, value (one line)
    sections: list[tuple[str, str]]  # heading, paragraph text (may span lines)


def build(kb, c: Complaint, zone, handler: str | None, for_staff: bool) -> Report:
    lang = c.language or "zh-Hans"
    with speaking(lang):  # the complainant's language, whoever asks for the document
        return _build(kb, c, zone, handler, for_staff, lang)


def _build(kb, c: Complaint, zone, handler: str | None, for_staff: bool, lang: str) -> Report:
    def t(key: str) -> str:
        return gettext(LABELS[key])

    def named(label) -> str:
        return pick(label)

    def when(moment: dt.datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    occurred = c.occurred_on.isoformat() if c.occurred_on else when(c.occurred_at)[:10]
    cat = next((x for x in kb.categories if x.id == c.category), None)
    team = kb.process.team(c.team) if c.team else None
    rows = [(t("number"), c.number), (t("category"), named((cat.zh, cat.en)) if cat else c.category),
            (t("level"), named(LEVEL_NAMES[c.level])), (t("received"), when(c.received_at)),
            (t("occurred"), " · ".join(x for x in (occurred, c.location) if x))]
    rows.append((t("handler"), handler or "—") if for_staff and handler else
                (t("team"), named((team.zh, team.en)) if team else "—"))
    # The request is optional for some categories (kb.yml categories[].optional): no empty section then.
    sections = [(t("what"), c.description)] + ([(t("request"), c.request)] if c.request else [])
    if c.response_basis:
        sections.append((t("findings"), c.response_basis))
    if c.responsibility:
        sections.append((t("responsibility"), named(RESPONSIBILITY[c.responsibility])))
    if c.solutions:
        sections.append((t("solutions"), "、".join(named(SOLUTIONS[s]) for s in c.solutions if s in SOLUTIONS)))
    if c.promise_due_at:
        sections.append((t("promise"), f"{c.promise_text or ''} ({when(c.promise_due_at)[:10]})".strip()))
    sections.append((t("result"), c.response_result or c.response or "—"))
    if c.response_followup:
        sections.append((t("followup"), c.response_followup))
    sections.append((t("deadlines"), "\n".join(f"{t(k)}: {when(getattr(c, k))}" for k in DATES
                                                if getattr(c, k) is not None)))
    state = c.report_confirmation or "pending"
    sections.append((t("confirmation"), t(state) + (f" ({when(c.report_confirmed_at)})"
                                                    if c.report_confirmed_at else "")))
    return Report(lang, f"{t('title')} · {c.number}", rows, sections)


def pdf(report: Report) -> bytes:
    """The report as PDF, with the CID fonts every PDF reader knows for Chinese (no font file to ship)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "MSung-Light" if report.language == "zh-Hant" else "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=12, leading=18, spaceBefore=6)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, alignment=1)

    def para(text: str, style=body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=report.title, leftMargin=18 * mm, rightMargin=18 * mm)
    table = Table([[para(k), para(v)] for k, v in report.rows], colWidths=[40 * mm, None])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, "#999999"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [para(report.title, title), Spacer(1, 6 * mm), table]
    for heading, text in report.sections:
        story += [para(heading, head), para(text)]
    doc.build(story)
    return buffer.getvalue()
