"""`kb build`: content files -> validated records -> pages + index -> static site.

The stages, in the order `build()` runs them: read and check every content
file (sources.py, privacy_scan.py, articles.py, pages.py), then write the
pages into the staged docs tree, the search index (index.py, vectors.py,
calibration.py) and the site (site.py) into new folders beside the live
ones, and swap them in together (staging.py). A failed build leaves the
previous site, index and generated pages exactly as they were.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from . import articles as articles_mod
from . import ranking
from . import synonyms as synonyms_mod
from .articles import Article
from .calibration import CALIBRATION, calibrate
from .config import KbConfig
from .encoder import get_encoder
from .errors import ContentError, PrivacyError, Problem
from .index import update_index, write_index
from .memo import MEMO, Memo, code_digest
from .pages import GENERATED, navigation, render_pages, unknown_helpful
from .privacy_scan import scan_cases
from .site import SEARCH_INDEX, build_site
from .site_search import has_records
from .sources import Source, read_sources
from .staging import Links, Staging, build_lock, copy_on_write, link_tree
from .vectors import VECTORS, embed, save

STAGE = ".kb-stage"  # beside the index: the staged docs tree and what the last build was made of


@dataclass
class BuildResult:
    cases: int = 0
    sops: int = 0
    unpublished: int = 0
    pages: int = 0
    incremental: bool = False
    pages_written: int = 0
    embedded: int = 0  # article lines given new sentence vectors
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. file names that make poor page addresses
    personal_data: list[Problem] = field(default_factory=list)  # what the redactor would remove (privacy_scan.py)

    def count(self, sources: list[Source], articles: list[Article]) -> None:
        self.cases = sum(a.kind == "case" for a in articles)
        self.sops = sum(a.kind == "sop" for a in articles)
        self.unpublished = len(sources) - len(articles)


@dataclass
class Content:
    """Everything a build writes, read and checked before anything is written."""

    articles: list[Article]
    synonyms: synonyms_mod.Synonyms
    pages: dict[str, str]  # generated Markdown by its path in the docs tree
    nav: list


@dataclass
class StagedDocs:
    """The docs tree MkDocs builds from, kept between builds beside the index."""

    folder: Path
    incremental: bool  # only changed pages rewritten; the live site is the starting point
    written: int  # pages whose text changed
    removed: set[str]  # site URLs of generated pages that are gone
    fingerprint: str

    def save_state(self) -> None:
        """Remember what this build was made of (after the swap: a failed build must not be the next base)."""
        (self.folder.parent / "state.json").write_text(json.dumps({"fingerprint": self.fingerprint}), encoding="utf-8")


def _copy_hand_written_docs(docs_dir: Path, target: Path) -> None:
    ignore = shutil.ignore_patterns(".*")
    shutil.copytree(docs_dir, target, ignore=lambda d, names: (
        set(ignore(d, names)) | ({n for n in names if n in GENERATED} if Path(d) == docs_dir else set())))


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _tree_digest(root: Path, skip_top: tuple[str, ...] = ()) -> str:
    """The files below root, names and bytes, except dot files and what lies in dot folders or skip_top.

    Those folders are never entered: staging and `.trash-` folders of an earlier build may be deleted by
    a background `rm -rf` (staging.discard) while this walks.
    """
    files = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not d.startswith(".") and not (here == root and d in skip_top)]
        files += [(here / n).relative_to(root) for n in names if not n.startswith(".") and (here / n).is_file()]
    parts = []
    for rel in sorted(files):
        parts += [str(rel).encode(), (root / rel).read_bytes()]
    return _digest(*parts)


def _fingerprint(config: KbConfig, nav: list) -> str:
    """What every page depends on: theme, settings, hand-written pages, navigation.

    When it changes, every page must be rebuilt; otherwise only changed pages are.
    """
    return _digest(config.mkdocs_config.read_bytes(), (config.root / "kb.yml").read_bytes()
                   if (config.root / "kb.yml").is_file() else b"",
                   _tree_digest(config.root / "overrides").encode(),
                   _tree_digest(config.docs_dir, skip_top=GENERATED).encode(),
                   (config.content_dir / synonyms_mod.FILE).read_bytes()
                   if (config.content_dir / synonyms_mod.FILE).is_file() else b"",
                   json.dumps(nav, ensure_ascii=False, sort_keys=True).encode())


PAGES = "pages.json"  # beside the staged docs: a digest of each generated page it holds


def _page_url(rel: str) -> str:
    url = rel.removesuffix(".md")
    return url.removesuffix("index") if url.endswith("/index") else url + "/"


def _sync_pages(pages: dict[str, str], docs: Path) -> tuple[int, set[str]]:
    """Write the pages whose text changed (others keep their mtime); delete generated pages gone.

    What the folder holds is compared by the digests PAGES recorded when it
    was last synced (reading 10,000 pages back costs seconds); the record is
    removed while the folder changes, and without it every page is read back.
    Returns (pages written, site URLs of the pages removed).
    """
    record = docs.parent / PAGES
    try:
        held: dict[str, str] | None = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        held = None
    record.unlink(missing_ok=True)
    written, now = 0, {}
    for rel, text in pages.items():
        path = docs / rel
        data = text.encode("utf-8")
        now[rel] = digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        same = held.get(rel) == digest if held is not None else path.is_file() and path.read_bytes() == data
        if not same:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)  # a hard link shared with the live docs/faq: never write through it
            path.write_bytes(data)
            written += 1
    removed: set[str] = set()
    if held is not None:
        gone = [rel for rel in held if rel not in pages]
    else:
        gone = [str(path.relative_to(docs)) for top in GENERATED if (docs / top).is_dir()
                for path in sorted((docs / top).rglob("*.md")) if str(path.relative_to(docs)) not in pages]
    for rel in gone:
        (docs / rel).unlink(missing_ok=True)
        removed.add(_page_url(rel))
    record.write_text(json.dumps(now), encoding="utf-8")
    return written, removed


def open_memo(config: KbConfig, fresh: bool = False) -> Memo:
    """The per-file memo of earlier builds (memo.py); fresh: start empty (a full build trusts nothing kept)."""
    synonyms_file = config.content_dir / synonyms_mod.FILE
    salt = _digest(code_digest().encode(), config.model_dump_json().encode(),
                   synonyms_file.read_bytes() if synonyms_file.is_file() else b"")
    return Memo(config.index_dir.parent / STAGE / MEMO, salt, reuse=not fresh)


def read_content(config: KbConfig, result: BuildResult, strict: bool = False, memo: Memo | None = None) -> Content:
    """Read and check every content file and render the pages in memory (only the privacy scan's cache is written)."""
    contents: dict[Path, bytes] = {}
    sources = read_sources(config, result.warnings, memo, contents)
    result.personal_data = scan_cases(config, cache=config.index_dir.parent / STAGE / "privacy-scan.json",
                                      contents=contents)
    if strict and result.personal_data:
        raise PrivacyError(result.personal_data)  # strict: personal data in a case file stops the build
    synonyms = synonyms_mod.read(config.content_dir)
    articles = articles_mod.published_articles(sources)
    helpful = unknown_helpful(articles, config)
    if helpful is not None and strict:
        raise ContentError([helpful])
    if helpful is not None:
        result.warnings.append(str(helpful))
    content = Content(articles, synonyms, render_pages(articles, config, memo), navigation(articles, config))
    result.count(sources, articles)
    result.pages = len(content.pages)
    return content


def stage_docs(config: KbConfig, content: Content, full: bool = False) -> StagedDocs:
    """Bring the staged docs tree up to date: only changed pages, unless what every page depends on changed."""
    stage = config.index_dir.parent / STAGE
    folder, state_file = stage / "docs", stage / "state.json"
    fingerprint = _fingerprint(config, content.nav)
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.is_file() else {}
    incremental = (not full and state.get("fingerprint") == fingerprint and folder.is_dir()
                   and (config.site_dir / SEARCH_INDEX).is_file() and has_records(config.index_dir))
    if not incremental:
        shutil.rmtree(folder, ignore_errors=True)
        (stage / PAGES).unlink(missing_ok=True)
        _copy_hand_written_docs(config.docs_dir, folder)
    written, removed = _sync_pages(content.pages, folder)
    return StagedDocs(folder, incremental, written, removed, fingerprint)


# A one-article rebuild keeps the live calibration (fitting costs seconds per thousand
# articles) until this share of the articles has changed since it was fitted.
RECALIBRATE_SHARE = 0.01
CALIBRATION_DRIFT = "calibration-drift.json"  # articles changed since the calibration was fitted


def write_search_index(config: KbConfig, articles: list, folder: Path, incremental: bool,
                       synonyms: synonyms_mod.Synonyms | None = None, memo: Memo | None = None) -> int:
    """The Whoosh index and the sentence vectors into folder, side by side in time.

    Embedding runs in worker processes while this process writes the Whoosh
    index (both are CPU-bound; a thread alone would share one core through
    the GIL). Incremental: both start from the live index and redo only what
    changed, and the calibration is fitted again only once RECALIBRATE_SHARE
    of the articles changed. Returns how many article lines were embedded anew.
    """
    encoder = get_encoder() if config.search.semantic else None
    changed: int | None = None
    with ThreadPoolExecutor(1) as pool:
        vectors = pool.submit(embed, articles, encoder, config.index_dir, os.cpu_count() or 1, memo) if encoder else None
        try:
            changed = update_index(articles, config.index_dir, folder, synonyms, memo) if incremental else None
            if changed is None:
                write_index(articles, folder, synonyms, memo)
            (synonyms or synonyms_mod.Synonyms()).save(folder)
        finally:
            embedded = vectors.result() if vectors else None  # never leave a worker running
    if embedded is None or encoder is None:
        for name in (VECTORS, CALIBRATION, CALIBRATION_DRIFT):  # an incremental copy may carry the live index's
            (folder / name).unlink(missing_ok=True)
        return 0
    drift = _calibration_drift(folder) + changed if changed is not None else None
    keep = drift is not None and (folder / CALIBRATION).is_file() and drift < RECALIBRATE_SHARE * len(articles)
    save(embedded, folder, keep_whitening=keep)  # the calibration's space: kept, or fitted anew with it
    if keep:
        (folder / CALIBRATION_DRIFT).write_text(json.dumps({"changed": drift}), encoding="utf-8")
        return embedded.fresh
    # The probability the suggest path reports, learnt from this knowledge base as it now is.
    calibrate(folder, articles, encoder.encode(list(ranking.SMALL_TALK)))
    (folder / CALIBRATION_DRIFT).unlink(missing_ok=True)
    return embedded.fresh


def _calibration_drift(folder: Path) -> int:
    try:
        return int(json.loads((folder / CALIBRATION_DRIFT).read_text(encoding="utf-8"))["changed"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def write_site(config: KbConfig, content: Content, docs: StagedDocs, folder: Path, strict: bool = False,
               records_dir: Path | None = None, links: Links | None = None) -> None:
    """The static site into folder; incremental: a dirty MkDocs build on hard links to the live site.

    The site search's page records go to records_dir (the new index folder, swapped in with the site).
    links: the live site's links into folder, started earlier (build); None: linked here.
    """
    dates = [a.resolved for a in content.articles if a.resolved]
    build_date = calendar.timegm(max(dates).timetuple()) if dates else 0
    if docs.incremental:
        if links is not None:  # the mtimes dirty builds compare; copy_on_write keeps the live site
            links.wait()
        else:
            link_tree(config.site_dir, folder)
        for url in docs.removed:
            shutil.rmtree(folder / url, ignore_errors=True)
    build_site(config, docs.folder, folder, content.nav, strict=strict, build_date=build_date,
               dirty=docs.incremental, synonyms=content.synonyms, records_dir=records_dir, removed=docs.removed,
               template_cache=config.index_dir.parent / STAGE / "templates")


def _stopwatch(seconds: dict[str, float]) -> Callable[[str], None]:
    """A lap(stage) that records the seconds since the previous lap."""
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        clock = now
    return lap


def build(config: KbConfig, strict: bool = False, full: bool = False) -> BuildResult:
    """Run every stage in order and swap the results in.

    Incremental by default: when theme, settings, hand-written pages and
    navigation are unchanged, only the pages whose text changed are rebuilt
    (MkDocs dirty build on hard links to the live site) and the site search's
    records are completed from the previous build's (site_search.py). `full=True` rebuilds everything.
    """
    result = BuildResult()
    lap = _stopwatch(result.seconds)
    # Read and check everything before writing anything: a bad case file (or,
    # strict, personal data in one) stops the build with nothing touched.
    memo = open_memo(config, fresh=full)
    content = read_content(config, result, strict, memo)
    lap("read")
    generated = [config.docs_dir / name for name in GENERATED]
    with (build_lock(config.index_dir.parent), Staging([config.index_dir, config.site_dir, *generated]) as new,
          copy_on_write([new[config.index_dir], new[config.site_dir], *(new[g] for g in generated)])):
        docs = stage_docs(config, content, full)
        result.incremental, result.pages_written = docs.incremental, docs.written
        lap("pages")
        with Links(config.site_dir, new[config.site_dir]) if docs.incremental else nullcontext() as links:
            result.embedded = write_search_index(config, content.articles, new[config.index_dir], docs.incremental,
                                                 content.synonyms, memo)
            lap("index")
            write_site(config, content, docs, new[config.site_dir], strict, records_dir=new[config.index_dir],
                       links=links)
            lap("site")
        for live in generated:  # docs/faq and docs/sop as MkDocs saw them (linked: _sync_pages never writes through)
            link_tree(docs.folder / live.name, new[live])
        new.swap_in(wait=False)  # the previous folders are deleted in the background
        docs.save_state()
        lap("swap")
    memo.save()
    return result


def check(config: KbConfig) -> BuildResult:
    """Validate the content without writing anything."""
    result = BuildResult()
    sources = read_sources(config, result.warnings)
    synonyms_mod.read(config.content_dir)
    result.count(sources, articles_mod.published_articles(sources))
    result.personal_data = scan_cases(config)
    return result
