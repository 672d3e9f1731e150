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


def scan_file(path: Path, redactor: Redactor) -> list[Problem]:
    problems = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for f in redactor.find(line):
            problems.append(Problem(
                path, f"{WHAT.get(f.kind, f.kind)} ({f.kind}, column {f.start + 1}) would be removed by redaction",
                line=no, fix=f"delete it or write {PLACEHOLDERS[f.kind]} in its place"))
    return problems


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
    for path in (folder / name for name in names):
        data = contents.get(path) if contents is not None else None
        digest = hashlib.sha256(path.read_bytes() if data is None else data).hexdigest()
        if digest in clean:
            now_clean.append(digest)
            continue
        if digest in known:
            found = [Problem(path, message, line=line, fix=fix) for line, message, fix in known[digest]]
        else:
            found = scan_file(path, redactor)
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
