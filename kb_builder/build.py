"""`kb build`: content files -> validated records -> pages + index -> static site.

Reads and checks everything first, builds every output into new folders
beside the live ones, and only then swaps them in: a failed build leaves the
previous site, index and generated pages exactly as they were.
"""

from __future__ import annotations

import calendar
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import articles as articles_mod
from . import ranking
from .calibration import CALIBRATION, calibrate
from .config import KbConfig
from .encoder import get_encoder
from .errors import BuildError, PrivacyError
from .index import update_index, write_index
from .pages import GENERATED, navigation, render_pages, write_pages
from .privacy_scan import scan_cases
from .site import SEARCH_INDEX, build_site, merge_search_index
from .sources import read_sources
from . import synonyms as synonyms_mod
from .vectors import VECTORS, embed, save


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
    personal_data: list = field(default_factory=list)  # Problems: what the redactor would remove (privacy_scan.py)


def _sibling(path: Path, tag: str) -> Path:
    """A fresh folder next to path (same file system, so rename is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.{tag}-", dir=path.parent))


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    return False


def _swap_in(pairs: list[tuple[Path, Path]]) -> None:
    """Replace each live folder by its new one, atomically where the kernel allows it.

    A running `kb serve` never sees a missing index or site: the new folder
    takes the live one's place in one step, and the old one is deleted after.
    Elsewhere, two renames leave a window of microseconds; any failure rolls back.
    """
    done: list[tuple[Path, Path, Path | None]] = []
    try:
        for new, live in pairs:
            if live.exists() and _exchange(new, live):
                done.append((new, live, new))  # `new` now holds the old content
                continue
            old = None
            if live.exists():
                old = _sibling(live, "old")
                old.rmdir()
                os.rename(live, old)
            os.rename(new, live)
            done.append((new, live, old))
    except OSError as exc:
        for new, live, old in reversed(done):
            if old == new:
                _exchange(new, live)
                continue
            os.rename(live, new)
            if old is not None:
                os.rename(old, live)
        raise BuildError(f"could not swap in the new build ({exc}); the previous one is still live") from None
    for _, _, old in done:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _copy_hand_written_docs(docs_dir: Path, target: Path) -> None:
    ignore = shutil.ignore_patterns(".*")
    shutil.copytree(docs_dir, target, ignore=lambda d, names: (
        set(ignore(d, names)) | ({n for n in names if n in GENERATED} if Path(d) == docs_dir else set())))


def _lock(config: KbConfig):
    lock_path = config.index_dir.parent / ".kb-build.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise BuildError("another `kb build` is running on this knowledge base; wait for it to finish") from None
    return handle


def _remove_leftovers(live_paths: list[Path]) -> list[Path]:
    """Delete the staging folders a killed build left beside the live ones (`.site.new-*`, `.index.old-*`).

    Called with the build lock held, so no other build is using them. A
    killed build's folders would otherwise stay forever (a full site each)."""
    removed = []
    for live in live_paths:
        for tag in ("new", "old"):
            for leftover in live.parent.glob(f".{live.name}.{tag}-*"):
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)
                    removed.append(leftover)
    return removed


STAGE = ".kb-stage"  # beside the index: the staged docs tree and what the last build was made of


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _tree_digest(root: Path, skip_top: tuple[str, ...] = ()) -> str:
    parts = []
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and rel.parts[0] not in skip_top and not any(p.startswith(".") for p in rel.parts):
                parts += [str(rel).encode(), path.read_bytes()]
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


def _sync_pages(pages: dict[str, str], docs: Path) -> tuple[int, set[str]]:
    """Write the pages whose text changed (others keep their mtime); delete generated pages gone.

    Returns (pages written, site URLs of the pages removed).
    """
    written = 0
    for rel, text in pages.items():
        path = docs / rel
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written += 1
    removed: set[str] = set()
    for top in GENERATED:
        for path in sorted((docs / top).rglob("*.md")) if (docs / top).is_dir() else []:
            rel = str(path.relative_to(docs))
            if rel not in pages:
                path.unlink()
                url = rel.removesuffix(".md")
                removed.add(url.removesuffix("index") if url.endswith("/index") else url + "/")
    return written, removed


def write_search_index(config: KbConfig, articles: list, folder: Path, incremental: bool,
                       synonyms: synonyms_mod.Synonyms | None = None) -> int:
    """The Whoosh index and the sentence vectors into folder, side by side in time.

    Embedding runs in worker processes while this process writes the Whoosh
    index (both are CPU-bound; a thread alone would share one core through
    the GIL). Incremental: both start from the live index and redo only what
    changed. Returns how many article lines were embedded anew.
    """
    encoder = get_encoder() if config.search.semantic else None
    with ThreadPoolExecutor(1) as pool:
        vectors = pool.submit(embed, articles, encoder, config.index_dir, os.cpu_count() or 1) if encoder else None
        try:
            if not incremental or update_index(articles, config.index_dir, folder, synonyms) is None:
                write_index(articles, folder, synonyms)
            (synonyms or synonyms_mod.Synonyms()).save(folder)
        finally:
            embedded = vectors.result() if vectors else None  # never leave a worker running
    if embedded is None:
        for name in (VECTORS, CALIBRATION):  # an incremental copy may carry the live index's
            (folder / name).unlink(missing_ok=True)
        return 0
    save(embedded, folder)
    # The probability the suggest path reports, learnt from this knowledge base as it now is.
    calibrate(folder, articles, encoder.encode(list(ranking.SMALL_TALK)))
    return embedded.fresh


def build(config: KbConfig, strict: bool = False, full: bool = False) -> BuildResult:
    """Run every stage in order and swap the results in.

    Incremental by default: when theme, settings, hand-written pages and
    navigation are unchanged, only the pages whose text changed are rebuilt
    (MkDocs dirty build on a copy of the live site) and the site search index
    is completed from the previous one. `full=True` rebuilds everything.
    """
    result = BuildResult()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result.seconds[stage] = round(now - clock, 3)
        clock = now

    sources = read_sources(config, result.warnings)
    result.personal_data = scan_cases(config, cache=config.index_dir.parent / STAGE / "privacy-scan.json")
    if strict and result.personal_data:
        raise PrivacyError(result.personal_data)  # strict: personal data in a case file stops the build, nothing written
    synonyms = synonyms_mod.read(config.content_dir)
    articles = articles_mod.published_articles(sources)
    pages = render_pages(articles, config)
    nav = navigation(articles, config)
    result.cases = sum(a.kind == "case" for a in articles)
    result.sops = sum(a.kind == "sop" for a in articles)
    result.unpublished = len(sources) - len(articles)
    result.pages = len(pages)
    lap("read")

    lock = _lock(config)
    _remove_leftovers([config.site_dir, config.index_dir] + [config.docs_dir / name for name in GENERATED])
    stage = config.index_dir.parent / STAGE
    stage_docs, state_file = stage / "docs", stage / "state.json"
    new_site = _sibling(config.site_dir, "new")
    new_index = _sibling(config.index_dir, "new")
    new_generated = {name: _sibling(config.docs_dir / name, "new") for name in GENERATED}
    try:
        fingerprint = _fingerprint(config, nav)
        state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.is_file() else {}
        incremental = (not full and state.get("fingerprint") == fingerprint and stage_docs.is_dir()
                       and (config.site_dir / SEARCH_INDEX).is_file())
        if not incremental:
            shutil.rmtree(stage_docs, ignore_errors=True)
            _copy_hand_written_docs(config.docs_dir, stage_docs)
        written, removed = _sync_pages(pages, stage_docs)
        result.incremental, result.pages_written = incremental, written
        lap("pages")
        result.embedded = write_search_index(config, articles, new_index, incremental, synonyms)
        lap("index")
        dates = [a.resolved for a in articles if a.resolved]
        build_date = calendar.timegm(max(dates).timetuple()) if dates else 0
        if incremental:
            new_site.rmdir()
            shutil.copytree(config.site_dir, new_site)  # copy2: the mtimes dirty builds compare
            for url in removed:
                shutil.rmtree(new_site / url, ignore_errors=True)
        build_site(config, stage_docs, new_site, nav, strict=strict, build_date=build_date, dirty=incremental,
                   synonyms=synonyms)
        if incremental:
            merge_search_index(config.site_dir / SEARCH_INDEX, new_site, removed)
        lap("site")
        for name, folder in new_generated.items():
            folder.rmdir()
            shutil.copytree(stage_docs / name, folder)
        _swap_in([(new_index, config.index_dir), (new_site, config.site_dir)]
                 + [(folder, config.docs_dir / name) for name, folder in new_generated.items()])
        state_file.write_text(json.dumps({"fingerprint": fingerprint}), encoding="utf-8")
        lap("swap")
    finally:
        for leftover in (new_site, new_index, *new_generated.values()):
            shutil.rmtree(leftover, ignore_errors=True)
        lock.close()
    return result


def check(config: KbConfig) -> BuildResult:
    """Validate the content without writing anything."""
    warnings: list[str] = []
    sources = read_sources(config, warnings)
    synonyms_mod.read(config.content_dir)
    articles = articles_mod.published_articles(sources)
    return BuildResult(cases=sum(a.kind == "case" for a in articles),
                       sops=sum(a.kind == "sop" for a in articles),
                       unpublished=len(sources) - len(articles), warnings=warnings,
                       personal_data=scan_cases(config))
