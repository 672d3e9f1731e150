"""The message catalogues kept in step with the code: extract every message id, update each language's .po.

    .venv/bin/python -m intake_api.catalogues          # after adding or changing a message
    .venv/bin/python -m intake_api.catalogues --check  # what tests/test_i18n.py asserts

Extraction is Babel's (Python and Jinja templates, the keywords `_`,
`gettext`, `ngettext`, `N_`, `stored`). A new message id lands in every
catalogue with an empty translation, which --check (and the test) reports
until someone writes it; an id the code no longer uses is dropped. zh_Hant
entries left empty are filled from zh_Hans through OpenCC (s2twp, the same
conversion the notification templates get): a translator then reviews the
words, as the catalogue is what ships.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from .i18n import CATALOGUES, DOMAIN, LANGUAGES, LOCALES

PACKAGE = Path(__file__).parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "stored": None}
METHODS = [("**/migrations/**", "ignore"), ("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extract() -> dict[str, list[tuple[str, int]]]:
    """Every message id in the package, with the places that use it."""
    found: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(PACKAGE), METHODS, keywords=KEYWORDS, options_map=OPTIONS):
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                found.setdefault(msgid, []).append((filename, lineno))
    return found


def path(language: str) -> Path:
    return CATALOGUES / LOCALES[language] / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(language: str) -> Catalog:
    file = path(language)
    if not file.exists():
        return Catalog(locale=LOCALES[language], domain=DOMAIN)
    with file.open("rb") as source:
        return read_po(source, locale=LOCALES[language], domain=DOMAIN)


def problems(found: dict[str, list[tuple[str, int]]] | None = None) -> list[str]:
    """Each message id a catalogue lacks, leaves untranslated or marks fuzzy, named with where the code uses it."""
    found = extract() if found is None else found
    out = []
    for language in LANGUAGES:
        catalogue = read(language)
        for msgid, places in sorted(found.items()):
            entry = catalogue.get(msgid)
            where = f"{places[0][0]}:{places[0][1]}"
            if entry is None:
                out.append(f"{path(language).relative_to(CATALOGUES.parent)}: no entry for {msgid!r} ({where})")
            elif not entry.string or entry.fuzzy:
                out.append(f"{path(language).relative_to(CATALOGUES.parent)}: {msgid!r} is untranslated or fuzzy ({where})")
    return out


def _traditional(text: str) -> str:
    from .notices import localize

    return localize(text, text, "zh-Hant")


def update(seed: dict[str, str] | None = None) -> None:
    """Write each catalogue with exactly the extracted ids, keeping translations (seed: Simplified for new ids)."""
    found = extract()
    hans = read("zh-Hans")
    for language in LANGUAGES:
        old = read(language)
        new = Catalog(locale=LOCALES[language], domain=DOMAIN, project="complaint-kb", charset="utf-8",
                      fuzzy=False, creation_date=old.creation_date, revision_date=old.revision_date)
        for msgid, places in sorted(found.items()):
            entry = old.get(msgid)
            string = entry.string if entry is not None and not entry.fuzzy else ""
            if not string and language == "en":
                string = msgid
            if not string and language == "zh-Hans" and seed:
                string = seed.get(msgid, "")
            if not string and language == "zh-Hant":
                simplified = hans.get(msgid)
                source = simplified.string if simplified is not None and simplified.string else (seed or {}).get(msgid)
                string = _traditional(str(source)) if source else ""
            new.add(msgid, string, locations=_relative(places))
        if language == "zh-Hans":
            hans = new
        file = path(language)
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("wb") as out:
            write_po(out, new, width=120, sort_output=True, include_lineno=False)  # no line numbers: fewer conflicts


def _relative(places: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(f"intake_api/{name}", line) for name, line in places]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report missing translations, change nothing")
    parser.add_argument("--seed", type=Path, help="a JSON file of English id -> Simplified Chinese for new ids")
    args = parser.parse_args(argv)
    if not args.check:
        seed = None
        if args.seed:
            import json

            seed = json.loads(args.seed.read_text(encoding="utf-8"))
        update(seed)
    missing = problems()
    for line in missing:
        print(line, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
