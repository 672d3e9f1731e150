"""Read HR's content files (cases and SOPs) into validated records.

Every file is read and checked before anything is written, so one bad file
stops the build with all problems listed and nothing half-rewritten.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from . import yamlsrc
from .config import LANGUAGES, SLUG, KbConfig
from .errors import ContentError, Problem
from .memo import Memo
from .tree_check import check_trees

# The kinds of content file and the folder of content/ each lives in.
FOLDERS: dict[Literal["case", "sop"], str] = {"case": "cases", "sop": "sops"}
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.S | re.M)

FIXES = {
    "category": "use one of the category ids listed in kb.yml",
    "language": f"use one of: {', '.join(LANGUAGES)}",
    "id": "use lowercase letters, digits and hyphens, e.g. water-dispenser-not-working",
    "questions": "list the ways employees phrase the problem, one per line starting with '- '",
    "resolved": "write the date as YYYY-MM-DD",
    "updated": "write the date as YYYY-MM-DD (when the answer was last revised), or leave it out",
    "published": "write true or false",
    "tags": "write a list such as [饮水机, 报修]",
    "title": "add a one-line title",
    "origin": "leave it out (HR-written) or write 'complaint' (drafted from a complaint by kb publish)",
}


class _FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=200)
    category: str
    tags: list[str] = []
    language: Literal["zh-Hans", "zh-Hant", "en"]

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("categories", [])
        if value not in known:
            raise ValueError(f"unknown category '{value}'")
        return value

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, value: list[str]) -> list[str]:
        return [t.strip() for t in value if t.strip()]


class CaseMeta(_FrontMatter):
    id: str = Field(pattern=SLUG, max_length=80)
    questions: list[str] = Field(min_length=1)
    resolved: dt.date
    # When HR last revised the answer (the page's "last updated"; without it, the resolved date).
    updated: dt.date | None = None
    published: bool
    # Written by `kb publish` / the workspace editor: the body is a complaint's
    # text, published as text (pages.py), never as Markdown-with-HTML.
    origin: Literal["hr", "complaint"] = "hr"

    @field_validator("questions")
    @classmethod
    def _nonblank(cls, value: list[str]) -> list[str]:
        value = [q.strip() for q in value if isinstance(q, str) and q.strip()]
        if not value:
            raise ValueError("needs at least one phrasing")
        return value


class SopMeta(_FrontMatter):
    published: bool = True
    # Optional: how employees ask for this procedure. Learning from use adds lines here as it does to a case's
    # (intake_api/phrasings.py), and the index searches them as it searches a case's.
    questions: list[str] = []

    @field_validator("questions")
    @classmethod
    def _nonblank(cls, value: list[str]) -> list[str]:
        return [q.strip() for q in value if isinstance(q, str) and q.strip()]


@dataclass(frozen=True)
class Source:
    """One content file, validated: its metadata and Markdown body."""

    path: Path
    kind: Literal["case", "sop"]
    meta: CaseMeta | SopMeta
    body: str
    lines: dict | None = None  # line of each front-matter key, for later errors

    @property
    def slug(self) -> str:
        return self.meta.id if isinstance(self.meta, CaseMeta) else self.path.stem


def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """Return (front matter, body, line of the body's first line)."""
    match = FRONT_MATTER.match(text)
    if not match:
        raise yamlsrc.YamlSyntaxError(Problem(
            path, "no front matter found", line=1,
            fix="start the file with a line '---', the fields, and another line '---'"))
    body_line = text[: match.end()].count("\n") + 1
    return match.group(1), text[match.end():], body_line


def read_source(path: Path, kind: Literal["case", "sop"], categories: list[str], data: bytes | None = None) -> Source:
    """Parse and validate one file (data: its bytes, when already read); raise ContentError naming what is wrong."""
    try:
        text = (path.read_bytes() if data is None else data).decode("utf-8")
    except UnicodeDecodeError:
        raise ContentError([Problem(path, "is not UTF-8 text", fix="save the file as UTF-8")]) from None
    try:
        header, body, body_line = split_front_matter(text, path)
        data, lines = yamlsrc.load(header, path, line_offset=1)
    except yamlsrc.YamlSyntaxError as exc:
        raise ContentError([exc.problem]) from None
    if not isinstance(data, dict):
        raise ContentError([Problem(path, "front matter must be a set of 'field: value' lines", line=2)])
    model = CaseMeta if kind == "case" else SopMeta
    problems: list[Problem] = []
    meta: CaseMeta | SopMeta | None = None
    try:
        meta = model.model_validate(data, context={"categories": categories})
    except ValidationError as exc:
        problems.extend(yamlsrc.validation_problems(exc, path, lines, FIXES))
    if not body.strip():
        problems.append(Problem(path, "the body is empty", line=body_line,
                                fix="write the problem, its cause and what to do below the front matter"))
    if problems or meta is None:
        raise ContentError(problems)
    return Source(path=path, kind=kind, meta=meta, body=body.strip() + "\n", lines=lines)


def read_sources(config: KbConfig, warnings: list[str] | None = None, memo: Memo | None = None,
                 contents: dict[Path, bytes] | None = None) -> list[Source]:
    """Read every case and SOP; collect all problems, then raise them together.

    The trees are checked first (tree_check.py): links out of them and
    oversized files are problems and are never read; poor file names are
    appended to warnings. With a memo, a file whose bytes an earlier build
    validated is not parsed again (a file with problems is never kept), and
    each file's bytes are left in `contents` for the privacy scan (one read).
    """
    root = config.content_dir
    if not root.is_dir():
        raise ContentError([Problem(root, "content folder not found", fix="create it with cases/ and sops/ inside, or set paths.content in kb.yml")])
    tree = check_trees(config)
    problems: list[Problem] = list(tree.problems)
    sources: list[Source] = []
    if warnings is not None:
        warnings.extend(tree.warnings)
    for kind, folder in FOLDERS.items():
        for path in sorted((root / folder).glob("*.md")):
            if path in tree.refused:
                continue
            try:
                if memo is None:
                    sources.append(read_source(path, kind, config.category_ids))
                    continue
                data = path.read_bytes()
                if contents is not None:
                    contents[path] = data
                kept = memo.entry(path, data)
                if "source" not in kept:
                    kept["source"] = read_source(path, kind, config.category_ids, data)
                sources.append(kept["source"])
            except ContentError as exc:
                problems.extend(exc.problems)
    problems.extend(_duplicate_ids(sources))
    if problems:
        raise ContentError(problems)
    return sources


def _duplicate_ids(sources: list[Source]) -> list[Problem]:
    first: dict[str, Source] = {}
    problems = []
    for src in sources:
        key = f"{src.kind}:{src.slug}"
        if key in first:
            problems.append(Problem(
                src.path, f"id '{src.slug}' is already used by {first[key].path.name}",
                line=(src.lines or {}).get(("id",)), field="id" if src.kind == "case" else None,
                fix="give each case its own id (SOP ids come from the file name)"))
        else:
            first[key] = src
    return problems
