"""Staff search over complaints: by number, text, category, department complained about, dates and status.

The text of a complaint and a query are folded the same way (kb_builder's
`normalize`: NFKC, Traditional to Simplified, lower case), so 飲水機 finds
饮水机 and ＴＳ-2026 finds ts-2026. Each complaint keeps its folded number,
description, request and location in `complaints.search_text` (models.py
refreshes it on every insert and update; a purged complaint keeps only its
number). A whole complaint number is looked up by its index; any other
query becomes terms (ASCII words and numbers whole, Chinese segmented by
jieba, stop words dropped) that must all occur in it: one `LIKE '%term%'`
each, escaped, in SQLite and PostgreSQL alike. Why not full
text search: CHANGELOG.md, issue 20; the figures: benchmarks/search.py.

Permission is the caller's: `search` only ever starts from `visible`
(Desk.visible), so nobody finds a complaint they may not open.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb_builder.analysis import STOP_WORDS, normalize

from .models import Complaint
from .queue import MAX_PAGE_SIZE, QueuePage
from .workflow import OPEN_STATUSES

MAX_QUERY = 200  # characters: a search box, not a document
MAX_TERMS = 12   # each term is one LIKE; beyond a dozen words a query says nothing more
SEARCH_PAGE_SIZE = 50

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NUMBER = re.compile(r"ts-\d{4}-\d{6,}")
_WORD = re.compile(r"\w")


def fold(text: str | None) -> str:
    """A text as search compares it: full-width folded, Simplified, lower case."""
    return normalize(text or "")


def search_text(number: str | None, description: str | None, request: str | None, location: str | None,
                purged: bool = False) -> str:
    """What `complaints.search_text` holds: the folded text, or only the number once purged."""
    parts = (number,) if purged else (number, description, request, location)
    return fold("\n".join(p for p in parts if p))


def as_number(q: str) -> str | None:
    """The complaint number a query is, if it is exactly one (any case, full-width too): looked up by its index."""
    folded = fold(q).strip()
    return folded.upper() if _NUMBER.fullmatch(folded) else None


def query_terms(q: str) -> list[str]:
    """The folded terms a complaint must all contain.

    ASCII chunks (numbers like TS-2026-000123, English words) stay whole;
    Chinese is segmented by jieba (precise mode), so 饮水机坏了 asks for 饮水机
    and 坏 wherever they occur. Stop words and punctuation go; a query of
    nothing else (``%``, ``_``, ``的``) is looked for literally.
    """
    import jieba

    folded = fold(q).strip()
    terms: list[str] = []
    for chunk in folded.split():
        pieces = jieba.lcut(chunk) if _NON_ASCII.search(chunk) else [chunk.strip(string.punctuation)]
        for piece in pieces:
            piece = piece.strip()
            if piece and _WORD.search(piece) and piece not in STOP_WORDS and piece not in terms:
                terms.append(piece)
    if not terms and folded:
        terms = [folded]
    return terms[:MAX_TERMS]


def search(session: Session, visible: Callable, terms: list[str], *, number: str | None = None,
           category: str | None = None,
           about: str | None = None, status: str | None = None, since: dt.datetime | None = None,
           before: dt.datetime | None = None, page: int = 1, per_page: int = SEARCH_PAGE_SIZE) -> QueuePage:
    """The complaints `visible` lets through that contain every term and match the filters, newest first.

    `number` is a whole complaint number (`as_number`); `status` is a status or 'open'; `since` and
    `before` bound the time received (UTC, `before` excluded). Closed (archived) complaints are included
    unless a status says otherwise.
    """
    query = visible(select(Complaint))
    if number is not None:
        query = query.where(Complaint.number == number)
    for term in terms:
        query = query.where(Complaint.search_text.contains(term, autoescape=True))
    if category:
        query = query.where(Complaint.category == category)
    if about:
        query = query.where(Complaint.about_department == about)
    if status == "open":
        query = query.where(Complaint.status.in_(OPEN_STATUSES))
    elif status:
        query = query.where(Complaint.status == status)
    if since is not None:
        query = query.where(Complaint.received_at >= since)
    if before is not None:
        query = query.where(Complaint.received_at < before)
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    items = list(session.scalars(query.order_by(Complaint.received_at.desc(), Complaint.id.desc())
                                 .offset((page - 1) * per_page).limit(per_page)))
    return QueuePage(items=items, total=total, page=page, per_page=per_page)
