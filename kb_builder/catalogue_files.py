"""Babel message catalogues kept in step with the words a program uses: one .po per language on disk.

Two sets live in the repository: the API's and workspace's (intake_api/catalogues.py, domain
`messages`) and the site's form and status pages (kb_builder/site_words.py, domain `site`). They
differ only in where the ids come from; reading, checking and updating the files is this one
mechanism, so a rule (no line numbers, sorted entries, English ids as their own translation,
Traditional filled from Simplified for review) holds for both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
# Where a word is used, as a catalogue records it: (file shown from the repository root, line or 0).
Places = Sequence[tuple[str, int]]


def shown(file: Path) -> str:
    """A file as a message names it: from the repository root when it is inside, else in full."""
    return file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else str(file)


class Catalogues:
    """The .po files of one domain, one per language, under `folder/<locale>/LC_MESSAGES/`."""

    def __init__(self, folder: Path, domain: str, locales: Mapping[str, str]):
        self.folder, self.domain, self.locales = folder, domain, dict(locales)

    def path(self, language: str) -> Path:
        return self.folder / self.locales[language] / "LC_MESSAGES" / f"{self.domain}.po"

    def read(self, language: str) -> Catalog:
        file = self.path(language)
        if not file.exists():
            return Catalog(locale=self.locales[language], domain=self.domain)
        with file.open("rb") as source:
            return read_po(source, locale=self.locales[language], domain=self.domain)

    def translations(self, ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """Each language's usable translation of each id (none where it is missing, empty or fuzzy)."""
        out: dict[str, dict[str, str]] = {}
        for language in self.locales:
            catalogue = self.read(language)
            out[language] = {}
            for msgid in sorted(ids):
                entry = catalogue.get(msgid)
                if entry is not None and entry.string and not entry.fuzzy:
                    out[language][msgid] = str(entry.string)
        return out

    def problems(self, found: Mapping[str, Places]) -> list[str]:
        """Each id a catalogue lacks, leaves untranslated or marks fuzzy, named with its file and first use."""
        out = []
        for language in self.locales:
            catalogue, file = self.read(language), shown(self.path(language))
            for msgid, places in sorted(found.items()):
                entry = catalogue.get(msgid)
                where = f"{places[0][0]}:{places[0][1]}" if places[0][1] else places[0][0]
                if entry is None:
                    out.append(f"{file}: no entry for {msgid!r} ({where})")
                elif not entry.string or entry.fuzzy:
                    out.append(f"{file}: {msgid!r} is untranslated or fuzzy ({where})")
        return out

    def update(self, found: Mapping[str, Places], to_traditional: Callable[[str], str],
               seed: Mapping[str, str] | None = None) -> None:
        """Write each catalogue with exactly the ids found, keeping translations.

        An English id is its own English text; a new id's Simplified text comes from `seed`; an empty
        Traditional entry is converted from the Simplified one (a translator reviews what ships).
        Entries are sorted and carry no line numbers, so two branches adding words rarely conflict.
        """
        hans = self.read("zh-Hans")
        for language in self.locales:
            old = self.read(language)
            new = Catalog(locale=self.locales[language], domain=self.domain, project="complaint-kb", charset="utf-8",
                          fuzzy=False, creation_date=old.creation_date, revision_date=old.revision_date)
            for msgid, places in sorted(found.items()):
                entry = old.get(msgid)
                string = str(entry.string) if entry is not None and entry.string and not entry.fuzzy else ""
                if not string and language == "en":
                    string = msgid
                if not string and language == "zh-Hans":
                    string = (seed or {}).get(msgid, "")
                if not string and language == "zh-Hant":
                    simplified = hans.get(msgid)
                    source = simplified.string if simplified is not None and simplified.string else (seed or {}).get(msgid)
                    string = to_traditional(str(source)) if source else ""
                new.add(msgid, string, locations=list(places))
            if language == "zh-Hans":
                hans = new
            file = self.path(language)
            file.parent.mkdir(parents=True, exist_ok=True)
            with file.open("wb") as out:
                write_po(out, new, width=120, sort_output=True, include_lineno=False)
