"""Text from outside made inert: escaped for Markdown, sanitised as HTML.

Everything an employee typed (complaints, search texts, event fields) is
hostile. Two tools, used wherever such text meets Markdown or HTML:

- `md_text` escapes a value placed into Markdown so Python-Markdown renders
  exactly the characters written: no HTML, no link, no emphasis.
- `sanitize` runs rendered HTML through nh3 (the Ammonia sanitiser) with an
  allowlist of what Markdown and the theme produce. No script, no event
  handler, no style, no `javascript:`; with `local_links` also no off-site
  link or image, which is the rule for text that came from a complaint.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

# Python-Markdown's backslash-escapable characters (markdown.Markdown.ESCAPED_CHARS),
# plus `|` for table cells. `<` and `&` are turned into entities instead: Markdown
# has no backslash escape for them.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")


def md_text(text: object) -> str:
    """`text` as Markdown that renders to exactly that text, on one line."""
    value = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(value, quote=False))


TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "nav", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
}
ATTRIBUTES = {
    "*": {"class", "id", "title", "lang"},
    "a": {"href", "hreflang"},  # hreflang: the article's language (the site lists a visitor's own first)
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "details": {"open"},
    "ol": {"start"},
    # An article's breadcrumbs (pages.py) name themselves to screen readers; they and the related articles
    # stay out of the site search (Material's data-search-exclude), or every page would match its neighbours.
    "nav": {"aria-label", "data-search-exclude"},
    "div": {"data-search-exclude"},
    "time": {"datetime"},
}
SCHEMES = {"http", "https", "mailto", "tel"}
# Removed with their content, not unwrapped.
DROP_WITH_CONTENT = {"script", "style", "template", "iframe", "object", "embed", "noscript", "svg", "math"}


def _is_local(url: str) -> bool:
    """A link within the site: relative, or absolute path, never another host or scheme."""
    url = url.strip()
    if url.startswith(("//", "\\")) or "\\" in url:
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def _filter(local_links: bool, data_images: bool):
    def keep(tag: str, attr: str, value: str) -> str | None:
        if value.strip().lower().startswith("data:"):
            # Only the review's own charts: PNG images, never a data: link or document.
            return value if data_images and tag == "img" and attr == "src" and value.startswith(
                "data:image/png;base64,") else None
        # Element ids starting with "__" belong to the theme (__config, __search...):
        # content must not clobber them.
        if attr == "id" and value.startswith("__"):
            return None
        if local_links and attr in ("href", "src") and not _is_local(value):
            return None
        return value
    return keep


def sanitize(fragment: str, local_links: bool = False, data_images: bool = False) -> str:
    """Rendered HTML with everything but plain document markup removed.

    data_images: keep inline PNG images (the review's charts in its one-file HTML).
    """
    schemes = SCHEMES | {"data"} if data_images else SCHEMES
    return nh3.clean(fragment, tags=TAGS, clean_content_tags=DROP_WITH_CONTENT, attributes=ATTRIBUTES,
                     attribute_filter=_filter(local_links, data_images), url_schemes=schemes, strip_comments=True,
                     link_rel="noopener noreferrer nofollow" if not local_links else None)
