"""The interface's three languages: which one a request gets, and its words from Babel's message catalogues.

Every word the API and the workspace show is an English message id marked in
the code (`_`, `N_`) or a template (`{{ _("...") }}`), translated by one
catalogue per language, `translations/<locale>/LC_MESSAGES/messages.po`
(zh_Hans, zh_Hant, en). The `.po` files are the source and are committed;
they are compiled in memory when first used (Babel's read_po + write_mo, a few
milliseconds), so there is no `.mo` to rebuild after an edit and none to go
stale in a checkout. tests/test_i18n.py extracts every message id from the
code and templates and fails when a catalogue lacks one.

The language is a context variable rather than Flask-Babel's request-bound
locale because the desk and the worker speak too, outside any request: a
request sets it from its visitor (init_app), a notification from its
recipient (`speaking`). Names that come from configuration (categories, teams,
departments: `zh` and `en` in kb.yml) are data, not catalogue entries:
`pick` shows them, zh-Hant converted from the Simplified text by OpenCC.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
DEFAULT_LANGUAGE = "zh-Hans"
NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}
# The language tags of the three catalogues' directories (Babel's locale identifiers).
LOCALES = {"zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant", "en": "en"}
CATALOGUES = Path(__file__).parent / "translations"
DOMAIN = "messages"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("kb_language", default=DEFAULT_LANGUAGE)


def language_of(tag: str) -> str:
    """One of LANGUAGES for a language tag: zh-TW and zh-HK read Traditional, en-GB English, the rest zh-Hans."""
    return supported(tag) or DEFAULT_LANGUAGE


def supported(tag: str | None) -> str | None:
    """The language of LANGUAGES a tag asks for, or None for a language the interface does not speak (fr, ja)."""
    if not tag:
        return None
    if tag in LANGUAGES:
        return tag
    low = tag.strip().lower().replace("_", "-")
    if low == "zh" or low.startswith("zh-") and not low.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh-Hans"
    if low.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh-Hant"
    if low == "en" or low.startswith("en-"):
        return "en"
    return None


def best_of(accept: list[tuple[str, float]] | None) -> str:
    """The first language of an Accept-Language list (tag, quality; best first) that the interface speaks."""
    ranked = sorted(accept or [], key=lambda pair: -pair[1])
    for tag, quality in ranked:
        lang = supported(tag)
        if lang and quality > 0:
            return lang
    return DEFAULT_LANGUAGE


def from_environment(environ=None) -> str:
    """The command line's language: the POSIX locale, as gettext programs read it (C and POSIX: the default)."""
    import os

    environ = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = (environ.get(name) or "").split(":")[0].split(".")[0]
        if value and value not in ("C", "POSIX"):
            return language_of(value)
    return DEFAULT_LANGUAGE


def current() -> str:
    return _current.get()


def use(language: str) -> None:
    """The language of what follows in this context (a request sets it once, first thing)."""
    _current.set(language_of(language))


@contextlib.contextmanager
def speaking(language: str) -> Iterator[str]:
    """Words in another language for a while: a notification in its recipient's language."""
    token = _current.set(language_of(language))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


@cache
def catalogue(language: str) -> Translations:
    """One language's compiled catalogue, from its .po file (compiled in memory, once per process)."""
    path = CATALOGUES / LOCALES[language] / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as source:
        compiled = io.BytesIO()
        write_mo(compiled, read_po(source, locale=LOCALES[language], domain=DOMAIN))
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(message: str, **variables: object) -> str:
    """`message` in the current language; `%(name)s` placeholders filled from `variables`."""
    text = catalogue(current()).ugettext(message)
    return text % variables if variables else text


_ = gettext


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = catalogue(current()).ungettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


def stored(message: str, **variables: object) -> str:
    """A message kept in the database (an alert): in the default language, whoever's request raised it."""
    with speaking(DEFAULT_LANGUAGE):
        return gettext(message, **variables)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark for extraction, translate later")
    """Mark a message id for the catalogues where it is defined; it is translated where it is shown."""
    return message


def pick(value) -> str:
    """A label in the current language: a message id from the catalogue, or a configured (zh, en) pair."""
    if isinstance(value, str):
        return gettext(value)
    zh, en = value
    from .notices import localize

    return localize(zh, en, current())


def init_app(app) -> None:
    """Each request speaks its visitor's language; templates get `_`, `ngettext` and the language.

    The API follows Accept-Language (the site's form sends the visitor's
    choice there). The workspace also remembers a choice made with its
    switcher (`?lang=`) in the session, which wins over the browser's.
    """
    from flask import request, session

    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)

    @app.before_request
    def _language():
        chosen = None
        if request.path == "/staff" or request.path.startswith("/staff/"):
            asked = supported(request.args.get("lang"))
            if asked:
                session["lang"] = asked
            chosen = supported(session.get("lang"))
        use(chosen or best_of(list(request.accept_languages)))

    @app.after_request
    def _vary(response):
        response.vary.add("Accept-Language")
        response.headers.setdefault("Content-Language", current())
        return response

    @app.context_processor
    def _words():
        return {"lang": current(), "LANGUAGES": LANGUAGES, "LANGUAGE_NAMES": NAMES}
