"""HR's message templates for notifications, checked when the desk starts and rendered as text and HTML mail.

HR words the messages (content/notifications/<language>/<kind>.txt): a
`Subject:` line, a blank line, then the body, both Jinja templates. What a
template may say is fixed by KINDS: each kind lists the variables the rest of
the system fills in, and nothing else reaches the template. That is how staff
messages are kept free of what complainants wrote and who they are: the
variables for them do not exist, so no template edit can add them.

Every file is checked at start (load), and every problem is reported at once
with its file and line, so that a typo surfaces before the first message is
due, not as a dead letter at three in the morning. The templates run in
Jinja's sandbox: whoever can edit content/ must not be able to run code.

A block tag ({% if %}, {% for %}) is best on a line of its own: it then
leaves no blank line behind (trim_blocks), but it also swallows the line
break after it, so inside a line write {{ "(overdue)" if item.overdue else "" }}.
"""

from __future__ import annotations

import difflib
import hashlib
import html
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from kb_builder.analysis import to_traditional
from kb_builder.errors import ConfigError, Problem

from .channels import Outgoing
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, gettext, language_of, speaking
from .queue import DEADLINE_LABELS

SUFFIX = ".txt"
MAX_SUBJECT = 200
MAX_FILE_BYTES = 64 * 1024  # a message is a few hundred bytes; anything near this is a mistake


@dataclass(frozen=True)
class Kind:
    """One kind of message: who reads it and the variables its templates may use."""

    name: str
    audience: Literal["staff", "complainant"]
    variables: tuple[str, ...]
    help: str


# Staff are told where to look, never what was written or by whom: no complaint text, no identity.
STAFF = ("number", "category", "level", "level_name", "team", "status", "link", "recipient")
# The complainant's own complaint and its status page (whose address holds no secret: the code does).
COMPLAINANT = ("number", "link")


def _kinds(*kinds: Kind) -> dict[str, Kind]:
    return {k.name: k for k in kinds}


KINDS: dict[str, Kind] = _kinds(
    Kind("new_complaint", "staff", STAFF + ("received_at", "assessment_due", "first_response_due"),
         "A complaint arrived for the team."),
    Kind("assigned", "staff", STAFF + ("assigned_by", "first_response_due"),
         "A complaint was assigned to the recipient."),
    Kind("urgent", "staff", STAFF + ("kind_name", "first_response_due", "emergency_contact"),
         "A danger, hygiene or safety complaint, sent at once."),
    Kind("emergency_alert", "staff", STAFF + ("alert_message", "count", "numbers"),
         "Several similar complaints in a short time: the emergency rule of the safety SOP."),
    Kind("complainant_replied", "staff", STAFF,
         "The complainant answered or added something (what they wrote is only in the workspace)."),
    Kind("low_rating", "staff", STAFF + ("rating", "new_status"),
         "The complainant rated the result poorly; the complaint may have been reopened."),
    Kind("due_soon", "staff", STAFF + ("limit_name", "due_at"),
         "A time limit is near (sla.reminders)."),
    Kind("overdue", "staff", STAFF + ("limit_name", "due_at", "hours_overdue"),
         "A time limit has passed (sla.reminders)."),
    Kind("escalation", "staff", STAFF + ("limit_name", "due_at", "handler"),
         "A limit passed a day ago: to the team lead and admins (sla.reminders)."),
    Kind("task", "staff", STAFF + ("due_at",),
         "An investigation handed the team a task (link: the team's task list; the task's text is only there)."),
    Kind("review_needed", "staff", STAFF + ("due_at",),
         "An escalated complaint awaits a supervisor review (to the team lead, supervisors and admins)."),
    Kind("digest", "staff", ("recipient", "link", "count", "items"),
         "Daily, per person: open work. items: number, category, level, next_due, overdue (true/false)."),
    Kind("review", "staff", ("period", "report", "link"),
         "The quarterly review, to management (notifications.review)."),
    Kind("receipt", "complainant", COMPLAINANT + ("code", "level_name", "assessment_due", "first_response_due",
                                                  "result_days", "emergency_contact"),
         "The complaint was received. emergency_contact may be empty: write {% if emergency_contact %}."),
    Kind("question", "complainant", COMPLAINANT + ("question",),
         "A staff member asks the complainant something."),
    Kind("response", "complainant", COMPLAINANT + ("response",),
         "A staff member answered the complainant."),
    Kind("result", "complainant", COMPLAINANT + ("response", "rating_link"),
         "The result, with the link to rate it."),
    Kind("reopened", "complainant", COMPLAINANT + ("note",),
         "The complaint is being handled again."),
    Kind("escalated", "complainant", COMPLAINANT + ("note",),
         "The complaint went to a supervisor or an arbiter."),
)

# Variables that are sometimes empty: load() renders each template once with them empty as well.
MAY_BE_EMPTY = ("emergency_contact",)


def localize(zh: str, en: str, language: str) -> str:
    """A Chinese and English pair in one language (zh-Hant converted from the Simplified text)."""
    if language == "en":
        return en
    if language == "zh-Hans":
        return zh
    return to_traditional(zh)


def limit_names(language: str) -> dict[str, str]:
    """The SLA limits by name, in the words of the staff queue (intake_api/queue.py)."""
    with speaking(language):
        return {key: gettext(message) for key, message in DEADLINE_LABELS.items()}


# Levels 1-3 as messages name them: 一级（紧急）, Level 1 (urgent).
LEVEL_MESSAGES = {1: N_("Level 1 (urgent)"), 2: N_("Level 2 (important)"), 3: N_("Level 3 (general)")}


def level_names(language: str) -> dict[int, str]:
    with speaking(language):
        return {level: gettext(message) for level, message in LEVEL_MESSAGES.items()}


def sample_context(kind: str, language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """Plausible values for every variable of a kind: load() tries each template with them (and tests do)."""
    lang = language_of(language)
    limits, levels = limit_names(lang), level_names(lang)
    values: dict[str, Any] = {
        "number": "TS-2026-000042", "category": localize("食堂餐饮", "Canteen", lang), "level": 2,
        "level_name": levels[2], "team": localize("后勤部", "Facilities team", lang),
        "status": localize("已受理", "Received", lang),
        "link": ("https://kb.example.com/desk/complaints/42" if KINDS[kind].audience == "staff"
                 else "https://kb.example.com/status/"),
        "recipient": localize("王经理", "Alex Lee", lang), "received_at": "2026-12-07 09:30",
        "assessment_due": "2026-12-08 09:30", "first_response_due": "2026-12-08 18:00",
        "assigned_by": localize("李主管", "Sam Chen", lang), "kind_name": localize("人身危险", "danger", lang),
        "emergency_contact": localize("110 / 120，保安值班室分机 8110", "110 / 120, security desk ext. 8110", lang),
        "alert_message": localize("24 小时内 6 起相似投诉", "6 similar complaints within 24 hours", lang),
        "count": 3, "numbers": "TS-2026-000040, TS-2026-000041, TS-2026-000042", "rating": 1,
        "new_status": localize("重新处理", "Reopened", lang), "limit_name": limits["first_response"],
        "due_at": "2026-12-08 18:00", "hours_overdue": 5, "handler": localize("张三", "Jo Park", lang),
        "items": [
            {"number": "TS-2026-000042", "category": localize("食堂餐饮", "Canteen", lang), "level": 2,
             "next_due": "2026-12-08 18:00", "overdue": False},
            {"number": "TS-2026-000017", "category": localize("班车", "Shuttle bus", lang), "level": 3,
             "next_due": "2026-12-06 18:00", "overdue": True},
        ],
        "period": "2026 Q4", "report": localize("本季度共受理 120 起投诉。", "120 complaints this quarter.", lang),
        "code": "K7QD-M2XP-9RTA", "result_days": 7,
        "question": localize("请问是哪一栋楼？", "Which building was it?", lang),
        "response": localize("已安排维修，周五前完成。", "A repair is booked for Friday.", lang),
        "rating_link": "https://kb.example.com/status/#rate",
        "note": localize("主管将复核处理结果。", "A supervisor will review the result.", lang),
    }
    return {name: values[name] for name in KINDS[kind].variables}


def _environment() -> SandboxedEnvironment:
    # Text, not HTML: nothing is escaped here; the HTML part escapes the finished text as a whole.
    # trim_blocks/lstrip_blocks: a {% if %} on its own line leaves no blank line behind.
    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False,
                                trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class _Pair:
    subject: Template
    body: Template


class Notices:
    """Every kind in every language, checked; render() fills one in."""

    def __init__(self, templates: Mapping[tuple[str, str], _Pair]):
        self._templates = dict(templates)

    def render(self, kind: str, language: str, context: Mapping[str, Any], delivery_id: str) -> Outgoing:
        """The message of `kind` in `language` (zh-Hans when there is no such language).

        Only the kind's own variables reach the template, whatever else `context`
        holds; a missing one is the caller's bug and raises ValueError.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown kind of notification '{kind}' (known: {', '.join(KINDS)})")
        names = KINDS[kind].variables
        missing = [n for n in names if n not in context]
        if missing:
            raise ValueError(f"{kind}: no value for {', '.join(missing)}")
        values = {n: context[n] for n in names}
        lang = language_of(language)
        pair = self._templates[(kind, lang)]
        subject = " ".join(pair.subject.render(values).split())
        if len(subject) > MAX_SUBJECT:
            subject = subject[:MAX_SUBJECT - 1] + "…"
        text = _tidy(pair.body.render(values))
        return Outgoing(subject=subject, text=text, html=to_html(text, lang, subject), delivery_id=delivery_id,
                        kind=kind, data=values)


def _tidy(text: str) -> str:
    """Optional blocks leave runs of blank lines and trailing spaces; mail readers show them all."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


# http(s) addresses in ASCII only: a Chinese full stop or bracket right after an address is not part of it.
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+")
_TRAILING = ".,;:!?)]"


def _linked(line: str) -> str:
    """One line of text as HTML: everything escaped, http(s) addresses made links."""
    out, start = [], 0
    for match in _URL.finditer(line):
        url = match.group().rstrip(_TRAILING)
        out += [html.escape(line[start:match.start()]),
                f'<a href="{html.escape(url)}">{html.escape(url)}</a>']
        start = match.start() + len(url)
    out.append(html.escape(line[start:]))
    return "".join(out)


def to_html(text: str, language: str, subject: str = "") -> str:
    """The text as simple HTML mail: a paragraph per blank-line-separated block, a <br> per line, links."""
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    paragraphs = "\n".join("<p>" + "<br>\n".join(_linked(line) for line in b.splitlines()) + "</p>" for b in blocks)
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(language)}">\n<head><meta charset="utf-8">'
            f"<title>{html.escape(subject)}</title></head>\n<body>\n{paragraphs}\n</body>\n</html>\n")


_LOADED: dict[str, Notices] = {}  # by the folder's content: a process that makes several apps compiles once


def load(folder: Path) -> Notices:
    """Read and check every template under `folder`; ConfigError lists every problem found, not just the first.

    Checking compiles and trial-renders all 114 templates (about a quarter of a second); a process
    that makes the web app and the worker, or many apps (the tests), does it once per content.
    """
    key = _content_key(folder)
    if key is not None and key in _LOADED:
        return _LOADED[key]
    loaded = _load(folder)
    if key is not None:
        if len(_LOADED) >= 8:
            _LOADED.clear()
        _LOADED[key] = loaded
    return loaded


def _content_key(folder: Path) -> str | None:
    """A digest of the names and bytes under folder (two levels, as load reads them); None if unreadable."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        for entry in sorted(folder.iterdir()):
            digest.update(b"\0d" + entry.name.encode())
            if entry.is_dir():
                for file in sorted(entry.iterdir()):
                    digest.update(b"\0f" + file.name.encode() + b"\0")
                    if file.is_file():
                        digest.update(hashlib.blake2b(file.read_bytes(), digest_size=16).digest())
    except OSError:
        return None
    return digest.hexdigest()


def _load(folder: Path) -> Notices:
    env = _environment()
    problems: list[Problem] = []
    templates: dict[tuple[str, str], _Pair] = {}
    if not folder.is_dir():
        raise ConfigError([Problem(folder, "the folder of message templates was not found",
                                   fix=f"create it with one folder per language ({', '.join(LANGUAGES)}), "
                                       "or set paths.notifications in kb.yml")])
    for entry in sorted(folder.iterdir()):
        if not entry.name.startswith(".") and entry.name not in LANGUAGES:
            problems.append(Problem(entry, "is not a language folder; nothing in it is ever sent",
                                    fix=f"rename it to one of {', '.join(LANGUAGES)}, or delete it"))
    for lang in LANGUAGES:
        here = folder / lang
        if not here.is_dir():
            problems.append(Problem(here, f"missing: every message needs a version in {lang}",
                                    fix=f"create the folder with one file per kind ({', '.join(KINDS)})"))
            continue
        for entry in sorted(here.iterdir()):
            if not entry.name.startswith(".") and not (entry.suffix == SUFFIX and entry.stem in KINDS):
                problems.append(Problem(entry, f"'{entry.name}' is no kind of message; it is never sent",
                                        fix=f"rename it to <kind>{SUFFIX} with one of: {', '.join(KINDS)}; "
                                            "or delete it"))
        for kind in KINDS.values():
            pair = _load_one(env, here / f"{kind.name}{SUFFIX}", kind, lang, problems)
            if pair is not None:
                templates[(kind.name, lang)] = pair
    if problems:
        raise ConfigError(problems)
    return Notices(templates)


def _load_one(env: SandboxedEnvironment, path: Path, kind: Kind, lang: str, problems: list[Problem]) -> _Pair | None:
    """One file checked: its shape, its Jinja, its variables, and a trial render with sample values."""
    if not path.is_file():
        problems.append(Problem(path, f"missing: the {kind.audience}'s '{kind.name}' message in {lang} ({kind.help.rstrip('.')})",
                                fix="create it: a 'Subject: ...' line, a blank line, then the body"))
        return None
    if path.stat().st_size > MAX_FILE_BYTES:
        problems.append(Problem(path, f"is larger than {MAX_FILE_BYTES // 1024} KB", fix="shorten the message"))
        return None
    try:
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except UnicodeDecodeError:
        problems.append(Problem(path, "is not UTF-8 text", fix="save the file as UTF-8"))
        return None
    first = lines[0]
    if not first.lower().startswith("subject:") or not first[len("subject:"):].strip():
        problems.append(Problem(path, "the first line must be the subject: 'Subject: ...'", line=1,
                                fix="write e.g. 'Subject: {{ number }} ...' on the first line, then a blank line"))
        return None
    if len(lines) > 1 and lines[1].strip():
        problems.append(Problem(path, "the subject line must be followed by a blank line", line=2,
                                fix="insert an empty line between the subject and the body"))
        return None
    if not "".join(lines[2:]).strip():
        problems.append(Problem(path, "the message has no body", line=3, fix="write the message below the blank line"))
        return None
    subject = _compile(env, first[len("subject:"):].strip(), path, 0, kind, problems)
    body = _compile(env, "\n".join(lines[2:]), path, 2, kind, problems)
    if subject is None or body is None:
        return None
    for emptied in (False, True):
        values = sample_context(kind.name, lang)
        if emptied:
            values.update({n: "" for n in MAY_BE_EMPTY if n in values})
        for template, offset in ((subject, 0), (body, 2)):
            try:
                template.render(values)
            except Exception as exc:  # whatever fails here is HR's to fix: report it, do not crash the start
                problems.append(Problem(path, f"fails with sample values: {exc}", line=_failed_line(exc, offset),
                                        fix="check the variable and attribute names and what the expression does"))
                return None
    return _Pair(subject, body)


def _compile(env: SandboxedEnvironment, source: str, path: Path, offset: int, kind: Kind,
             problems: list[Problem]) -> Template | None:
    """Parse and compile one template; `offset`: lines of the file before it (line numbers are the file's)."""
    try:
        ast = env.parse(source)
        undeclared = meta.find_undeclared_variables(ast)  # also compiles: unknown filters are found here
        template = env.from_string(ast)
    except TemplateSyntaxError as exc:
        problems.append(Problem(path, f"template error: {(exc.message or '').rstrip('.')}", line=(exc.lineno or 1) + offset,
                                fix="check the {{ }} and {% %} tags (every {% if %} needs its {% endif %})"))
        return None
    known = set(kind.variables) | set(env.globals)
    unknown = sorted(undeclared - known)
    for name in unknown:
        near = difflib.get_close_matches(name, kind.variables, n=1)
        for line in sorted({n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"}):
            problems.append(Problem(
                path, f"unknown variable '{name}'" + (f" (did you mean '{near[0]}'?)" if near else ""),
                line=line + offset,
                fix=f"the '{kind.name}' message may use: {', '.join(kind.variables)}"))
    return None if unknown else template


def _failed_line(exc: BaseException, offset: int) -> int | None:
    """The template line a render failed on (Jinja puts the template's lines into the traceback)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
    return frames[-1].lineno + offset if frames and frames[-1].lineno else None


__all__ = ["KINDS", "LANGUAGES", "Kind", "Notices", "language_of", "level_names", "limit_names",
           "load", "sample_context", "to_html"]
