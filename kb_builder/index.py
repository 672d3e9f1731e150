"""The Whoosh index of published articles: its schema and how it is written.

The index is written into a fresh folder every build and swapped in whole
(Whoosh never drops deleted segments, and readers must never see a
half-written index).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema

from .analysis import analyzer
from .articles import Article
from .memo import Memo
from .synonyms import Synonyms

# Searchable text fields, in the order queries weight them (see search.py).
TEXT_FIELDS = ("title", "questions", "tags", "body")
MANIFEST = "kb-index.json"


def schema() -> Schema:
    ana = analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),
        category=ID(stored=True),
        language=ID(stored=True),
        title=TEXT(analyzer=ana, stored=True),
        questions=TEXT(analyzer=ana),
        tags=TEXT(analyzer=ana),
        body=TEXT(analyzer=ana),
        url=STORED,
        snippet=STORED,
    )


def document(art: Article, synonyms: Synonyms | None = None) -> dict:
    """The fields one article is indexed with; tags also get the canonical words of its synonym groups."""
    tags = " ".join(art.tags)
    extra = synonyms.canonical("\n".join([tags, art.title, *art.questions, art.body])) if synonyms else ""
    if extra:
        tags = f"{tags} {extra}".strip()
    return dict(id=art.id, kind=art.kind, category=art.category, language=art.language,
                title=art.title, questions="\n".join(art.questions), tags=tags,
                body=art.body, url=art.url, snippet=art.snippet)


def fingerprints(articles: list[Article], synonyms: Synonyms | None = None, memo: Memo | None = None) -> dict[str, str]:
    """A hash of each article's indexed fields: what an incremental update compares.

    With a memo (whose salt covers the synonyms), only changed files are hashed again.
    """
    out = {}
    for art in articles:
        kept = memo.of(art.source) if memo is not None else {}
        if "fingerprint" not in kept:
            kept["fingerprint"] = hashlib.sha256(json.dumps(document(art, synonyms), ensure_ascii=False,
                                                            sort_keys=True).encode()).hexdigest()
        out[art.id] = kept["fingerprint"]
    return out


def _manifest(folder: Path, articles: list[Article], synonyms: Synonyms | None = None,
              prints: dict[str, str] | None = None, memo: Memo | None = None) -> None:
    manifest = {"articles": len(articles), "ids": sorted(a.id for a in articles),
                "fingerprints": prints if prints is not None else fingerprints(articles, synonyms, memo)}
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


def write_index(articles: list[Article], folder: Path, synonyms: Synonyms | None = None,
                memo: Memo | None = None) -> None:
    """Write a new index of articles into an empty folder."""
    folder.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(folder), schema())
    writer = ix.writer(limitmb=256)
    for art in articles:
        writer.add_document(**document(art, synonyms))
    writer.commit()
    _manifest(folder, articles, synonyms, memo=memo)


def update_index(articles: list[Article], live: Path, folder: Path, synonyms: Synonyms | None = None,
                 memo: Memo | None = None) -> int | None:
    """Copy the live index into folder and apply only what changed; None when it cannot (then write anew).

    Returns how many documents were added, replaced or deleted.
    """
    try:
        old = json.loads((live / MANIFEST).read_text(encoding="utf-8"))["fingerprints"]
    except (OSError, ValueError, KeyError):
        return None
    new = fingerprints(articles, synonyms, memo)
    changed = [a for a in articles if old.get(a.id) != new[a.id]]
    removed = [i for i in old if i not in new]
    # Hard links: the build writes through staging.copy_on_write, so the live index is never changed.
    shutil.copytree(live, folder, copy_function=os.link, dirs_exist_ok=True)
    if changed or removed:
        ix = whoosh_index.open_dir(str(folder))
        writer = ix.writer(limitmb=256)
        for doc_id in removed:
            writer.delete_by_term("id", doc_id)
        for art in changed:
            writer.update_document(**document(art, synonyms))
        writer.commit()
    _manifest(folder, articles, synonyms, new)  # computed once: a second pass costs seconds at 10,000 articles
    return len(changed) + len(removed)


def open_index(folder: Path):
    return whoosh_index.open_dir(str(folder))
