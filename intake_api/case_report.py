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

from . import notices
from .models import Complaint
from .workflow import LEVELS, RESPONSIBILITY, SOLUTIONS

# Labels of the document, (zh, en): zh-Hant is converted from zh (notices.localize).
LABELS = {
    "title": ("投诉处理报告", "Complaint handling report"),
    "number": ("编号", "Number"), "category": ("类别", "Category"), "level": ("级别", "Level"),
    "received": ("受理时间", "Received"), "occurred": ("发生时间与地点", "When and where"),
    "what": ("投诉内容", "What happened"), "request": ("诉求", "What was asked for"),
    "findings": ("调查依据与发现", "Basis and findings"), "responsibility": ("责任认定", "Responsibility"),
    "solutions": ("解决方式", "Solution"), "promise": ("承诺事项与期限", "Promised, and by when"),
    "result": ("处理结果", "Result"), "followup": ("后续措施", "Follow-up measures"),
    "deadlines": ("时限", "Time limits"), "handler": ("处理人", "Handled by"), "team": ("处理团队", "Team"),
    "confirmation": ("投诉人确认", "The complainant's confirmation"),
    "confirmed": ("已确认", "Confirmed"), "disputed": ("有异议，已转主管复核", "Disputed: under supervisor review"),
    "pending": ("待确认", "Not yet confirmed"),
    "assessment_due_at": ("评估期限", "Assessment due"), "assessed_at": ("评估于", "Assessed"),
    "first_response_due_at": ("首次答复期限", "First response due"),
    "first_responded_at": ("首次答复于", "First responded"), "result_due_at": ("结果反馈期限", "Result due"),
    "resolved_at": ("反馈结果于", "Result fed back"),
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

    def t(key: str) -> str:
        return notices.localize(*LABELS[key], lang)

    def named(pair: tuple[str, str]) -> str:
        return notices.localize(*pair, lang)

    def when(moment: dt.datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    cat = next((x for x in kb.categories if x.id == c.category), None)
    team = kb.process.team(c.team) if c.team else None
    rows = [(t("number"), c.number), (t("category"), named((cat.zh, cat.en)) if cat else c.category),
            (t("level"), named(LEVELS[c.level])), (t("received"), when(c.received_at)),
            (t("occurred"), f"{when(c.occurred_at)[:10]} · {c.location}")]
    rows.append((t("handler"), handler or "—") if for_staff and handler else
                (t("team"), named((team.zh, team.en)) if team else "—"))
    sections = [(t("what"), c.description), (t("request"), c.request)]
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
