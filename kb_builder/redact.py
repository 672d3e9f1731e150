"""Remove personal data from text before it leaves the database for a published page.

One `Redactor` serves every layer: `kb publish` and the article editor
(intake_api/publish.py), the search texts kept for analytics
(intake_api/events.py) and the scan of every case file in `kb build`
(kb_builder/privacy_scan.py), so what is caught is the same everywhere.

It finds, in this order of trust: everything on the complaint record
(names in both scripts, spaced and in pinyin; the contact; department and
position), identifiers by pattern and check digit (redact_numbers.py) and
person names by recognition (redact_names.py). What must stay (order and
invoice numbers, dates, times, amounts, percentages, article ids, hotlines)
is found too and blocks anything weaker that overlaps it. Matching runs on
the NFKC form of the text (full-width digits and ＠ become ASCII) and every
span is mapped back to the original, so the rest of the text is returned
exactly as it was. No span starts or ends inside a Latin word or number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from . import redact_names as names_mod
from .redact_numbers import SEP, Hit, find_identifiers

PLACEHOLDERS = {
    "name": "[姓名]", "phone": "[电话]", "email": "[邮箱]", "resident_id": "[身份证号]", "id_card": "[证件号]",
    "passport": "[护照号]", "bank_card": "[银行卡号]", "employee_no": "[工号]", "im_id": "[社交账号]",
    "plate": "[车牌号]", "address": "[地址]", "ip": "[IP地址]", "room": "[房间号]", "contact": "[联系方式]",
    "department": "[部门]", "position": "[职位]",
}
KEEP_KINDS = {"reference", "link", "date", "time", "amount", "percent", "hotline"}
# Record values too generic to remove everywhere they appear.
GENERIC = {"员工", "職員", "职员", "员工本人", "staff", "employee", "无", "無", "其他", "none", "n/a", "-"}


@dataclass(frozen=True)
class Finding:
    """One span of the original text that redaction removes."""

    start: int
    end: int
    kind: str
    text: str


@lru_cache(maxsize=1)
def _converters():
    import opencc
    return opencc.OpenCC("t2s"), opencc.OpenCC("s2t")


def _scripts(value: str) -> set[str]:
    t2s, s2t = _converters()
    return {value, t2s.convert(value), s2t.convert(value)}


def nfkc_with_map(text: str) -> tuple[str, list[int]]:
    """The NFKC form of text, and for each of its characters the index of the original one."""
    out, where = [], []
    for i, ch in enumerate(text):
        n = unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch
        out.append(n)
        where.extend([i] * len(n))
    where.append(len(text))
    return "".join(out), where


def _cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def _latin_bounded(value: str) -> str:
    return r"(?<![A-Za-z0-9])" + value + r"(?![A-Za-z0-9])"


def _pinyin_forms(name: str) -> list[str]:
    """Zhang Wei / Wei Zhang / Zhangwei for 张伟 (surname first or last, given name joined or split)."""
    from pypinyin import lazy_pinyin
    syll = [s for s in lazy_pinyin(_converters()[0].convert(name)) if s.isalpha()]
    if len(syll) < 2:
        return []
    cut = 2 if name[:2] in names_mod.COMPOUND_SURNAMES and len(syll) > 2 else 1
    sur = "".join(syll[:cut])
    given = r"[\s\-]?".join(syll[cut:])
    return [rf"{sur}\s+{given}", rf"{given}\s+{sur}", rf"{sur}{given}" if len(syll) > 2 else rf"{sur}[\-]{given}"]


@dataclass
class Redactor:
    """Configured once per complaint (or once for anonymous texts); `redact(text)` returns the text and counts."""

    names: list[str] = field(default_factory=list)        # complainant and staff: display names, usernames
    employee_patterns: list[str] = field(default_factory=list)  # extra regexes, e.g. r"\bE\d{6}\b"
    room_patterns: list[str] = field(default_factory=list)       # e.g. r"\d{3,4}(?:室|房)", r"Room\s*\d+"
    contacts: list[str] = field(default_factory=list)     # the record's contact (phone, e-mail, WeChat id ...)
    departments: list[str] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    public: list[str] = field(default_factory=list)       # the organisation's own desk numbers and mailboxes: kept

    @classmethod
    def for_settings(cls, privacy) -> Redactor:
        """For texts with no record behind them (search texts): the configured patterns and public contacts."""
        return cls(employee_patterns=privacy.employee_patterns, room_patterns=privacy.room_patterns,
                   public=privacy.public_contacts)

    def __post_init__(self) -> None:
        self._record: list[tuple[re.Pattern, str, bool, int]] = []  # (pattern on NFKC text, kind, CJK-word check, priority)
        for raw in {unicodedata.normalize("NFKC", n).strip() for n in self.names if n and n.strip()}:
            self._add_name(raw)
        for raw in self.contacts:
            self._add_contact(unicodedata.normalize("NFKC", raw or "").strip())
        for kind, values in (("department", self.departments), ("position", self.positions)):
            for raw in values:
                value = unicodedata.normalize("NFKC", raw or "").strip()
                if len(value) < 2 or value.lower() in GENERIC:
                    continue
                for form in _scripts(value):
                    self._add_literal(form, kind, 90)
        self._extra = [(re.compile(p), "employee_no", 87) for p in self.employee_patterns] + \
                      [(re.compile(p, re.I), "room", 50) for p in self.room_patterns]
        self._public = {v.strip().lower() for v in self.public if v.strip()} | \
                       {re.sub(r"\D", "", v) for v in self.public if re.sub(r"\D", "", v)}

    def _add_literal(self, value: str, kind: str, priority: int) -> None:
        if all(_cjk(ch) or ch.isspace() for ch in value):
            body = r"\s*".join(re.escape(ch) for ch in value if not ch.isspace())
            self._record.append((re.compile(body), kind, True, priority))
        else:
            body = r"\s+".join(re.escape(part) for part in value.split())
            self._record.append((re.compile(_latin_bounded(body), re.I), kind, False, priority))

    def _add_name(self, name: str) -> None:
        if all(_cjk(ch) or ch.isspace() for ch in name):
            if len(name.replace(" ", "")) < 2:
                return
            for form in _scripts(name):
                self._add_literal(form, "name", 95)
            for form in _pinyin_forms(name.replace(" ", "")):
                self._record.append((re.compile(_latin_bounded(form), re.I), "name", False, 94))
        elif len(name) >= 2:
            parts = name.split()
            self._add_literal(name, "name", 95)
            if len(parts) == 2:
                self._add_literal(f"{parts[1]} {parts[0]}", "name", 95)

    def _add_contact(self, contact: str) -> None:
        whole = re.sub(r"\D", "", contact)
        parts = re.split(r"[\s,;，；:：/]+", contact)
        if len(whole) >= 7 and not re.search(r"[A-Za-z@]", contact):
            parts = [whole]  # one phone number written in groups: +86 139 8765 4321
        for part in parts:
            digits = re.sub(r"\D", "", part)
            if len(digits) >= 7 and len(digits) >= len(part) - 4:  # a phone number, however it is written
                for code in ("852", "853", "886", "86"):  # the number is written with or without its country code
                    if digits.startswith(code) and len(digits) - len(code) >= 8:
                        digits = digits[len(code):]
                        break
                body = (SEP + "{0,2}").join(digits)
                self._record.append((re.compile(r"(?<!\d)(?:\(?\+?(?:86|852|853|886)\)?" + SEP + r"{0,2})?" + body + r"(?!\d)"),
                                     "contact", False, 100))
            elif len(part) >= 4 and re.search(r"[A-Za-z0-9]", part):
                self._record.append((re.compile(_latin_bounded(re.escape(part)), re.I), "contact", False, 100))

    def find(self, text: str) -> list[Finding]:
        """The spans of text to remove, in order, none overlapping."""
        if not text:
            return []
        norm, where = nfkc_with_map(text)
        remove, keep = find_identifiers(norm, self._public)
        for pattern, kind, priority in self._extra:
            remove += [Hit(m.start(), m.end(), kind, priority) for m in pattern.finditer(norm)]
        simple = _converters()[0].convert(norm)
        if len(simple) != len(norm):  # a phrase conversion changed the length: tag the original
            simple = norm
        tokens = names_mod.tag(simple) if any(_cjk(ch) for ch in simple) else []
        if tokens:
            remove += names_mod.chinese_names(simple, tokens)
        remove += names_mod.english_names(norm)
        for pattern, kind, cjk_check, priority in self._record:
            for m in pattern.finditer(norm):
                if cjk_check and tokens and names_mod.cuts_word(tokens, m.start(), m.end()):
                    continue
                remove.append(Hit(m.start(), m.end(), kind, priority))
        remove = [h for h in remove if h.end > h.start and not _cuts_latin(norm, h.start, h.end)]
        chosen: list[Hit] = []
        for hit in sorted(remove + keep, key=lambda h: (-h.priority, -(h.end - h.start), h.start)):
            if all(hit.end <= c.start or hit.start >= c.end for c in chosen):
                chosen.append(hit)
        out = []
        for h in sorted(chosen, key=lambda h: h.start):
            if h.kind in KEEP_KINDS:
                continue
            a, b = where[h.start], where[h.end - 1] + 1
            if text[a:b].strip():
                out.append(Finding(a, b, h.kind, text[a:b]))
        return out

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        found: dict[str, int] = {}
        parts, last = [], 0
        for f in self.find(text):
            parts += [text[last:f.start], PLACEHOLDERS[f.kind]]
            found[f.kind] = found.get(f.kind, 0) + 1
            last = f.end
        parts.append(text[last:])
        return "".join(parts), found


def _cuts_latin(norm: str, start: int, end: int) -> bool:
    """True when the span would start or end inside a Latin word or a number (admin | istration)."""
    def same(a: str, b: str) -> bool:
        return (a.isascii() and b.isascii() and a.isalpha() and b.isalpha()) or (a.isdigit() and b.isdigit())
    return (start > 0 and same(norm[start - 1], norm[start])) or (end < len(norm) and same(norm[end - 1], norm[end]))
