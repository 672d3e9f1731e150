"""Run MkDocs on a prepared docs tree (the last stage of a build)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
from pathlib import Path

from mkdocs.plugins import BasePlugin

from .analysis import to_traditional
from .config import KbConfig
from .errors import BuildError
from .markup import sanitize
from .site_search import STUB as SEARCH_INDEX
from .site_search import SiteSearch, load_state

__all__ = ["SEARCH_INDEX", "build_site", "read_policy"]

# The script hashes the site's Content-Security-Policy allows (kb serve sends them;
# another web server serving site/ should too). Dot files are never served.
CSP_FILE = ".kb-csp.json"
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.S | re.I)
_ARTICLE = re.compile(r"<article\b.*?</article>", re.S | re.I)
_DATA_TYPE = re.compile(r"""type\s*=\s*["']?application/(?:ld\+)?json""", re.I)


def _hashes_of(html: str) -> set[str]:
    """CSP hashes of a page's inline scripts outside its <article>.

    An inline script inside an article is content (the sanitiser removes them
    all), and hashing it would allow exactly what the policy exists to stop.
    """
    out = set()
    for attrs, body in _INLINE_SCRIPT.findall(_ARTICLE.sub("", html)):
        if _DATA_TYPE.search(attrs):
            continue  # a data block (the theme's __config JSON), never executed
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        out.add(f"'sha256-{digest}'")
    return out


_HTML_LANG = re.compile(r'<html\b([^>]*?)\blang="[^"]*"')


def _content_language(output: str, language: str | None) -> str:
    """An article's page says the language it is written in (the theme's `lang` is the interface's, `zh`).

    Screen readers pick their voice and browsers their translation offer from
    it; an English article marked `zh` is read out in a Chinese voice.
    """
    if not language:
        return output
    return _HTML_LANG.sub(lambda m: f'<html{m.group(1)}lang="{language}" data-kb-content-language="{language}"',
                          output, count=1)


class SitePolicy(BasePlugin):
    """Sanitise every generated page and collect the theme's inline-script hashes.

    Articles are Markdown, and Markdown allows raw HTML: a case drafted from a
    complaint could carry an employee's `<script>`. Whatever the source holds,
    the rendered article keeps only document markup (markup.sanitize); a page
    drafted from a complaint (`origin: complaint`) also loses every link and
    image that leaves the site. The search index is built from this HTML, so
    it is clean too. The pages as written are then scanned for the theme's
    inline scripts, whose hashes the site's Content-Security-Policy allows
    (no 'unsafe-inline').
    """

    def __init__(self):
        self.hashes: set[str] = set()

    def on_page_content(self, html, page, config, files):
        if not page.file.src_uri.startswith(("faq/", "sop/")):
            return with_traditional(html)  # hand-written pages of docs/ (the form, the status page)
        return sanitize(html, local_links=(page.meta or {}).get("kb_origin") == "complaint")

    def on_post_page(self, output, page, config):
        output = _content_language(output, (page.meta or {}).get("kb_language"))
        self.hashes |= _hashes_of(output)
        return output

    def on_post_template(self, output_content, template_name, config):
        self.hashes |= _hashes_of(output_content)
        return output_content


# A hand-written sentence in Simplified Chinese (docs/*.md marks each language: kb-zh, kb-en), with no element
# of its own kind inside it (a link may be).
_SIMPLIFIED = re.compile(r'<(p|span) class="kb-zh" lang="zh-Hans">(.*?)</\1>', re.S)


def with_traditional(html: str) -> str:
    """Each Simplified sentence of a hand-written page followed by its Traditional copy (analysis.to_traditional).

    The page is written in two languages; a Traditional-Chinese visitor gets the third without anyone writing
    it (kb.css shows the visitor's). Markup and links pass through unchanged: OpenCC converts Chinese only.
    """
    if 'class="kb-zh"' not in html:
        return html
    return _SIMPLIFIED.sub(lambda m: f'{m.group(0)}<{m.group(1)} class="kb-zh-hant" lang="zh-Hant">'
                                     f'{to_traditional(m.group(2))}</{m.group(1)}>', html)


def write_policy(site_dir: Path, hashes: set[str], dirty: bool) -> list[str]:
    """Store the allowed script hashes in the site (a dirty build keeps the pages it did not rebuild)."""
    path = site_dir / CSP_FILE
    if dirty and path.is_file():
        hashes = hashes | set(json.loads(path.read_text(encoding="utf-8")).get("script_hashes", []))
    ordered = sorted(hashes)
    path.write_text(json.dumps({"script_hashes": ordered}), encoding="utf-8")
    return ordered


def read_policy(site_dir: Path) -> list[str]:
    path = site_dir / CSP_FILE
    try:
        return list(json.loads(path.read_text(encoding="utf-8")).get("script_hashes", []))
    except (OSError, ValueError):
        return []




class _DirtyNotice(logging.Filter):
    """Drop MkDocs' warning about dirty builds: ours rebuild on any nav or theme change."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'dirty' build" not in record.getMessage()


def category_labels(config: KbConfig) -> dict[str, dict[str, str]]:
    """Each category's name as built (Simplified) -> its Traditional and English names, for language.js.

    The nav, titles and lists show kb.yml's `zh`; a visitor reading another language sees the same
    conversion the API's labels get (analysis.to_traditional) or kb.yml's `en`.
    """
    return {c.zh: {"zh-Hant": to_traditional(c.zh), "en": c.en} for c in config.categories}


class TemplateCache(BasePlugin):
    """Keep the theme's compiled templates between builds (Jinja's bytecode cache).

    MkDocs makes a new Jinja environment for every build, which compiles
    Material's templates again: 0.5 s of a one-article rebuild. Jinja checks
    each template's source against its cached code; the folder is named after
    the versions of MkDocs, the theme and Jinja, whose settings the code was
    compiled under.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def on_env(self, env, config, files):
        from importlib.metadata import version

        from jinja2 import FileSystemBytecodeCache

        versions = "-".join(version(p) for p in ("mkdocs", "mkdocs-material", "jinja2"))
        folder = self.folder / versions
        folder.mkdir(parents=True, exist_ok=True)
        env.bytecode_cache = FileSystemBytecodeCache(str(folder))
        return env


def build_site(config: KbConfig, docs_dir: Path, site_dir: Path, nav: list, strict: bool = False,
               build_date: int | None = None, dirty: bool = False, synonyms=None,
               records_dir: Path | None = None, removed: frozenset[str] | set[str] = frozenset(),
               template_cache: Path | None = None) -> None:
    """Build the static site from docs_dir into site_dir with the project's mkdocs.yml.

    dirty: site_dir already holds the previous site (mtimes kept); only pages
    whose source is newer are rebuilt, and the site search's records of the
    others come from the live index folder. records_dir: where this build's
    records go (the new index folder; default: beside site_dir). template_cache:
    a folder kept between builds for the theme's compiled templates (TemplateCache).
    """
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    if build_date is not None:
        # MkDocs stamps the sitemap with the build date; a date derived from the
        # content makes the same content build to the same bytes.
        os.environ["SOURCE_DATE_EPOCH"] = str(build_date)
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        cfg = load_config(config_file=str(config.mkdocs_config), docs_dir=str(docs_dir),
                          site_dir=str(site_dir), nav=nav, strict=strict)
        cfg["extra"]["kb_api_base"] = config.site.api_base_url
        cfg["extra"]["kb_labels"] = category_labels(config)
        policy = SitePolicy()
        cfg.plugins["kb-site-policy"] = policy
        if template_cache is not None:
            cfg.plugins["kb-template-cache"] = TemplateCache(template_cache)
        previous, state = load_state(config.index_dir) if dirty else ({}, None)
        cfg.plugins["kb-site-search"] = SiteSearch(
            config.site.api_base_url.rstrip("/") + "/api/v1/search", records_dir or site_dir.parent,
            previous, set(removed), synonyms, state)
        notice = _DirtyNotice()
        logging.getLogger("mkdocs.commands.build").addFilter(notice)
        try:
            build(cfg, dirty=dirty)
        finally:
            logging.getLogger("mkdocs.commands.build").removeFilter(notice)
        write_policy(site_dir, policy.hashes, dirty)
    except MkDocsException as exc:
        raise BuildError(f"mkdocs build failed ({config.mkdocs_config}): {exc}") from None
    except SystemExit as exc:  # mkdocs aborts in strict mode by raising Abort (a SystemExit)
        raise BuildError(f"mkdocs build failed in strict mode: {exc}") from None
