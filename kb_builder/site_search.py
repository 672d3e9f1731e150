"""The site's own search: a small static index fetched by prefix, and the stub Material's search box loads.

Material's search plugin ships every page's text to every visitor and builds
a lunr index from it in the browser on every page view (40 MB and 17 s at
10,000 articles: issue 25). Here the plugin keeps its search box and result
list, but its worker is ours (docs/assets/javascripts/kb-search-worker.js):
it asks the API's /api/v1/search (the suggestions' engine) when it answers,
and otherwise this static index, of which a search fetches only the few
files its words need.

The static index is written from the pages as published (the text Material's
plugin extracts from the sanitised HTML, nothing from content files) and
analysed by analysis.terms, as the API's index is: jieba words in search
mode, Traditional folded to Simplified, English stemmed. Files:

- `search/search_index.json`: the stub the theme fetches on every page (a few
  KB): Material's search settings plus `kb`, where the API and the static
  index are, the index's size, and a Traditional -> Simplified map of the
  characters the index uses (the browser folds the query with it).
- `search/kb/<version>/t/<bucket>.json.gz`: the terms whose first two
  characters hash to the bucket (FNV-1a, the same in kb-search-worker.js),
  each with its postings (document, BM25 weight of the term in it).
- `search/kb/<version>/d/<chunk>.json.gz`: location, title and opening text
  of CHUNK documents.

The version is a digest of the files, so they are cached for good
(`kb serve` sends them immutable) and a rebuild writes a new folder. Gzip
files are fetched as they are and inflated by the worker: any static web
server then serves a few KB per search, whatever its compression settings.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import json
import os
import pickle
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from mkdocs.plugins import BasePlugin

from .analysis import STOP_WORDS, _stem, normalize, terms
from .memo import paused_gc

STUB = Path("search") / "search_index.json"
FOLDER = Path("search") / "kb"
RECORDS = "site-search.pickle"
EARLIER_RECORDS = "site-search.json.gz"  # what builds before the static index was patched wrote (records only)  # beside the Whoosh index (never published): what the next dirty build starts from
WORKER = "assets/javascripts/kb-search-worker.js"
CHUNK = 200  # documents per d/ file: a search fetches the one or two holding its best results
POSTINGS_PER_BUCKET = 1000  # aimed-for postings per t/ file (a few KB compressed)
MAX_BUCKETS = 4096
TITLE_WEIGHT = 3  # a word of the title counts as this many of the text
K1, B = 1.2, 0.75
SNIPPET_CHARS = 160
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_ASCII_WORD = re.compile(r"[a-z][a-z0-9]*")


def plain(markup: str) -> str:
    """The visible text of an HTML fragment, one space between words."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", markup.replace("\u200b", "")))).strip()


def fnv1a(key: str) -> int:
    """32-bit FNV-1a over the key's code points (kb-search-worker.js computes the same)."""
    h = 0x811C9DC5
    for ch in key:
        h ^= ord(ch)
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def prefix_key(term: str) -> str:
    return term[:2]


@dataclass
class Page:
    """One published page as the static index sees it."""

    location: str
    title: str
    snippet: str
    counts: dict[str, int]  # term -> weighted count (title words TITLE_WEIGHT each)
    forms: dict[str, str]  # English word as written -> its stem, where they differ

    def as_json(self) -> list:
        return [self.location, self.title, self.snippet, self.counts, self.forms]

    @classmethod
    def from_json(cls, row: list) -> Page:
        return cls(*row)


class Records(Mapping[str, Page]):
    """Page records by location, the previous build's kept pickled and unpickled only when asked for.

    A one-article rebuild at 10,000 pages reads a handful of them (the changed pages' old words, their
    document chunks); turning every record into a Page and back took 1.1 s of it. `with_changes` carries
    the untouched ones over still pickled, and `save_records` writes them back as they were read.
    """

    def __init__(self, rows: dict[str, bytes] | None = None, pages: dict[str, Page] | None = None):
        self._rows = rows or {}  # pickled as_json() rows, unchanged since they were read
        self._pages = dict(pages or {})  # unpickled rows and the pages of this build
        self._order = dict.fromkeys([*self._rows, *self._pages])

    def __getitem__(self, location: str) -> Page:
        page = self._pages.get(location)
        if page is None:
            page = self._pages[location] = Page.from_json(pickle.loads(self._rows[location]))
        return page

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, location: object) -> bool:
        return location in self._order

    def with_changes(self, built: dict[str, Page], removed: set[str]) -> Records:
        """These records with the pages of a dirty build put in and the removed ones left out."""
        rows = {loc: row for loc, row in self._rows.items() if loc not in built and loc not in removed}
        kept = {loc: page for loc, page in self._pages.items() if loc not in built and loc not in removed}
        return Records(rows, {**kept, **built})

    def fresh(self) -> list[str]:
        """The locations not carried over from the records read (their pages may differ from those)."""
        return [loc for loc in self._order if loc not in self._rows]

    def pickled(self, location: str) -> bytes:
        row = self._rows.get(location)
        return row if row is not None else pickle.dumps(self[location].as_json(), protocol=pickle.HIGHEST_PROTOCOL)


def page_record(location: str, title: str, text: str, synonyms=None) -> Page:
    """Analyse one page: its terms as the API's index would cut them, and the words of its synonym groups."""
    counts: Counter[str] = Counter()
    for term in terms(title):
        counts[term.text] += TITLE_WEIGHT
    for term in terms(text):
        counts[term.text] += 1
    for group in synonyms.groups_in(f"{title}\n{text}") if synonyms is not None else ():
        for word in group:  # 薪金 finds the page about 工资 (content/synonyms.yml), as on the API path
            for term in terms(word):
                counts.setdefault(term.text, 1)
    forms = {w: s for w in set(_ASCII_WORD.findall(normalize(f"{title} {text}")))
             if w not in STOP_WORDS and (s := _stem(w)) != w}
    return Page(location, title, text[:SNIPPET_CHARS], dict(counts), forms)


def pages_from_entries(entries: list[dict], synonyms=None) -> dict[str, Page]:
    """Material's per-section entries (page and headings) joined into one record per page."""
    titles: dict[str, str] = {}
    texts: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        location = entry["location"].split("#", 1)[0]
        title, text = plain(entry.get("title", "")), plain(entry.get("text", ""))
        if "#" not in entry["location"] or location not in titles:
            titles[location] = title if "#" not in entry["location"] else titles.get(location, title)
        texts[location].append(text if "#" not in entry["location"] else f"{title} {text}")
    return {loc: page_record(loc, titles[loc], " ".join(t for t in texts[loc] if t), synonyms) for loc in titles}


def _fold_map(vocabulary: set[str]) -> dict[str, str]:
    """Traditional -> Simplified for every CJK character whose Simplified form the index uses."""
    used = {ch for word in vocabulary for ch in word if ord(ch) >= 0x3400}
    return {trad: simple for trad, simple in _traditional_chars() if simple in used}


@functools.cache
def _traditional_chars() -> tuple[tuple[str, str], ...]:
    """(Traditional, Simplified) for every CJK character OpenCC's t2s changes to one character.

    Once per process: asking OpenCC about 27,000 code points took 0.17 s of every rebuild.
    """
    import opencc

    t2s = opencc.OpenCC("t2s")
    pairs = []
    for code in range(0x3400, 0xA000):
        ch = chr(code)
        simple = t2s.convert(ch)
        if simple != ch and len(simple) == 1:
            pairs.append((ch, simple))
    return tuple(pairs)


# zlib's default level: 9 took 1.1 s of a one-article rebuild at 10,000 articles for files a few % smaller.
GZIP_LEVEL = 6


def _gz(data) -> bytes:
    return gzip.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), GZIP_LEVEL,
                         mtime=0)


# A rebuild patches the static index in place (only the files the changed pages' words live in)
# until this share of its documents has changed since it was last written whole: until then
# BM25 keeps the average page length it was written with (the ranking moves by less than rounding).
REWRITE_SHARE = 0.01


@dataclass
class IndexState:
    """How the static index was written: what a rebuild needs to patch it instead of writing it anew."""

    version: str
    locations: list[str]  # document numbers: the pages sorted by location
    average: float  # the average weighted page length BM25 used
    buckets: int
    changed: int = 0  # pages changed by patches since it was written whole


def _weight(tf: int, norm: float) -> int:
    return max(1, round(100 * tf * (K1 + 1) / (tf + norm)))


def _delta(rows: list[tuple[int, int]]) -> list[int]:
    out, previous = [], 0
    for number, weight in rows:
        out += [number - previous, weight]
        previous = number
    return out


def _undelta(delta: list[int]) -> list[tuple[int, int]]:
    rows, number = [], 0
    for i in range(0, len(delta), 2):
        number += delta[i]
        rows.append((number, delta[i + 1]))
    return rows


def index_files(pages: Mapping[str, Page], average: float | None = None) -> tuple[dict, dict[str, bytes], IndexState]:
    """The static index: (its description for the stub, its files by path under the version folder, its state).

    average: the average page length BM25 uses (default: the pages' own).
    """
    docs = sorted(pages.values(), key=lambda p: p.location)
    lengths = [sum(p.counts.values()) for p in docs]
    if average is None:
        average = sum(lengths) / len(docs) if docs else 1.0
    postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
    forms: dict[str, str] = {}
    for number, (page, length) in enumerate(zip(docs, lengths)):
        norm = K1 * (1 - B + B * length / average)
        for term, tf in page.counts.items():
            postings[term].append((number, _weight(tf, norm)))
        forms.update(page.forms)
    total = sum(len(p) for p in postings.values())
    buckets = 1
    while buckets < MAX_BUCKETS and buckets * POSTINGS_PER_BUCKET < total:
        buckets *= 2
    shards: dict[int, dict] = defaultdict(lambda: {"t": {}, "f": {}})
    for term, rows in sorted(postings.items()):
        shards[fnv1a(prefix_key(term)) % buckets]["t"][term] = _delta(rows)
    for word, stem in sorted(forms.items()):
        shards[fnv1a(prefix_key(word)) % buckets]["f"][word] = stem
    files = {f"t/{n}.json.gz": _gz(shard) for n, shard in sorted(shards.items())}
    for start in range(0, len(docs), CHUNK):
        files[f"d/{start // CHUNK}.json.gz"] = _chunk(docs[start:start + CHUNK])
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        digest.update(name.encode() + b"\0" + data)
    version = digest.hexdigest()[:16]
    meta = {"version": version, "documents": len(docs), "buckets": buckets, "chunk": CHUNK,
            "fold": _fold_map(set(postings))}
    return meta, files, IndexState(version, [p.location for p in docs], average, buckets)


def _chunk(docs: list[Page]) -> bytes:
    """One document file: the location, title and snippet of CHUNK consecutive documents."""
    return _gz([[p.location, p.title, p.snippet] for p in docs])


def patch_files(state: IndexState, meta: dict, previous: Mapping[str, Page], pages: Mapping[str, Page],
                changed: list[str], read: Callable[[str], bytes | None]) -> tuple[dict, dict[str, bytes], IndexState]:
    """The files of the static index that changed pages touch, patched; (new stub description, those files, state).

    The same pages, some with new text: each changed page's postings are
    replaced in the buckets of its old and new words (with the average length
    the index was written with), and its document chunk is written again.
    read(name) gives a file of the current version. Words only ever join the
    stem and fold tables (an extra entry maps a word to its own stem).
    """
    numbers = {loc: n for n, loc in enumerate(state.locations)}
    touched: dict[int, set[str]] = defaultdict(set)
    forms: dict[int, dict[str, str]] = defaultdict(dict)
    fresh: dict[str, dict[int, int]] = defaultdict(dict)  # term -> {document: weight} of the changed pages
    for loc in changed:
        old, new = previous[loc], pages[loc]
        norm = K1 * (1 - B + B * sum(new.counts.values()) / state.average)
        for term in set(old.counts) | set(new.counts):
            touched[fnv1a(prefix_key(term)) % state.buckets].add(term)
        for term, tf in new.counts.items():
            fresh[term][numbers[loc]] = _weight(tf, norm)
        for word, stem in new.forms.items():
            forms[fnv1a(prefix_key(word)) % state.buckets][word] = stem
    gone = {numbers[loc] for loc in changed}
    files: dict[str, bytes] = {}
    for bucket in sorted(set(touched) | set(forms)):
        name = f"t/{bucket}.json.gz"
        data = read(name)
        shard = json.loads(gzip.decompress(data)) if data else {"t": {}, "f": {}}
        for term in touched.get(bucket, ()):
            rows = [r for r in _undelta(shard["t"].get(term, [])) if r[0] not in gone]
            rows = sorted(rows + list(fresh.get(term, {}).items()))
            if rows:
                shard["t"][term] = _delta(rows)
            else:
                shard["t"].pop(term, None)
        shard["f"].update(forms.get(bucket, {}))
        files[name] = _gz({"t": dict(sorted(shard["t"].items())), "f": dict(sorted(shard["f"].items()))})
    for chunk in sorted({numbers[loc] // CHUNK for loc in changed}):
        files[f"d/{chunk}.json.gz"] = _chunk([pages[loc] for loc in state.locations[chunk * CHUNK:(chunk + 1) * CHUNK]])
    digest = hashlib.sha256(state.version.encode())
    for name, data in sorted(files.items()):
        digest.update(name.encode() + b"\0" + data)
    version = digest.hexdigest()[:16]
    fold = {**meta.get("fold", {}), **_fold_map({t for loc in changed for t in pages[loc].counts})}
    new_meta = {**meta, "version": version, "fold": dict(sorted(fold.items()))}
    return new_meta, files, IndexState(version, state.locations, state.average, state.buckets,
                                       state.changed + len(changed))


def write_static_index(site_dir: Path, pages: Mapping[str, Page], material_config: dict, api: str,
                       previous: Mapping[str, Page] | None = None, state: IndexState | None = None,
                       old_meta: dict | None = None) -> tuple[dict, IndexState]:
    """Write the versioned index folder and the stub into site_dir (other versions removed); returns (stub, state).

    With the previous build's records and state, and site_dir holding its
    index (a dirty build), only the files the changed pages touch are written
    (patch_files), until REWRITE_SHARE of the pages changed or pages came or went.
    old_meta: the stub's description as the previous build wrote it (default: read from site_dir).
    """
    root = site_dir / FOLDER
    # Records carried over from the previous build are its pages: only the others can have changed.
    candidates = pages.fresh() if isinstance(pages, Records) else list(pages)
    changed = [loc for loc in candidates if (previous or {}).get(loc) != pages[loc]]
    old_meta = old_meta if old_meta is not None else _stub_meta(site_dir)
    patch = (state is not None and previous is not None and old_meta is not None
             and old_meta.get("version") == state.version and (root / state.version).is_dir()
             and set(pages) == set(state.locations) and set(previous) == set(pages)
             and state.changed + len(changed) <= REWRITE_SHARE * len(pages))
    if patch and state is not None and old_meta is not None:
        old = root / state.version

        def read(name: str) -> bytes | None:
            path = old / name
            return path.read_bytes() if path.is_file() else None
        meta, files, state = patch_files(state, old_meta, previous or {}, pages, changed, read)
        folder = root / meta["version"]
        if folder != old:
            shutil.rmtree(folder, ignore_errors=True)
            os.rename(old, folder)  # site_dir is this build's own tree of links: the live site keeps its folder
        for name in files:
            (folder / name).unlink(missing_ok=True)  # a hard link to the live site's file: never write through it
    else:
        meta, files, state = index_files(pages)
        folder = root / meta["version"]
    if root.is_dir():
        for other in root.iterdir():
            if other.name != meta["version"]:
                shutil.rmtree(other) if other.is_dir() else other.unlink()
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    meta = {key: value for key, value in meta.items() if key not in ("path", "api")}
    meta["path"] = f"{FOLDER.as_posix()}/{meta['version']}/"
    meta["api"] = api
    stub = {"config": {**material_config, "kb": meta}, "docs": []}
    (site_dir / STUB).parent.mkdir(parents=True, exist_ok=True)
    (site_dir / STUB).unlink(missing_ok=True)
    (site_dir / STUB).write_text(json.dumps(stub, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return stub, state


def _stub_meta(site_dir: Path) -> dict | None:
    try:
        meta = json.loads((site_dir / STUB).read_text(encoding="utf-8"))["config"]["kb"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta if isinstance(meta, dict) else None


def save_records(folder: Path, pages: Mapping[str, Page], state: IndexState | None = None) -> None:
    """The page records and the static index's state, for the next dirty build (a pickle: loaded in a
    fraction of the time gzipped JSON took at 10,000 pages; written and read by the build only).

    Each record is pickled on its own (`Records`): a rebuild unpickles only the ones it reads."""
    records = pages if isinstance(pages, Records) else Records(pages=dict(pages))
    data = {"rows": {loc: records.pickled(loc) for loc in records}, "state": asdict(state) if state else None}
    with paused_gc():
        (folder / RECORDS).write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))


def load_state(folder: Path) -> tuple[Records, IndexState | None]:
    """The previous build's page records and index state ((no records, None) when there are none)."""
    try:
        if not (folder / RECORDS).is_file() and (folder / EARLIER_RECORDS).is_file():
            data = {"pages": json.loads(gzip.decompress((folder / EARLIER_RECORDS).read_bytes()))}
        else:
            with paused_gc():
                data = pickle.loads((folder / RECORDS).read_bytes())
        if "rows" in data:
            records = Records({str(loc): bytes(row) for loc, row in data["rows"].items()})
        else:  # written whole before records were pickled one by one
            records = Records(pages={row[0]: Page.from_json(row) for row in data["pages"]})
        state = IndexState(**data["state"]) if data.get("state") else None
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError, AttributeError):
        return Records(), None
    return records, state


def has_records(folder: Path) -> bool:
    return (folder / RECORDS).is_file() or (folder / EARLIER_RECORDS).is_file()


def load_records(folder: Path) -> Records:
    """The previous build's page records ({} when there are none: the dirty build then indexes what it built)."""
    return load_state(folder)[0]


class SiteSearch(BasePlugin):
    """Take the page texts from Material's search plugin and write the static index instead of its lunr data.

    Runs after Material's plugin: on_config swaps its index object for one
    that does not segment (analysis.terms does) and writes only the stub.
    A dirty build sees only the pages it rebuilt; the rest come from the
    previous build's records (`previous`), minus the pages that are gone.
    """

    def __init__(self, api: str, records_dir: Path, previous: Mapping[str, Page], removed: set[str], synonyms=None,
                 state: IndexState | None = None):
        self.api, self.records_dir, self.previous, self.removed = api, records_dir, previous, removed
        self.state = state
        self.synonyms = synonyms
        self.pages: Mapping[str, Page] = {}

    def on_config(self, config):
        from material.plugins.search.plugin import SearchIndex

        material = config.plugins.get("material/search")
        if material is None:
            return config

        class PageTexts(SearchIndex):
            def _segment_chinese(self, data):
                return data  # analysis.terms segments, after folding Traditional to Simplified

            def generate_search_index(self, prev):
                return "{}"  # replaced by the stub in SiteSearch.on_post_build: no 40 MB file written first

        material.search_index = PageTexts(**material.config)
        self.material = material
        self.old_meta = _stub_meta(Path(config.site_dir))  # Material's plugin overwrites the stub before on_post_build
        return config

    def on_post_build(self, config):
        material = getattr(self, "material", None)
        if material is None:
            return
        index = material.search_index
        built = pages_from_entries(index.entries, self.synonyms)
        previous = self.previous if isinstance(self.previous, Records) else Records(pages=dict(self.previous))
        self.pages = previous.with_changes(built, self.removed)
        settings = {key: material.config[key] for key in ("lang", "separator", "pipeline", "fields")}
        _, state = write_static_index(Path(config.site_dir), self.pages, settings, self.api, self.previous, self.state,
                                      getattr(self, "old_meta", None))
        save_records(self.records_dir, self.pages, state)
