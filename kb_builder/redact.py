"""Remove personal data from text before it leaves the database for a published page.

What is removed: the names on the complaint record (complainant, staff),
phone numbers (Chinese mobile and landline, international), e-mail
addresses, Chinese resident ID numbers, employee numbers and, where
configured, room numbers. Each is replaced by a visible placeholder so an
editor sees what was there. Dates, money amounts and times are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 18-digit resident ID: 6-digit area, birth date 19xx/20xx, 3 digits, check digit.
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])")
# Mobile: 11 digits starting 13-19, optionally +86 / 0086, spaces or hyphens in the usual places.
MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
# Landline: area code 0xx(x), 7-8 digit number, optional extension; or the number alone after 电话/Tel.
LANDLINE = re.compile(r"(?<!\d)(?:\(?0\d{2,3}\)?[\s-]?)\d{3,4}[\s-]?\d{4}(?:\s*(?:转|ext\.?|x)\s*\d{1,5})?(?!\d)", re.I)
INTERNATIONAL = re.compile(r"(?<![\w+])\+(?!86)\d{1,3}(?:[\s-]?\(?\d{1,4}\)?){2,5}(?!\d)")
EMPLOYEE_NO = re.compile(r"(?:工号|员工号|员工编号|employee\s*(?:no\.?|number|id|#))\s*[:：#]?\s*[A-Za-z]{0,3}\d{3,10}", re.I)

PLACEHOLDERS = {
    "name": "[姓名]", "phone": "[电话]", "email": "[邮箱]", "resident_id": "[身份证号]",
    "employee_no": "[工号]", "room": "[房间号]",
}


@dataclass
class Redactor:
    """Configured once; `redact(text)` returns the cleaned text and what was found."""

    names: list[str] = field(default_factory=list)
    employee_patterns: list[str] = field(default_factory=list)  # extra regexes, e.g. r"\bE\d{6}\b"
    room_patterns: list[str] = field(default_factory=list)       # e.g. r"\d{3,4}(?:室|房)", r"Room\s*\d+"

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        found: dict[str, int] = {}

        def sub(kind: str, pattern: re.Pattern, value: str) -> str:
            value, n = pattern.subn(PLACEHOLDERS[kind], value)
            if n:
                found[kind] = found.get(kind, 0) + n
            return value

        # Longest identifiers first, so a resident ID is not half-eaten as a phone number.
        text = sub("email", EMAIL, text)
        text = sub("resident_id", RESIDENT_ID, text)
        text = sub("employee_no", EMPLOYEE_NO, text)
        for pattern in self.employee_patterns:
            text = sub("employee_no", re.compile(pattern), text)
        text = sub("phone", INTERNATIONAL, text)
        text = sub("phone", MOBILE, text)
        text = sub("phone", LANDLINE, text)
        for pattern in self.room_patterns:
            text = sub("room", re.compile(pattern, re.I), text)
        for name in sorted({n.strip() for n in self.names if n and len(n.strip()) >= 2}, key=len, reverse=True):
            text = sub("name", re.compile(re.escape(name), re.I), text)
        return text, found
