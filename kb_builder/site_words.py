"""The site's own words (the form, the status page) in three languages, from Babel catalogues to one script.

    .venv/bin/python -m kb_builder.site_words --write   # after changing a word in docs/ or the site's scripts
    .venv/bin/python -m kb_builder.site_words --check   # what tests/test_site_words.py asserts

The hand-written pages mark a word with its English id (`data-kb-t`,
`data-kb-placeholder`) and show the Simplified Chinese until the script runs;
the scripts call `kbT("English id", {name: value})`. Each language's
translations live in `kb_builder/translations/<locale>/LC_MESSAGES/site.po`
(the same kind of catalogue as the API's), and --write turns the three into
docs/assets/javascripts/words.js, which the site loads before language.js.
The file is committed like the config reference: the site is static and
needs no Python to show it. An id with no translation in a catalogue fails
--check, naming the catalogue and the id.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

from .catalogue_files import ROOT, Catalogues, shown

DOCS = ROOT / "docs"
SCRIPT = DOCS / "assets" / "javascripts" / "words.js"
CATALOGUES = Path(__file__).parent / "translations"
LOCALES = {"zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant", "en": "en"}
DOMAIN = "site"
_MARKUP = re.compile(r'data-kb-(?:t|placeholder)="([^"]+)"')
_SCRIPT = re.compile(r'\bkb[TN]\("((?:[^"\\]|\\.)+)"')
# The builder's own words on the site (nav, titles of generated pages): `site_word("English id")`.
BUILDER = Path(__file__).with_name("pages.py")
_BUILDER = re.compile(r"""\bsite_word\(["']([^"'\\]+)["']\)""")
# A hand-written page's title as an id (front matter `kb_title: English id`): its nav entry and heading.
_TITLE = re.compile(r"^kb_title: (.+)$", re.M)
# The theme's own words (search box, table of contents, footer, copy buttons) come from the theme's own
# translations, one partial per language in mkdocs-material: the site is built in Simplified Chinese and
# the visitor's script swaps them (language.js), so nobody re-translates what the theme already has.
MATERIAL_LANGUAGES = {"zh-Hans": "zh", "zh-Hant": "zh-Hant", "en": "en"}


def extract(docs: Path = DOCS) -> dict[str, str]:
    """Every word id of the site's pages and scripts, with the first file that uses it."""
    found: dict[str, str] = {}
    for path in sorted(docs.rglob("*.md")) + sorted((docs / "assets" / "javascripts").glob("*.js")):
        if path == SCRIPT:
            continue
        text = path.read_text(encoding="utf-8")
        pattern = _SCRIPT if path.suffix == ".js" else _MARKUP
        for match in pattern.finditer(text):
            word = json.loads(f'"{match.group(1)}"') if path.suffix == ".js" else match.group(1)
            found.setdefault(word, path.relative_to(docs.parent).as_posix())
        if path.suffix == ".md" and text.startswith("---"):
            for match in _TITLE.finditer(text.split("\n---", 1)[0]):
                found.setdefault(match.group(1).strip(), path.relative_to(docs.parent).as_posix())
    for match in _BUILDER.finditer(BUILDER.read_text(encoding="utf-8")):
        found.setdefault(match.group(1), BUILDER.relative_to(ROOT).as_posix())
    return found


def site_word(word: str) -> str:
    """A word of the builder's pages as the site is built (Simplified Chinese); the visitor's script translates it."""
    return _simplified().get(word, word)


@lru_cache(maxsize=1)
def _simplified() -> dict[str, str]:
    return files().translations(list(extract()))["zh-Hans"]


def theme_words() -> dict[str, dict[str, str]]:
    """The theme's words in each language, from mkdocs-material's own language partials: {key: {language: text}}."""
    import material

    folder = Path(material.__file__).parent / "templates" / "partials" / "languages"
    tables = {lang: _material_table(folder / f"{code}.html") for lang, code in MATERIAL_LANGUAGES.items()}
    keys = [k for k in tables["zh-Hans"] if k != "language" and not k.startswith("search.config")
            and all(k in table for table in tables.values())]
    return {k: {lang: tables[lang][k] for lang in tables} for k in sorted(keys)}


def _material_table(path: Path) -> dict[str, str]:
    """The dictionary literal of a partial's `t(key)` macro (JSON, as the theme generates it)."""
    text = path.read_text(encoding="utf-8")
    return json.loads(text[text.index("{{ {") + 3:text.rindex("}[key]") + 1])


def files() -> Catalogues:
    """The site's catalogues (read at call time, so a test can point CATALOGUES at a copy)."""
    return Catalogues(CATALOGUES, DOMAIN, LOCALES)


def path(language: str) -> Path:
    return files().path(language)


def words() -> dict[str, dict[str, str]]:
    """Each language's translations of the extracted ids (what words.js holds)."""
    return files().translations(list(extract()))


def render() -> str:
    table = json.dumps(words(), ensure_ascii=False, sort_keys=True, indent=1)
    theme = json.dumps(theme_words(), ensure_ascii=False, sort_keys=True, indent=1)
    return ("/* Generated by `python -m kb_builder.site_words --write` from the site.po catalogues in kb_builder/translations"
            " and mkdocs-material's language partials: do not edit. */\nwindow.kbWords = " + table + ";\n"
            "window.kbThemeWords = " + theme + ";\n")


def problems() -> list[str]:
    """Ids a catalogue lacks, and words.js out of date: each named with the file to fix."""
    out = files().problems({word: [(where, 0)] for word, where in extract().items()})
    if not SCRIPT.is_file() or SCRIPT.read_text(encoding="utf-8") != render():
        out.append(f"{shown(SCRIPT)} is out of date: run python -m kb_builder.site_words --write")
    return out


def update(seed: dict[str, str] | None = None) -> None:
    """Each catalogue with exactly the extracted ids, translations kept (seed: Simplified for new ids)."""
    from .analysis import to_traditional  # as the API's catalogues and labels are converted

    files().update({word: [(where, 0)] for word, where in extract().items()}, to_traditional, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the catalogues and words.js")
    parser.add_argument("--check", action="store_true", help="report what is missing or stale, change nothing")
    parser.add_argument("--seed", type=Path, help="a JSON file of English id -> Simplified Chinese for new ids")
    args = parser.parse_args(argv)
    if args.write:
        update(json.loads(args.seed.read_text(encoding="utf-8")) if args.seed else None)
        SCRIPT.write_text(render(), encoding="utf-8")
    missing = problems()
    for line in missing:
        print(line, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
