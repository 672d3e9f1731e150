"""Render the generated Markdown pages (FAQ, category indexes, SOPs) and the navigation, in memory."""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

import yaml

from .articles import Article
from .config import KbConfig
from .markup import md_text
from .memo import Memo

# Generated folders inside the docs tree; everything else in docs/ is hand-written.
GENERATED = ("faq", "sop")

LABELS = {
    "zh-Hans": {"asked": "员工常这样问", "resolved": "解决于", "category": "分类",
                "unsolved": "没有解决你的问题？", "submit": "提交投诉"},
    "zh-Hant": {"asked": "員工常這樣問", "resolved": "解決於", "category": "分類",
                "unsolved": "沒有解決你的問題？", "submit": "提交投訴"},
    "en": {"asked": "How people ask", "resolved": "Resolved on", "category": "Category",
           "unsolved": "Not solved?", "submit": "Submit a complaint"},
}


# libyaml's dumper where PyYAML has it: the same text, ten times faster (every page's front
# matter is written on every build: 6 s of a one-article rebuild at 10,000 articles).
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _front_matter(data: dict) -> str:
    return "---\n" + yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=True) + "---\n\n"


_esc = md_text  # text placed into Markdown renders as written: never HTML, a link or emphasis


def _attr(text: str) -> str:
    """A title or tag handed to MkDocs, which prints page titles, nav labels and tags unescaped."""
    return html.escape(text, quote=True)


def _body(art: Article) -> str:
    """HR's Markdown as written; a complaint's text with any HTML in it shown as text.

    Either way the rendered page is sanitised again (site_hooks.py).
    """
    return html.escape(art.body, quote=False) if art.origin == "complaint" else art.body


def _from(art: Article) -> str:
    """The form's fragment for "Not solved?": the article, its category and title (kb.js fills the form)."""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in
                    (("from", art.id), ("category", art.category), ("title", art.title)))


def _case_page(art: Article, config: KbConfig) -> str:
    lab = LABELS[art.language]
    cat = config.category(art.category)
    meta = {"title": _attr(art.title), "tags": [_attr(t) for t in art.tags], "kb_id": art.id,
            "kb_category": art.category, "kb_origin": art.origin, "search": {"boost": 2},
            "kb_language": art.language}
    questions = "\n".join(f"    - {_esc(q)}" for q in art.questions)
    resolved = art.resolved.isoformat() if art.resolved else ""  # a case always has one (CaseMeta)
    return (
        _front_matter(meta)
        + f'{lab["category"]}：[{_esc(cat.zh)} · {_esc(cat.en)}](index.md) · '
        + f'{lab["resolved"]} {resolved}\n{{ .kb-meta }}\n\n'
        + f'!!! question "{lab["asked"]}"\n\n{questions}\n\n'
        + _body(art)
        + f'\n---\n\n**{lab["unsolved"]}** [{lab["submit"]}](../../complaint.md#{_from(art)}){{ .md-button }}\n'
    )


def _sop_page(art: Article) -> str:
    meta = {"title": _attr(art.title), "tags": [_attr(t) for t in art.tags], "kb_id": art.id,
            "kb_category": art.category, "kb_origin": art.origin, "kb_language": art.language}
    return _front_matter(meta) + _body(art)


def _category_page(cat_id: str, arts: list[Article], config: KbConfig) -> str:
    cat = config.category(cat_id)
    # Each link says its article's language: the site's script lists a visitor's own language first.
    lines = [f"- [{_esc(a.title)}]({Path(a.page).name}){{ hreflang={a.language} lang={a.language} }}" for a in arts]
    return (_front_matter({"title": _attr(f"{cat.zh} · {cat.en}")})
            + f"共 {len(arts)} 篇 · {len(arts)} articles\n\n" + "\n".join(lines) + "\n")


def _faq_index(by_cat: dict[str, list[Article]], config: KbConfig) -> str:
    rows = [f"- [{_esc(c.zh)} · {_esc(c.en)}]({c.id}/index.md) ({len(by_cat[c.id])})"
            for c in config.categories if by_cat.get(c.id)]
    return (_front_matter({"title": "常见问题 · FAQ"})
            + "按分类浏览已解决的问题。找不到答案？先用页面顶部的搜索，"
              "或[提交投诉](../complaint.md)。\n\n"
              "Browse resolved problems by category, or search at the top of the page.\n\n"
            + "\n".join(rows) + "\n")


def _sop_index(sops: list[Article]) -> str:
    lines = [f"- [{_esc(a.title)}]({Path(a.page).name})" for a in sops]
    return _front_matter({"title": "办事指南 · Procedures"}) + "\n".join(lines) + "\n"


def _tags_page(articles: list[Article]) -> str:
    """Every tag with the articles that carry it (generated, so incremental builds keep it whole)."""
    by_tag: dict[str, list[Article]] = defaultdict(list)
    for art in articles:
        for tag in art.tags:
            by_tag[tag].append(art)
    parts = [_front_matter({"title": "标签 · Tags"})]
    for tag in sorted(by_tag):
        parts.append(f"## {_esc(tag)}\n\n" + "\n".join(
            f"- [{_esc(a.title)}](../{a.page})" for a in sorted(by_tag[tag], key=lambda a: a.id)) + "\n\n")
    return "".join(parts)


def render_pages(articles: list[Article], config: KbConfig, memo: Memo | None = None) -> dict[str, str]:
    """Every generated page, by its path relative to the docs folder.

    With a memo, an article's page is rendered only when its file changed
    (the pages that list articles are always rendered: any change may touch them).
    """
    pages: dict[str, str] = {}
    by_cat: dict[str, list[Article]] = defaultdict(list)
    sops = []
    for art in articles:
        kept = memo.of(art.source) if memo is not None else {}
        if art.kind == "case":
            by_cat[art.category].append(art)
        else:
            sops.append(art)
        if "page" not in kept:
            kept["page"] = _case_page(art, config) if art.kind == "case" else _sop_page(art)
        pages[art.page] = kept["page"]
    for cat_id, arts in by_cat.items():
        pages[f"faq/{cat_id}/index.md"] = _category_page(cat_id, sorted(arts, key=lambda a: a.title), config)
    pages["faq/index.md"] = _faq_index(by_cat, config)
    pages["sop/index.md"] = _sop_index(sorted(sops, key=lambda a: a.id))
    pages["faq/tags.md"] = _tags_page(articles)
    return pages


def navigation(articles: list[Article], config: KbConfig) -> list:
    """The site's nav: home, categories (case pages are reached from them), SOPs, the form.

    Case pages stay out of the nav so a large knowledge base does not embed
    thousands of links in every page (measured: 5,000 pages built in 184 s -> 40 s).
    """
    cats = {a.category for a in articles if a.kind == "case"}
    faq = [{"常见问题 · FAQ": "faq/index.md"}] + [
        {_attr(f"{c.zh} · {c.en}"): f"faq/{c.id}/index.md"} for c in config.categories if c.id in cats]
    sops = [{"总览 · Overview": "sop/index.md"}] + [
        {_attr(a.title): a.page} for a in sorted(articles, key=lambda a: a.id) if a.kind == "sop"]
    return [
        {"首页 · Home": "index.md"},
        {"常见问题 · FAQ": faq},
        {"办事指南 · Procedures": sops},
        {"提交投诉 · Complain": "complaint.md"},
        {"查询进度 · Status": "status.md"},
        {"标签 · Tags": "faq/tags.md"},
    ]
