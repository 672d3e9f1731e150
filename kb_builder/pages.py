"""Render the generated Markdown pages (FAQ, category indexes, SOPs) and the navigation, in memory."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

import yaml

from .articles import Article
from .config import KbConfig
from .errors import Problem
from .markup import md_text
from .memo import Memo, digest
from .site_words import site_word

# Generated folders inside the docs tree; everything else in docs/ is hand-written.
GENERATED = ("faq", "sop")

LABELS = {
    "zh-Hans": {"asked": "员工常这样问", "resolved": "解决于", "category": "分类",
                "unsolved": "没有解决你的问题？", "submit": "提交投诉", "home": "首页", "faq": "常见问题",
                "breadcrumbs": "所在位置", "updated": "最后更新", "related": "相关文章"},
    "zh-Hant": {"asked": "員工常這樣問", "resolved": "解決於", "category": "分類",
                "unsolved": "沒有解決你的問題？", "submit": "提交投訴", "home": "首頁", "faq": "常見問題",
                "breadcrumbs": "所在位置", "updated": "最後更新", "related": "相關文章"},
    "en": {"asked": "How people ask", "resolved": "Resolved on", "category": "Category",
           "unsolved": "Not solved?", "submit": "Submit a complaint", "home": "Home", "faq": "FAQ",
           "breadcrumbs": "Breadcrumbs", "updated": "Last updated", "related": "Related articles"},
}
RELATED = 3  # related articles under each case page
COMMON_WORD = 50  # a word shared by more articles than this says nothing about two of them being related
# The home page's hand-written text keeps this line where the build puts the most helpful articles and the
# categories (docs/index.md).
HOME_MARKER = "<!-- kb:home-lists -->"


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


def _case_page(art: Article, config: KbConfig, related: list[Article] = ()) -> str:  # type: ignore[assignment]
    lab = LABELS[art.language]
    cat = config.category(art.category)
    cat_name = cat.en if art.language == "en" else cat.zh
    crumbs = (f'<nav class="kb-breadcrumbs" aria-label="{lab["breadcrumbs"]}" data-search-exclude markdown="span">'
              f'[{lab["home"]}](../../index.md) › [{lab["faq"]}](../index.md) › [{_esc(cat_name)}](index.md)</nav>\n\n')
    updated = art.updated or art.resolved
    updated_text = (f' · {lab["updated"]} <time datetime="{updated.isoformat()}">{updated.isoformat()}</time>'
                    if updated else "")
    see_also = ""
    if related:
        see_also = (f'\n<div class="kb-related" data-search-exclude markdown>\n\n## {lab["related"]} {{ .kb-related-title }}\n\n'
                    + "\n".join(f"- [{_esc(r.title)}](../{r.category}/{r.id}.md){{ hreflang={r.language} lang={r.language} }}"
                                for r in related) + "\n\n</div>\n")
    meta = {"title": _attr(art.title), "tags": [_attr(t) for t in art.tags], "kb_id": art.id,
            "kb_category": art.category, "kb_origin": art.origin, "search": {"boost": 2},
            "kb_language": art.language}
    questions = "\n".join(f"    - {_esc(q)}" for q in art.questions)
    resolved = art.resolved.isoformat() if art.resolved else ""  # a case always has one (CaseMeta)
    return (
        _front_matter(meta)
        + crumbs
        + f'{lab["category"]}：[{_esc(cat.zh)} · {_esc(cat.en)}](index.md) · '
        + f'{lab["resolved"]} {resolved}{updated_text}\n{{ .kb-meta }}\n\n'
        + f'!!! question "{lab["asked"]}"\n\n{questions}\n\n'
        + _body(art)
        + see_also
        + f'\n---\n\n**{lab["unsolved"]}** [{lab["submit"]}](../../complaint.md#{_from(art)}){{ .md-button }}\n'
    )


def related_articles(articles: list[Article], limit: int = RELATED, memo: Memo | None = None) -> dict[str, list[Article]]:
    """For each case, the cases most like it: shared tags and title words, same category first.

    Computed at build time from the articles themselves (no visitor data). Words shared by more than
    COMMON_WORD articles are skipped, which keeps this linear in practice at 10,000 articles; a case
    with too few neighbours by words is completed from its own category, in title order. With a memo,
    a title's words are segmented once per version of its file (jieba on 10,000 titles took 1.2 s of
    every one-article rebuild).
    """

    cases = sorted((a for a in articles if a.kind == "case"), key=lambda a: a.id)
    # What the lists are computed from: a rebuild that changed no case's title, tags or category (most
    # edits change a body or a phrasing) takes the last build's lists (0.6-0.9 s at 10,000 articles).
    inputs = digest(str(limit).encode(), *(json.dumps([a.id, a.category, a.title, sorted(a.tags)],
                                                      ensure_ascii=False).encode() for a in cases))
    kept = memo.whole("related", inputs) if memo is not None else None
    if kept is not None:
        by_id = {a.id: a for a in cases}
        return {case: [by_id[other] for other in others] for case, others in kept.items()}
    out = _related(cases, limit, memo)
    if memo is not None:
        memo.keep_whole("related", inputs, {case: [b.id for b in near] for case, near in out.items()})
    return out


def _related(cases: list[Article], limit: int, memo: Memo | None) -> dict[str, list[Article]]:
    # Titles and tags, not the phrasings: segmenting every phrasing took most of the time (jieba).
    words = {a.id: {f"#{t}" for t in a.tags} | _title_words(a, memo) for a in cases}
    postings: dict[str, list[Article]] = defaultdict(list)
    by_cat: dict[str, list[Article]] = defaultdict(list)
    for a in cases:
        for w in words[a.id]:
            postings[w].append(a)
        by_cat[a.category].append(a)
    for group in by_cat.values():
        group.sort(key=lambda b: (b.title, b.id))  # once: the fill below walks them from the top
    out: dict[str, list[Article]] = {}
    for a in cases:
        score: dict[str, float] = defaultdict(float)
        found: dict[str, Article] = {}
        for w in words[a.id]:
            group = postings[w]
            if len(group) > COMMON_WORD:
                continue
            weight = (2.0 if w.startswith("#") else 1.0) / len(group)
            for b in group:
                if b.id != a.id:
                    score[b.id] += weight + (1.0 if b.category == a.category and b.id not in found else 0.0)
                    found[b.id] = b
        ranked = sorted(found.values(), key=lambda b: (-score[b.id], b.id))[:limit]
        for b in by_cat[a.category]:
            if len(ranked) >= limit:
                break
            if b.id != a.id and b not in ranked:
                ranked.append(b)
        out[a.id] = ranked
    return out


def _sop_page(art: Article) -> str:
    meta = {"title": _attr(art.title), "tags": [_attr(t) for t in art.tags], "kb_id": art.id,
            "kb_category": art.category, "kb_origin": art.origin, "kb_language": art.language}
    return _front_matter(meta) + _body(art)


def _category_page(cat_id: str, arts: list[Article], config: KbConfig) -> str:
    cat = config.category(cat_id)
    # Each link says its article's language: the site's script lists a visitor's own language first.
    lines = [f"- [{_esc(a.title)}]({Path(a.page).name}){{ hreflang={a.language} lang={a.language} }}" for a in arts]
    return (_front_matter({"title": _attr(cat.zh)})
            + f"共 {len(arts)} 篇 · {len(arts)} articles\n\n" + "\n".join(lines) + "\n")


def _faq_index(by_cat: dict[str, list[Article]], config: KbConfig) -> str:
    rows = [f"- [{_esc(c.zh)}]({c.id}/index.md){{ .kb-label }} ({len(by_cat[c.id])})"
            for c in config.categories if by_cat.get(c.id)]
    return (_front_matter({"title": site_word("FAQ")})
            + "按分类浏览已解决的问题。找不到答案？先用页面顶部的搜索，"
              "或[提交投诉](../complaint.md)。\n\n"
              "Browse resolved problems by category, or search at the top of the page.\n\n"
            + "\n".join(rows) + "\n")


def _sop_index(sops: list[Article]) -> str:
    lines = [f"- [{_esc(a.title)}]({Path(a.page).name})" for a in sops]
    return _front_matter({"title": site_word("Procedures")}) + "\n".join(lines) + "\n"


def _tags_page(articles: list[Article]) -> str:
    """Every tag with the articles that carry it (generated, so incremental builds keep it whole)."""
    by_tag: dict[str, list[Article]] = defaultdict(list)
    for art in articles:
        for tag in art.tags:
            by_tag[tag].append(art)
    # Out of the site search: it names every tag, so it matched nearly every query (issue 23, point 6).
    parts = [_front_matter({"title": site_word("Tags"), "search": {"exclude": True}})]
    for tag in sorted(by_tag):
        parts.append(f"## {_esc(tag)}\n\n" + "\n".join(
            f"- [{_esc(a.title)}](../{a.page})" for a in sorted(by_tag[tag], key=lambda a: a.id)) + "\n\n")
    return "".join(parts)


def _home_page(template: str, by_cat: dict[str, list[Article]], articles: list[Article], config: KbConfig) -> str:
    """The hand-written home page with, at HOME_MARKER, the most helpful articles and the categories."""
    known = {a.id: a for a in articles}
    parts = []
    helpful = [known[i] for i in config.site.helpful_articles if i in known]  # unknown_helpful() warns
    if helpful:
        parts.append(f"## {site_word('Most helpful')} {{ #kb-helpful .kb-label }}\n\n" + "\n".join(
            f"- [{_esc(a.title)}]({a.page}){{ hreflang={a.language} lang={a.language} }}" for a in helpful) + "\n")
    rows = [f"- [{_esc(c.zh)}](faq/{c.id}/index.md){{ .kb-label }} ({len(by_cat[c.id])})"
            for c in config.categories if by_cat.get(c.id)]
    if rows:
        parts.append(f"## {site_word('Categories')} {{ #kb-categories .kb-label }}\n\n" + "\n".join(rows) + "\n")
    return template.replace(HOME_MARKER, "\n".join(parts))


def unknown_helpful(articles: list[Article], config: KbConfig) -> Problem | None:
    """site.helpful_articles naming no published article (unpublished, renamed): a warning, strict builds stop."""
    known = {a.id for a in articles}
    unknown = [i for i in config.site.helpful_articles if i not in known]
    if not unknown:
        return None
    return Problem(config.root / "kb.yml", f"no published article {', '.join(unknown)}: left off the home page",
                   field="site.helpful_articles", fix="use the id of a published case (its front matter `id`)")


def _title_words(art: Article, memo: Memo | None) -> set[str]:
    from .analysis import tokens

    kept = memo.of(art.source) if memo is not None else {}
    if "title_words" not in kept:  # the entry of a file's current bytes: a changed title is a new entry
        # One string, not a list: 10,000 small lists took 0.2 s to unpickle with the memo.
        kept["title_words"] = "\x1f".join(sorted(set(tokens(art.title))))
    return set(kept["title_words"].split("\x1f")) - {""}


def render_pages(articles: list[Article], config: KbConfig, memo: Memo | None = None) -> dict[str, str]:
    """Every generated page, by its path relative to the docs folder.

    With a memo, an article's page is rendered only when its file changed and its related articles
    (which other files decide) are the same as when it was rendered; the pages that list articles are
    always rendered: any change may touch them.
    """
    pages: dict[str, str] = {}
    by_cat: dict[str, list[Article]] = defaultdict(list)
    sops = []
    related = related_articles(articles, memo=memo)
    for art in articles:
        kept = memo.of(art.source) if memo is not None else {}
        if art.kind == "case":
            by_cat[art.category].append(art)
        else:
            sops.append(art)
        near = related.get(art.id, [])
        near_key = [(b.id, b.title, b.page, b.language) for b in near]
        if "page" not in kept or kept.get("related") != near_key:
            kept["page"] = _case_page(art, config, near) if art.kind == "case" else _sop_page(art)
            kept["related"] = near_key
        pages[art.page] = kept["page"]
    for cat_id, arts in by_cat.items():
        pages[f"faq/{cat_id}/index.md"] = _category_page(cat_id, sorted(arts, key=lambda a: a.title), config)
    pages["faq/index.md"] = _faq_index(by_cat, config)
    pages["sop/index.md"] = _sop_index(sorted(sops, key=lambda a: a.id))
    pages["faq/tags.md"] = _tags_page(articles)
    home = config.docs_dir / "index.md"
    template = home.read_text(encoding="utf-8") if home.is_file() else ""
    if HOME_MARKER in template:  # the staged copy of docs/index.md is replaced; docs/index.md stays the template
        pages["index.md"] = _home_page(template, by_cat, articles, config)
    return pages


def navigation(articles: list[Article], config: KbConfig) -> list:
    """The site's nav: home, categories (case pages are reached from them), SOPs, the form.

    Case pages stay out of the nav so a large knowledge base does not embed
    thousands of links in every page (measured: 5,000 pages built in 184 s -> 40 s).
    """
    cats = {a.category for a in articles if a.kind == "case"}
    faq = [{site_word("FAQ"): "faq/index.md"}] + [
        {_attr(c.zh): f"faq/{c.id}/index.md"} for c in config.categories if c.id in cats]
    sops = [{site_word("Overview"): "sop/index.md"}] + [
        {_attr(a.title): a.page} for a in sorted(articles, key=lambda a: a.id) if a.kind == "sop"]
    return [
        {site_word("Home"): "index.md"},
        {site_word("FAQ"): faq},
        {site_word("Procedures"): sops},
        {site_word("Submit a complaint"): "complaint.md"},
        {site_word("Check a complaint"): "status.md"},
        {site_word("Tags"): "faq/tags.md"},
    ]
