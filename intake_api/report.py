"""The quarterly review: figures from metrics.py, charts (matplotlib), a self-contained HTML
file and Markdown that can go on the site.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.orm import Session

from kb_builder.markup import md_text as _t
from kb_builder.markup import sanitize
from kb_builder.redact import Redactor

from . import metrics
from .models import Complaint
from .privacy import suppress_small
from .workflow import LEVELS

CHANNEL_NAMES = {"online_form": "在线表单", "email": "邮件", "hotline": "热线", "reception": "窗口",
                 "anonymous_platform": "匿名平台"}
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei", "DejaVu Sans"]


def collect(session: Session, kb, period: metrics.Period, weights) -> dict:
    zone = metrics.ZoneInfo(kb.timezone)
    k = kb.process.privacy.min_group_size
    cat_names = {c.id: c.zh for c in kb.categories}
    sla = metrics.sla(session, period)
    redactor = Redactor.for_settings(kb.process.privacy)
    return {
        "period": period.label,
        # Every count table merges groups under k (privacy: a group of one points at a person).
        "by_category": suppress_small({cat_names.get(c, c): n for c, n in metrics.count_by(session, period, Complaint.category).items()}, k),
        "by_level": suppress_small({f"{lv} {LEVELS[int(lv)][0]}": n for lv, n in metrics.count_by(session, period, Complaint.level).items()}, k),
        "by_channel": suppress_small({CHANNEL_NAMES.get(c, c): n for c, n in metrics.count_by(session, period, Complaint.channel).items()}, k),
        "by_department": metrics.by_department(session, period, k),
        "sla": asdict(sla),
        "satisfaction": metrics.satisfaction(session, period),
        "deflection": metrics.deflection(session, period, zone),
        "articles": metrics.per_article(session, period)[:10],
        "gaps": metrics.content_gaps(session, period, redactor=redactor),
        "recurring": [dict(g, example=redactor.redact(g["example"])[0])  # complaint text: no names in the review
                      for g in metrics.recurring(session, period, weights)[:10]],
        "alerts": metrics.alerts(session, period),
        "min_group_size": k,
    }


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def charts(data: dict) -> dict[str, bytes]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["font.sans-serif"] = CJK_FONTS
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["axes.spines.top"] = plt.rcParams["axes.spines.right"] = False
    out = {}

    cats = data["by_category"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.barh(list(cats)[::-1], list(cats.values())[::-1], color="#3949ab")
    for i, v in enumerate(list(cats.values())[::-1]):
        ax.text(v, i, f" {v}", va="center", fontsize=9)
    ax.set_title("投诉数量（按分类） · Complaints by category")
    out["categories"] = _png(fig)
    plt.close(fig)

    trend = data["deflection"]["trend"]
    months = list(trend)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    width = 0.38
    xs = range(len(months))
    ax.bar([x - width / 2 for x in xs], [trend[m]["deflections"] for m in months], width, label="文章解决 · deflected", color="#26a69a")
    ax.bar([x + width / 2 for x in xs], [trend[m]["complaints"] for m in months], width, label="提交投诉 · complaints", color="#ef6c00")
    ax2 = ax.twinx()
    ax2.plot(list(xs), [(trend[m]["rate"] or 0) * 100 for m in months], color="#1a237e", marker="o", label="分流率 · deflection rate")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("%")
    ax.set_xticks(list(xs), months)
    ax.set_title("知识库分流 · Deflection by month")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8, frameon=False)
    out["deflection"] = _png(fig)
    plt.close(fig)

    levels = data["sla"]["by_level"]
    fig, ax = plt.subplots(figsize=(6, 3))
    names = [f"{lv} {LEVELS[int(lv)][0]}" for lv in levels]
    ok = [v[0] for v in levels.values()]
    late = [v[1] for v in levels.values()]
    ax.bar(names, ok, color="#43a047", label="按时 · in time")
    ax.bar(names, late, bottom=ok, color="#e53935", label="超时 · late")
    ax.set_title("首次答复时限 · First response vs time limit")
    ax.legend(fontsize=8, frameon=False)
    out["sla"] = _png(fig)
    plt.close(fig)

    dist = data["satisfaction"]["distribution"]
    fig, ax = plt.subplots(figsize=(5, 2.8))
    ax.bar([str(s) for s in dist], list(dist.values()), color=["#e53935", "#fb8c00", "#fdd835", "#7cb342", "#43a047"])
    ax.set_title(f"满意度 · Satisfaction (平均 avg {data['satisfaction']['average']})")
    out["satisfaction"] = _png(fig)
    plt.close(fig)
    return out


def _pct(a: int, b: int) -> str:
    return f"{a / b:.0%}" if b else "—"


def _table(title: str, counts: dict[str, int], k: int) -> list[str]:
    """A count table; a merged group too small to show says "<k"."""
    return [f"| {title} | 件 |", "| --- | ---: |", *[f"| {_t(key)} | {n if n else '<' + str(k)} |" for key, n in counts.items()], ""]


def markdown(data: dict, images: dict[str, str] | None) -> str:
    """The review as Markdown; images: the charts' addresses, or None for text only (the review e-mailed)."""
    s, d, sat = data["sla"], data["deflection"], data["satisfaction"]

    def chart(name: str) -> list[str]:
        return [f"![{data['period']} {name}]({images[name]})", ""] if images is not None else []

    rate = f"{d['rate']:.0%}" if d["rate"] is not None else "—"
    lines = [
        f"# 投诉季度报告 · Quarterly complaint review {data['period']}", "",
        "## 要点 · Highlights", "",
        f"- 收到投诉 **{s['total']}** 件，解决率 **{_pct(s['resolved'], s['total'])}**。 · {s['total']} complaints, {_pct(s['resolved'], s['total'])} resolved.",
        f"- 知识库分流 **{d['deflections']}** 次，分流率 **{rate}**（分流 ÷ (分流 + 在线投诉)）；其中 **{d['false_deflections']}** 次"
        f"七天内同一浏览器又投诉（误分流） · Deflection rate {rate}; false deflections (a complaint from the same "
        f"browser within 7 days): {d['false_deflections']}.",
        f"- 首次答复按时率 **{_pct(s['first_response_in_time'], s['first_response_measured'])}**，结果反馈按时率 **{_pct(s['result_in_time'], s['result_measured'])}**，超时 {len(s['breaches'])} 次。",
        f"- 满意度平均 **{sat['average'] if sat['average'] is not None else '—'}** / 5（{sat['count']} 份评价）；"
        f"回访时工作人员代记 {sat['staff_recorded']['average'] if sat['staff_recorded']['average'] is not None else '—'}"
        f" / 5（{sat['staff_recorded']['count']} 次，另计）。",
        f"- 应急预警 {sum(a['kind'] == 'emergency' for a in data['alerts'])} 次，安全预警 {sum(a['kind'] == 'safety' for a in data['alerts'])} 次。", "",
        *chart("categories"),
        *chart("deflection"),
        "## 分类、级别、渠道、部门 · Counts", "",
        *_table("分类 · Category", data["by_category"], data["min_group_size"]),
        *_table("级别 · Level", data["by_level"], data["min_group_size"]),
        *_table("渠道 · Channel", data["by_channel"], data["min_group_size"]),
        *_table(f"部门 · Department（少于 {data['min_group_size']} 件的合并为“其他”）", data["by_department"], data["min_group_size"]),
        "## 时限 · Time limits", "", *chart("sla"),
        f"首次答复中位数 {s['median_first_response_hours']} 小时；从受理到反馈结果中位数 {s['median_resolution_hours']} 小时。", "",
    ]
    if s["breaches"]:
        lines += ["| 超时投诉 · Breach | 时限 | 超出 |", "| --- | --- | --- |",
                  *[f"| {_t(n)} | {_t(w)} | {_t(late)} |" for n, w, late in s["breaches"][:15]], ""]
    lines += ["## 满意度 · Satisfaction", "", *chart("satisfaction"),
              "## 最有用的文章 · Articles that deflected most", "", "| 文章 · Article | 分流 | 投票 | 有帮助 |", "| --- | ---: | ---: | ---: |",
              *[f"| {_t(a['article'])} | {a['deflections']} | {a['votes']} | {a['helpful'] if a['helpful'] is not None else '—'} |" for a in data["articles"]], "",
              "## 内容缺口 · Content gaps", "", "没有结果的搜索 · Searches with no result:", "",
              *[f"- “{_t(q)}” × {n}" for q, n in data["gaps"]["searches"]], "",
              "没有任何推荐文章的在线投诉（按分类） · Complaints no article matched:", "",
              *[f"- {_t(k)}: {v}" for k, v in data["gaps"]["complaints_without_match"].items()], "",
              "## 反复出现的问题 · Recurring problems", "",
              *[f"- **{_t(g['category'])}** × {g['count']}：{_t(g['example'])}（{_t(', '.join(g['complaints'][:5]))}…）" for g in data["recurring"]], "",
              "## 建议 · Recommendations", "",
              "- 为上面的内容缺口写文章；为反复出现的问题找根本原因并指定负责人。 · Write articles for the gaps; give each recurring problem an owner.",
              "- 对超时最多的级别和团队复盘流程。 · Review the process where limits were missed.", "",
              "*每个数字都来自 `intake_api/metrics.py` 中的同名函数。 · Every figure comes from the function of the same name in intake_api/metrics.py.*", ""]
    return "\n".join(lines)


# The one-file review opens from a disk or a mail attachment: nothing in it may run or load.
FILE_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def render_html(data: dict, images: dict[str, str]) -> str:
    """The review as an HTML fragment: every value from outside escaped, the result sanitised again."""
    import markdown as md
    return sanitize(md.markdown(markdown(data, images), extensions=["tables"]), data_images=True)


def write(data: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write report-<period>.md (+ PNGs) and a self-contained report-<period>.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = charts(data)
    names = {}
    for key, blob in pngs.items():
        name = f"report-{data['period']}-{key}.png"
        (out_dir / name).write_bytes(blob)
        names[key] = name
    md_path = out_dir / f"report-{data['period']}.md"
    md_path.write_text(markdown(data, names), encoding="utf-8")
    inline = {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in pngs.items()}
    body = render_html(data, inline)
    page = (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{FILE_CSP}\">"
            f"<title>投诉季度报告 {html.escape(data['period'])}</title>"
            "<style>body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2430}"
            "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .7rem}img{max-width:100%}</style>"
            f"</head><body>{body}</body></html>")
    html_path = out_dir / f"report-{data['period']}.html"
    html_path.write_text(page, encoding="utf-8")
    return md_path, html_path
