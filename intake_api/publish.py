"""A resolved complaint becomes a knowledge-base article: drafted, redacted, edited, approved.

Personal data is removed before anything leaves the database (kb_builder.redact);
the edited text is redacted again on saving, in case an editor typed a phone
number back in. Drafts are written as `published: false` case files; only an
approved one is `published: true`, and `kb build` puts it on the site.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from kb_builder.analysis import to_simplified
from kb_builder.errors import ContentError
from kb_builder.redact import PLACEHOLDERS, Redactor
from kb_builder.sources import CaseMeta, read_source

from .models import Complaint
from .workflow import Language

SECTIONS = {Language.ZH_HANS: ("问题", "原因", "处理办法"), Language.ZH_HANT: ("問題", "原因", "處理辦法"),
            Language.EN: ("Problem", "Cause", "What to do")}
CAUSE_TODO = {Language.ZH_HANS: "（请补充调查发现的原因）", Language.ZH_HANT: "（請補充調查發現的原因）",
              Language.EN: "(Add what the investigation found.)"}


@dataclass
class Draft:
    id: str
    title: str
    category: str
    language: str
    tags: list[str]
    questions: list[str]
    body: str
    resolved: dt.date
    found: dict[str, int] = field(default_factory=dict)  # what redaction removed, for the editor
    origin: str = "complaint"  # the site publishes a complaint's text as text (kb_builder/pages.py)

    def edit(self, title: str | None = None, tags: list[str] | None = None, questions: list[str] | None = None,
             body: str | None = None) -> None:
        """An editor's fields as every front end takes them: trimmed, empty entries dropped, one kind of line
        end, the body ending in one; a field left as None keeps its value."""
        if title is not None:
            self.title = title.strip()
        if tags is not None:
            self.tags = [x.strip() for x in tags if x.strip()]
        if questions is not None:
            self.questions = [x.strip() for x in questions if x.strip()]
        if body is not None:
            self.body = body.replace("\r\n", "\n").strip() + "\n"


def language_of(text: str) -> Language:
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(ch.isascii() for ch in letters) / len(letters) > 0.7:
        return Language.EN
    return Language.ZH_HANT if to_simplified(text) != text else Language.ZH_HANS


def first_sentence(text: str, limit: int = 60) -> str:
    head = re.split(r"[。！？!?\n]|(?<=[a-z])\.\s", text.strip(), maxsplit=1)[0].strip(" ，,;；")
    return head[:limit]


def redactor_for(kb, c: Complaint | None, staff_names: list[str]) -> Redactor:
    """Everything on the record goes: the complainant's name, contact, department and position, and staff names.

    c None: text with no complaint behind it (a "this solved it" query): staff names and the patterns only.
    """
    privacy = kb.process.privacy
    c_name, c_contact, c_dept, c_pos = (c.name, c.contact, c.department, c.position) if c is not None else ("",) * 4
    return Redactor(names=[c_name or "", *staff_names], contacts=[c_contact or ""], departments=[c_dept or ""],
                    positions=[c_pos or ""], employee_patterns=privacy.employee_patterns,
                    room_patterns=privacy.room_patterns, public=privacy.public_contacts)


def draft_from(kb, c: Complaint, staff_names: list[str]) -> Draft:
    """The first draft of an article from a resolved complaint, already redacted."""
    red = redactor_for(kb, c, staff_names)
    description, f1 = red.redact(c.description)
    response, f2 = red.redact(c.response or "")
    lang = language_of(description)
    problem, cause, todo = SECTIONS[lang]
    found = {k: f1.get(k, 0) + f2.get(k, 0) for k in {*f1, *f2}}
    title = first_sentence(description) or c.category
    body = f"## {problem}\n\n{description}\n\n## {cause}\n\n{CAUSE_TODO[lang]}\n\n## {todo}\n\n{response}\n"
    return Draft(id=c.number.lower(), title=title, category=c.category, language=lang.value,
                 tags=[kb.category(c.category).zh if lang != "en" else kb.category(c.category).en],
                 questions=[first_sentence(description, 120)], body=body,
                 resolved=resolved_day(kb, c), found=found)


def resolved_day(kb, c: Complaint) -> dt.date:
    """The `resolved:` date where the organisation is: resolved at 01:30 in Shanghai is that day, not the
    day before in UTC."""
    return (c.resolved_at or c.updated_at).astimezone(ZoneInfo(kb.timezone)).date()


def placeholders_left(draft: Draft) -> dict[str, int]:
    """The redaction placeholders ([姓名], [电话]...) still in the text, with how often each appears.

    The site shows them as written: a sentence about "[姓名]" reads badly, and says someone was named.
    Staff are warned before they approve, to rewrite such sentences ("the employee", "the caller").
    """
    text = "\n".join([draft.title, *draft.questions, *draft.tags, draft.body])
    found = {p: text.count(p) for p in sorted(set(PLACEHOLDERS.values()))}
    return {p: n for p, n in found.items() if n}


def case_path(kb, case_id: str) -> Path:
    return kb.content_dir / "cases" / f"{case_id}.md"


def pending_path(kb, case_id: str) -> Path:
    """Where an edit of a live article waits for its approval: a folder the builder does not read
    (it reads content/cases/*.md), so the live page stays as it is until the edit is approved."""
    return kb.content_dir / "cases" / "pending" / f"{case_id}.md"


def is_live(kb, case_id: str) -> bool:
    path = case_path(kb, case_id)
    return path.is_file() and "published: true" in path.read_text(encoding="utf-8")


def write_case(kb, draft: Draft, red: Redactor, published: bool, path: Path | None = None) -> Path:
    """Write the case file (redacting the editor's text again) and check it as the builder will.

    path: where (default the case file; `pending_path` for an edit of a live article awaiting approval).
    """
    clean = lambda s: red.redact(s)[0]  # noqa: E731
    front = {"id": draft.id, "title": clean(draft.title), "category": draft.category,
             "tags": [clean(t) for t in draft.tags if t.strip()], "language": draft.language,
             "questions": [clean(q) for q in draft.questions if q.strip()],
             "resolved": draft.resolved.isoformat(), "published": published, "origin": draft.origin}
    text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000) + "---\n\n" + clean(draft.body)
    path = path or case_path(kb, draft.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        read_source(tmp, "case", kb.category_ids)  # the same validation as kb build
    except ContentError:
        tmp.unlink()
        raise
    tmp.replace(path)
    return path


def read_draft(kb, case_id: str) -> Draft | None:
    """The article as its editors last saved it: a pending edit of a live article first, else the case file."""
    path = pending_path(kb, case_id)
    if not path.is_file():
        path = case_path(kb, case_id)
    if not path.is_file():
        return None
    src = read_source(path, "case", kb.category_ids)
    m = src.meta
    assert isinstance(m, CaseMeta)  # read as a case
    return Draft(id=m.id, title=m.title, category=m.category, language=m.language, tags=list(m.tags),
                 questions=list(m.questions), body=src.body, resolved=m.resolved, origin=m.origin)
