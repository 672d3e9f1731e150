"""Turn validated sources into the published articles: the one record pages and index share."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ContentError, Problem
from .sources import CaseMeta, SopMeta, Source

SNIPPET_CHARS = 120
_MARKUP = re.compile(r"[*_`>#|\[\]]|!\[|\]\([^)]*\)|^\s*[-+]\s+|^\s*\d+\.\s+", re.M)


@dataclass(frozen=True)
class Article:
    """A published page that the site shows and the index finds."""

    id: str
    kind: str  # "case" or "sop"
    title: str
    category: str
    tags: tuple[str, ...]
    language: str
    questions: tuple[str, ...]
    body: str
    resolved: dt.date | None
    source: Path
    origin: str = "hr"  # "complaint": drafted from a complaint, its text published as text
    updated: dt.date | None = None  # front matter `updated`, else the resolved date (the page's "last updated")

    @property
    def page(self) -> str:
        """Path of the generated Markdown page, relative to the docs folder."""
        if self.kind == "case":
            return f"faq/{self.category}/{self.id}.md"
        return f"sop/{self.id.removeprefix('sop-')}.md"

    @property
    def url(self) -> str:
        """Path of the page on the site, relative to its root (directory URLs)."""
        return self.page.removesuffix(".md") + "/"

    @property
    def snippet(self) -> str:
        return snippet(self.body)


def snippet(markdown: str, limit: int = SNIPPET_CHARS) -> str:
    """First paragraph of plain text under the first heading, shortened."""
    for block in re.split(r"\n\s*\n", markdown):
        block = block.strip()
        if not block or block.startswith(("#", "---", "|", "!!!")):
            continue
        text = " ".join(_MARKUP.sub("", block).split())
        if text:
            return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return ""


def from_source(src: Source) -> Article:
    meta = src.meta
    case = meta if isinstance(meta, CaseMeta) else None
    return Article(
        id=case.id if case else f"sop-{src.path.stem}",
        kind=src.kind,
        title=meta.title,
        category=meta.category,
        tags=tuple(meta.tags),
        language=meta.language,
        questions=tuple(meta.questions) if isinstance(meta, (CaseMeta, SopMeta)) else (),
        body=src.body,
        resolved=case.resolved if case else None,
        source=src.path,
        origin=getattr(meta, "origin", "hr"),
        updated=(case.updated or case.resolved) if case else None,
    )


def published_articles(sources: list[Source]) -> list[Article]:
    """The published articles, in a stable order; unpublished drafts go nowhere."""
    articles = [from_source(s) for s in sources if s.meta.published]
    seen: dict[str, Article] = {}
    problems = []
    for art in articles:
        if art.id in seen:
            problems.append(Problem(art.source, f"its article id '{art.id}' clashes with {seen[art.id].source.name}",
                                    fix="rename the case id or the SOP file"))
        seen[art.id] = art
    if problems:
        raise ContentError(problems)
    return sorted(articles, key=lambda a: (a.kind, a.category, a.id))
