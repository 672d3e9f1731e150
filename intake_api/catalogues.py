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
from pathlib import Path

from babel.messages.extract import extract_from_dir

from kb_builder.catalogue_files import Catalogues

from .i18n import CATALOGUES, DOMAIN, LOCALES

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
                found.setdefault(msgid, []).append((f"intake_api/{filename}", lineno))
    return found


def files() -> Catalogues:
    """The API's catalogues (read at call time, so a test can point CATALOGUES at a copy)."""
    return Catalogues(CATALOGUES, DOMAIN, LOCALES)


def path(language: str) -> Path:
    return files().path(language)


def problems(found: dict[str, list[tuple[str, int]]] | None = None) -> list[str]:
    """Each message id a catalogue lacks, leaves untranslated or marks fuzzy, named with where the code uses it."""
    return files().problems(extract() if found is None else found)


def _traditional(text: str) -> str:
    from .notices import localize

    return localize(text, text, "zh-Hant")


def update(seed: dict[str, str] | None = None) -> None:
    """Write each catalogue with exactly the extracted ids, keeping translations (seed: Simplified for new ids)."""
    files().update(extract(), _traditional, seed)


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
