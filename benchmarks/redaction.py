"""Redaction benchmark: what the redactor removes and what it leaves, on labelled samples.

The samples (benchmarks/data/redaction_*.txt, zh-Hans, zh-Hant and en) are
written the way case write-ups and complaints are. Every item is marked
`{-kind:text}` (personal: must be removed) or `{+kind:text}` (must stay:
order and invoice numbers, dates, amounts, ordinary words that contain a
name...). `@record` lines give the complaint record the redactor is built
from, as `kb publish` builds it (intake_api/publish.py: name, staff names,
contact, department, position; the privacy settings of kb.yml's defaults).

It prints, per kind, how many items were removed whole (recall: every
letter and digit of the item inside a removed span), the over-redaction
rate (keep items touched by any removed span), the removed spans that start
or end inside a Latin word or number (must be 0), and the removals outside
any labelled item (text nobody marked: look at them with --verbose).

    python benchmarks/redaction.py             # all three files
    python benchmarks/redaction.py --verbose   # list every miss and every over-redaction
    python benchmarks/redaction.py --file my_samples.txt
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb_builder.process_config import PrivacySettings  # noqa: E402
from kb_builder.redact import Redactor  # noqa: E402

DATA = sorted((ROOT / "benchmarks" / "data").glob("redaction_*.txt"))
VARIANTS = sorted((ROOT / "benchmarks" / "data" / "variants").glob("redaction_*.txt"))
STRUCTURED = {"resident_id", "id_card", "passport", "bank_card", "phone", "email", "plate"}
ITEM = re.compile(r"\{([+-])([a-z_]+):(.+?)\}")


@dataclass
class Item:
    start: int
    end: int
    kind: str
    remove: bool


@dataclass
class Sample:
    source: str
    lang: str
    text: str
    items: list[Item]
    record: dict[str, list[str]] = field(default_factory=dict)


def parse(path: Path) -> list[Sample]:
    """Read one sample file; a malformed line stops with its file and line number."""
    samples, lang, record = [], "", {}
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@lang "):
            lang = line.split(None, 1)[1].strip()
            continue
        if line.startswith("@record"):
            record = {}
            for part in line[len("@record"):].split(";"):
                if "=" in part:
                    key, value = part.split("=", 1)
                    record[key.strip()] = [v.strip() for v in value.split(",")] if key.strip() == "staff" else [value.strip()]
            continue
        text, items, pos = "", [], 0
        for m in ITEM.finditer(line):
            text += line[pos:m.start()]
            items.append(Item(len(text), len(text) + len(m.group(3)), m.group(2), m.group(1) == "-"))
            text += m.group(3)
            pos = m.end()
        text += line[pos:]
        if "{" in text and "}" in text:
            raise SystemExit(f"{path}:{no}: an item is not written as {{+kind:text}} or {{-kind:text}}")
        if not items:
            raise SystemExit(f"{path}:{no}: the sample marks no item")
        samples.append(Sample(f"{path.name}:{no}", lang, text, items, dict(record)))
    return samples


def redactor_for(sample: Sample, privacy: PrivacySettings) -> Redactor:
    """Built as intake_api.publish.redactor_for builds it from a complaint."""
    r = sample.record
    return Redactor(names=r.get("name", []) + r.get("staff", []), contacts=r.get("contact", []),
                    departments=r.get("department", []), positions=r.get("position", []),
                    employee_patterns=privacy.employee_patterns, room_patterns=privacy.room_patterns,
                    public=privacy.public_contacts)


def _covered(text: str, item: Item, spans: list[tuple[int, int]]) -> bool:
    return all(any(a <= i < b for a, b in spans) for i in range(item.start, item.end) if text[i].isalnum())


def _word_cut(text: str, a: int, b: int) -> bool:
    def same(x: str, y: str) -> bool:
        return (x.isascii() and y.isascii() and x.isalpha() and y.isalpha()) or (x.isdigit() and y.isdigit())
    return (a > 0 and same(text[a - 1], text[a])) or (b < len(text) and same(text[b - 1], text[b]))


def run(samples: list[Sample], verbose: bool = False) -> dict:
    privacy = PrivacySettings()
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # kind -> [removed, total]
    keep_total = keep_hit = cuts = extra = 0
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # removed, remove items, over, keep items
    misses, overs, extras = [], [], []
    started = time.perf_counter()
    for s in samples:
        findings = redactor_for(s, privacy).find(s.text)
        spans = [(f.start, f.end) for f in findings]
        for it in s.items:
            if it.remove:
                ok = _covered(s.text, it, spans)
                kinds[it.kind][0] += ok
                kinds[it.kind][1] += 1
                by_lang[s.lang][0] += ok
                by_lang[s.lang][1] += 1
                if not ok:
                    misses.append((s.source, it.kind, s.text[it.start:it.end], s.text))
            else:
                touched = any(a < it.end and b > it.start for a, b in spans)
                keep_total += 1
                keep_hit += touched
                by_lang[s.lang][2] += touched
                by_lang[s.lang][3] += 1
                if touched:
                    overs.append((s.source, it.kind, s.text[it.start:it.end], s.text))
        for f in findings:
            cuts += _word_cut(s.text, f.start, f.end)
            if not any(it.remove and it.start < f.end and f.start < it.end for it in s.items):
                extra += 1
                extras.append((s.source, f.kind, f.text, s.text))
    seconds = time.perf_counter() - started
    structured = [sum(kinds[k][0] for k in STRUCTURED if k in kinds), sum(kinds[k][1] for k in STRUCTURED if k in kinds)]
    names = kinds.get("name", [0, 0])
    print(f"{len(samples)} samples ({', '.join(f'{lang} {sum(1 for s in samples if s.lang == lang)}' for lang in sorted(by_lang))}); "
          f"{sum(v[1] for v in kinds.values())} remove items, {keep_total} keep items; "
          f"{seconds * 1000 / max(1, len(samples)):.1f} ms per sample\n")
    print(f"{'kind':<14}{'items':>7}{'removed':>9}{'recall':>9}")
    for kind in sorted(kinds, key=lambda k: (-kinds[k][1], k)):
        got, total = kinds[kind]
        print(f"{kind:<14}{total:>7}{got:>9}{got / total:>9.3f}")
    print()
    print(f"recall, structured identifiers (IDs, cards, phones, e-mail, plates): "
          f"{structured[0]}/{structured[1]} = {structured[0] / max(1, structured[1]):.3f}")
    print(f"recall, person names: {names[0]}/{names[1]} = {names[0] / max(1, names[1]):.3f}")
    print(f"recall, all kinds: {sum(v[0] for v in kinds.values())}/{sum(v[1] for v in kinds.values())} = "
          f"{sum(v[0] for v in kinds.values()) / max(1, sum(v[1] for v in kinds.values())):.3f}")
    print(f"over-redaction: {keep_hit}/{keep_total} keep items touched = {keep_hit / max(1, keep_total):.3%}")
    print(f"spans cutting a Latin word or number: {cuts}")
    print(f"removals outside any labelled item: {extra}")
    for lang, (got, total, over, keep) in sorted(by_lang.items()):
        print(f"  {lang:<8} recall {got}/{total} = {got / max(1, total):.3f}, over-redaction {over}/{keep} = {over / max(1, keep):.2%}")
    if verbose:
        for title, rows in (("missed", misses), ("over-redacted", overs), ("unlabelled removals", extras)):
            print(f"\n{title}:")
            for source, kind, value, text in rows:
                print(f"  {source} [{kind}] {value!r} in {text}")
    return {"structured": structured, "names": names, "over": (keep_hit, keep_total), "cuts": cuts,
            "kinds": dict(kinds), "extra": extra}


def scan_sample_content() -> tuple[int, int, list]:
    """Removals in the shipped sample content (content/): written by HR, no personal data in it, so each is a false one."""
    red = Redactor.for_settings(PrivacySettings())
    lines = findings = 0
    rows = []
    for path in sorted((ROOT / "content").rglob("*.md")):
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            lines += 1
            for f in red.find(line):
                findings += 1
                rows.append((f"{path.relative_to(ROOT)}:{no}", f.kind, f.text, line))
    return lines, findings, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", action="append", type=Path, help="a sample file (default: benchmarks/data/redaction_*.txt)")
    parser.add_argument("--verbose", "-v", action="store_true", help="list misses, over-redactions and unlabelled removals")
    args = parser.parse_args()
    samples = [s for path in (args.file or DATA) for s in parse(path)]
    run(samples, args.verbose)
    if not args.file:
        print("\nvariants (benchmarks/data/variants/: written after the redactor, to check it on text it was not adjusted to):")
        run([s for path in VARIANTS for s in parse(path)], args.verbose)
        lines, findings, rows = scan_sample_content()
        print(f"\nshipped sample content (content/, {lines} lines, no personal data): {findings} removals")
        if args.verbose:
            for source, kind, value, text in rows:
                print(f"  {source} [{kind}] {value!r} in {text}")


if __name__ == "__main__":
    main()
