"""`kb build` checks every case file for personal data, as the redactor sees it.

Articles from `kb publish` are redacted on the way out, but a case written
by hand (or edited after publishing) never passed the redactor. So the
build runs the same redactor over each case file, front matter and body,
and reports each find with file, line and kind; `kb build --strict` fails
on them. The value itself is never printed: build logs are not a place for
personal data either.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from .config import KbConfig
from .errors import Problem
from .redact import PLACEHOLDERS, Redactor

WHAT = {
    "name": "a person's name", "phone": "a phone number", "email": "an e-mail address",
    "resident_id": "an ID card number", "id_card": "an ID card number", "passport": "a passport number",
    "bank_card": "a bank card number", "employee_no": "an employee number", "im_id": "a WeChat/QQ/DingTalk id",
    "plate": "a licence plate", "address": "a street address", "ip": "an IP address", "room": "a room number",
}


def _findings(text: str, redactor: Redactor) -> list[tuple[int, str, str]]:
    """(line, message, fix) for each find in text; the message names the kind and column, never the value."""
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        for f in redactor.find(line):
            out.append((no, f"{WHAT.get(f.kind, f.kind)} ({f.kind}, column {f.start + 1}) would be removed by redaction",
                        f"delete it or write {PLACEHOLDERS[f.kind]} in its place"))
    return out


# Files are scanned in worker processes when at least this many need it (a first build, new privacy
# settings): a file costs about 27 ms (jieba's name tagger, pure Python), a worker about 2 s to start.
# 1,000 generated cases scanned in 27 s in one process (CHANGELOG, stop 33).
PARALLEL_MIN_FILES = 200
_WORKER_REDACTOR: dict[str, Redactor] = {}


def _scan_texts(job: tuple[str, list[str]]) -> list[list[tuple[int, str, str]]]:
    """In a worker process: the findings of each text, with the redactor of these privacy settings."""
    settings, texts = job
    redactor = _WORKER_REDACTOR.get(settings)
    if redactor is None:
        from .process_config import PrivacySettings
        redactor = _WORKER_REDACTOR[settings] = Redactor.for_settings(PrivacySettings.model_validate_json(settings))
    return [_findings(text, redactor) for text in texts]


def _scan_all(texts: list[str], settings: str, redactor: Redactor) -> list[list[tuple[int, str, str]]]:
    """The findings of each text, in worker processes (one per core) when there are many."""
    processes = os.cpu_count() or 1
    if processes < 2 or len(texts) < PARALLEL_MIN_FILES:
        return [_findings(text, redactor) for text in texts]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = -(-len(texts) // (processes * 8))  # small jobs: a slow one does not hold the rest
    jobs = [(settings, texts[i:i + size]) for i in range(0, len(texts), size)]
    # spawn, not fork: the caller may be a threaded server process (as vectors.embed).
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [found for part in pool.map(_scan_texts, jobs) for found in part]


def scan_cases(config: KbConfig, cache: Path | None = None, contents: Mapping[Path, bytes] | None = None) -> list[Problem]:
    """Every case file, published or draft (a draft is published later).

    `cache` (a JSON file beside the index) remembers, under the same privacy
    settings, the digests of files found clean and what was found in the
    others (line, kind, column: never the value), so an unchanged file is not
    scanned again: scanning costs about half a millisecond a line, which a
    10,000-article rebuild should not pay for files that did not change.
    `contents`: the files' bytes as the build read them (read_sources), so none is read twice.
    """
    folder = config.content_dir / "cases"
    if not folder.is_dir():
        return []
    privacy = config.process.privacy
    settings = privacy.model_dump_json()
    clean: set[str] = set()
    known: dict[str, list] = {}  # digest -> [[line, message, fix], ...]
    if cache is not None and cache.is_file():
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("settings") == settings:
                clean, known = set(data.get("clean", [])), dict(data.get("found", {}))
        except (ValueError, AttributeError, TypeError):
            clean, known = set(), {}
    redactor = Redactor.for_settings(privacy)
    problems: list[Problem] = []
    now_clean: list[str] = []
    now_found: dict[str, list] = {}
    # As glob("*.md") listed them (no dot files), without making and sorting 10,000 paths.
    names = sorted(e.name for e in os.scandir(folder)
                   if e.name.endswith(".md") and not e.name.startswith(".") and e.is_file())
    files: list[tuple[Path, str, bytes]] = []
    for path in (folder / name for name in names):
        data = contents.get(path) if contents is not None else None
        data = path.read_bytes() if data is None else data
        files.append((path, hashlib.sha256(data).hexdigest(), data))
    todo = [(path, digest, data) for path, digest, data in files if digest not in clean and digest not in known]
    scanned = dict(zip((digest for _, digest, _ in todo),
                       _scan_all([data.decode("utf-8") for _, _, data in todo], settings, redactor)))
    for path, digest, _ in files:
        if digest in clean:
            now_clean.append(digest)
            continue
        rows = known[digest] if digest in known else scanned[digest]
        found = [Problem(path, message, line=line, fix=fix) for line, message, fix in rows]
        problems += found
        if found:
            now_found[digest] = [[p.line, p.message, p.fix] for p in found]
        else:
            now_clean.append(digest)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"settings": settings, "clean": sorted(now_clean), "found": now_found}),
                       encoding="utf-8")
        tmp.replace(cache)
    return problems
