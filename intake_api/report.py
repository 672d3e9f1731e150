"""The quarterly review: figures from metrics.py, charts (matplotlib), a self-contained HTML
file and Markdown that can go on the site.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import json
import threading
from collections import Counter, OrderedDict
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb_builder.articles import published_articles
from kb_builder.errors import KbError
from kb_builder.markup import md_text as _t
from kb_builder.markup import sanitize
from kb_builder.redact import Redactor
from kb_builder.sources import read_sources

from . import capa, i18n, metrics, staff_figures, timeliness
from .models import Complaint, StaffUser
from .privacy import OTHER, suppress_small
from .queue import DEADLINE_LABELS
from .workflow import LEVELS

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei", "DejaVu Sans"]
BREACHES_PER_PAGE = 50

# Every word of the review, in one place as (Chinese, English) like the workspace's TEXT, so the review
# speaks the page's language and the labels can move into message catalogues together.
TEXT = {
    "title": ("投诉季度报告", "Quarterly complaint review"), "highlights": ("要点", "Highlights"),
    "received": ("收到投诉 **{total}** 件，截至 {as_of} 已反馈结果 **{resolved}**。",
                 "**{total}** complaints received; **{resolved}** resolved by {as_of}."),
    "deflected": ("知识库分流 **{n}** 次，分流率 **{rate}**（分流 ÷ (分流 + 在线投诉)）；其中 **{false}** 次七天内同一浏览器"
                  "又投诉（误分流）。",
                  "**{n}** deflections, deflection rate **{rate}** (deflections ÷ (deflections + online complaints)); "
                  "**{false}** false (a complaint from the same browser within 7 days)."),
    "on_time": ("各项时限按时率：{rates}；超时 **{breaches}** 次（含截至 {as_of} 仍未完成的）。",
                "On time: {rates}; **{breaches}** breaches (unmet ones overdue on {as_of} included)."),
    "satisfied": ("满意度平均 **{avg}** / 5（{n} 份评价）；回访时工作人员代记 {rec} / 5（{rec_n} 次，另计）。",
                  "Satisfaction **{avg}** / 5 ({n} ratings); recorded by staff at follow-up {rec} / 5 ({rec_n}, kept apart)."),
    "alerts_line": ("应急预警 {emergency} 次，安全预警 {safety} 次。", "{emergency} emergency alerts, {safety} safety alerts."),
    "counts": ("分类、级别、渠道 · 被投诉部门", "Counts by category, level, channel and department"),
    "category": ("分类", "Category"), "level": ("级别", "Level"), "channel": ("渠道", "Channel"),
    "department": ("被投诉部门", "Department complained about"), "count": ("件", "Complaints"),
    "merged": ("（少于 {k} 件的合并为“其他”；“<{k}”表示合并后仍少于 {k} 件）",
               " (groups under {k} merged into “other”; “<{k}” when still under {k})"),
    "trend": ("被投诉部门按月趋势", "Departments complained about, by month"),
    "dept_sla": ("被投诉部门的时限与满意度", "Time limits and satisfaction by department complained about"),
    "limits": ("时限", "Time limits"), "limit": ("时限", "Limit"), "due": ("应完成", "Due"),
    "in_time": ("按时", "In time"), "late": ("超时", "Breached"), "running": ("未到期", "Still running"),
    "on_time_share": ("按时率", "On time"), "median": ("中位数（小时）", "Median (h)"), "p90": ("90% 分位（小时）", "90th pct (h)"),
    "limits_note": ("时间从受理起算；截至 {as_of} 仍未完成且已超时的计为超时，其时间算到 {as_of}。",
                    "Hours from receipt; a limit unmet and overdue on {as_of} is a breach, its time counted up to {as_of}."),
    "breaches": ("超时明细", "Breaches"), "number": ("编号", "Complaint"), "due_at": ("期限", "Due"),
    "done_at": ("完成于", "Met at"), "late_by": ("超出（小时）", "Late by (h)"), "unmet": ("未完成", "not met"),
    "breach_page": ("第 {page} / {pages} 页，共 {total} 条", "Page {page} of {pages}, {total} in all"),
    "all_in_file": ("完整列表见导出的 Excel / CSV 文件。", "The complete list is in the Excel / CSV export."),
    "staff": ("处理人员考核", "Duty staff KPIs"), "team": ("团队", "Team"), "handler": ("受理人", "Handler"),
    "complaints": ("投诉", "Complaints"), "open": ("期末未结", "Open at end"),
    "resolution_rate": ("解决率", "Resolved"), "resolved_n": ("已反馈结果（件）", "Resolved (complaints)"), "reopen_rate": ("重开率", "Reopened"),
    "response_h": ("首次答复中位数（小时）", "Median first response (h)"),
    "resolution_h": ("解决中位数（小时）", "Median resolution (h)"),
    "self_rated": ("投诉人评分", "Complainant rating"), "staff_recorded": ("回访代记评分", "Recorded at follow-up"),
    "unassigned": ("未分派", "unassigned"),
    "satisfaction": ("满意度", "Satisfaction"),
    "articles": ("文章与使用信号", "Articles and what use says about them"), "article": ("文章", "Article"),
    "deflections": ("分流", "Deflections"), "solved_clicks": ("“解决了”点击", "“This solved it” clicks"),
    "false_deflections": ("虚假分流", "False deflections"), "led_to": ("引向它的说法", "Phrasings that led to it"),
    "led_past": ("越过它投诉", "Led past it to a complaint"),
    "articles_note": ("虚假分流：点击“解决了”后 7 天内同一浏览器又提交了投诉。引向它的说法：“解决了”点击的搜索词与处理人关联的投诉措辞（去重）。越过它投诉：它在屏幕上时员工仍提交了投诉。",
                      "False deflections: a complaint from the same browser within 7 days of the click. Phrasings that "
                      "led to it: the clicks' queries and the wordings handlers linked to it, each counted once. Led "
                      "past it: complaints submitted while it was on screen."), "votes": ("投票", "Votes"), "helpful": ("有帮助", "Helpful"),
    "gaps": ("内容缺口", "Content gaps"), "gap_searches": ("没有结果的搜索", "Searches with no result"),
    "gap_complaints": ("没有任何推荐文章的在线投诉（按分类）", "Online complaints no article matched, by category"),
    "recurring": ("反复出现的问题", "Recurring problems"),
    "recognition": ("表彰：投诉最少、处理最好的部门", "Recognition: departments with the fewest complaints and the best figures"),
    "per_100": ("每百人投诉", "Complaints per 100 staff"), "headcount": ("人数", "Headcount"),
    "no_headcounts": ("尚未在 kb.yml 的 process.departments 中配置人数。",
                      "No headcounts configured in kb.yml (process.departments[].headcount)."),
    "recommendations": ("建议", "Recommendations"),
    "capa": ("预防与纠正措施", "Corrective and preventive actions"),
    "capa_line": ("{period}：决定 {decided} 项，已完成 {done} 项（按期 {in_time} 项），逾期未完成 {overdue} 项。",
                  "{period}: {decided} decided, {done} done ({in_time} by their due date), {overdue} overdue."),
    "capa_what": ("措施", "Action"), "capa_decide": ("→ 决定措施", "→ decide an action"), "quarter": ("季度", "Quarter"), "capa_evidence": ("完成证据", "Evidence"),
    "capa_open": ("进行中", "open"), "capa_done": ("已完成", "done"), "capa_overdue": ("逾期", "overdue"),
    "rec_1": ("为上面的内容缺口写文章；为反复出现的问题找根本原因并指定负责人。",
              "Write articles for the gaps; give each recurring problem an owner."),
    "rec_2": ("对超时最多的时限和团队复盘流程。", "Review the process where limits were missed most."),
    "footer": ("每个数字都来自 intake_api/metrics.py、timeliness.py 与 staff_figures.py 中的查询。",
               "Every figure comes from a query in intake_api/metrics.py, timeliness.py and staff_figures.py."),
    "other": ("其他", "other"), "none": ("未记录", "not recorded"),
    "status": ("状态", "Status"), "received_at": ("受理时间", "Received"), "about_role": ("被投诉岗位", "Role complained about"),
    "rating": ("评分", "Rating"), "disclosure": ("身份公开方式", "Disclosure"), "name": ("姓名", "Name"),
    "own_department": ("投诉人部门", "Complainant's department"), "position": ("职位", "Position"),
    "contact": ("联系方式", "Contact"),
    "chart_categories": ("投诉数量（按分类）", "Complaints by category"),
    "chart_departments": ("投诉数量（按被投诉部门）", "Complaints by department complained about"),
    "chart_deflection": ("知识库分流", "Deflection by month"), "chart_sla": ("各项时限", "Every time limit"),
    "chart_satisfaction": ("满意度", "Satisfaction"),
}
CHANNEL_NAMES = {"online_form": ("在线表单", "online form"), "email": ("邮件", "e-mail"), "hotline": ("热线", "hotline"),
                 "reception": ("窗口", "reception"), "anonymous_platform": ("匿名平台", "anonymous platform")}
NONE_KEY = "-"  # a count group with no value (no department recorded)


def say(lang: str, key: str, **values) -> str:
    """One of TEXT in the page's language ("zh" or "en"), with its values filled in."""
    zh, en = TEXT[key]
    return (zh if lang == "zh" else en).format(**values)


def quarters(today: dt.date, back: int = 8) -> list[str]:
    """The quarter picker's choices: this quarter and the `back` before it, newest first."""
    year, q = today.year, (today.month - 1) // 3 + 1
    out = []
    for _ in range(back + 1):
        out.append(f"{year}Q{q}")
        year, q = (year - 1, 4) if q == 1 else (year, q - 1)
    return out


def _labelled(counts: dict, k: int, names: dict[str, tuple[str, str]]) -> list[list]:
    """[(zh, en), count] rows of a count table, groups under k merged (privacy.suppress_small: 0 = "<k")."""
    merged = suppress_small({NONE_KEY if key is None else str(key): n for key, n in counts.items()}, k)
    return [[TEXT["other"] if key == OTHER else TEXT["none"] if key == NONE_KEY else names.get(key, (key, key)), n]
            for key, n in merged.items()]


def _article_titles(kb) -> dict[str, str]:
    """Article id -> title, read from the content (the review names articles, not slugs)."""
    try:
        return {a.id: a.title for a in published_articles(read_sources(kb))}
    except (KbError, OSError):  # content unreadable here: ids are still better than nothing
        return {}


def collect(session: Session, kb, period: metrics.Period, weights, staff_teams: set[str] | None = None,
            breach_offset: int = 0, breach_limit: int | None = None, now: dt.datetime | None = None,
            kept: dict | None = None) -> dict:
    """The review's figures as plain data.

    staff_teams: whose per-team and per-handler figures to include (None: nobody's; the desk decides from the
    reader's role). breach_limit: one page of the breach list (the workspace); None: all of them (the files).
    kept: the quarter's `figures` as review_cache.py keeps them, with its breach list (None: computed now).
    """
    data = dict(kept if kept is not None else figures(session, kb, period, weights, now))
    data["staff"] = _staff_for(data["staff"], staff_teams)
    if kept is not None and "breach_total" in kept:  # kept with the figures, in order: a page is a key range
        from .review_cache import breach_page
        breach_rows = breach_page(session, period.label, breach_offset, breach_limit)
    else:
        data["breach_total"], breach_rows = timeliness.breaches(session, period, metrics.as_of(period, now),
                                                                breach_offset, breach_limit)
    data.update(breaches=breach_rows, breach_offset=breach_offset)
    return data


def _staff_for(staff: dict, only: set[str] | None) -> dict | None:
    """The staff figures of the teams `only` names ("*": every team; None: nobody's)."""
    if only is None:
        return None
    if "*" in only:
        return staff
    return {"teams": [r for r in staff["teams"] if r["team_id"] in only],
            "handlers": [r for r in staff["handlers"] if r["team_id"] in only]}


def figures(session: Session, kb, period: metrics.Period, weights, now: dt.datetime | None = None) -> dict:
    """Every figure of the review but the breach list, the staff figures of every team included: what a long
    quarter costs (seconds at 50,000 complaints), and what review_cache.py keeps per quarter."""
    zone = metrics.ZoneInfo(kb.timezone)
    k = kb.process.privacy.min_group_size
    as_of = metrics.as_of(period, now)
    cats = {c.id: (c.zh, c.en) for c in kb.categories}
    depts = {d.id: (d.zh, d.en) for d in kb.process.departments}
    teams = {t.id: (t.zh, t.en) for t in kb.process.teams}
    levels = {str(lv): (f"{lv} {zh}", f"{lv} {en}") for lv, (zh, en) in LEVELS.items()}
    sla = metrics.sla(session, period, now)
    redactor = Redactor.for_settings(kb.process.privacy)
    titles = _article_titles(kb)
    by_dept = metrics.by_department(session, period)
    gaps = metrics.content_gaps(session, period, redactor=redactor)
    recurring = [dict(g, example=redactor.redact(g["example"])[0],  # complaint text: no names in the review
                      category=cats.get(g["category"], (g["category"], g["category"])))
                 for g in metrics.recurring(session, period, weights, min_size=max(3, k))[:10]]
    dept_of = dict(session.execute(select(Complaint.number, Complaint.about_department).where(
        Complaint.number.in_([n for g in recurring for n in g["complaints"]]))).all()) if recurring else {}
    for g in recurring:
        found = Counter(dept_of.get(n) for n in g["complaints"]).most_common(1)
        g["department"] = TEXT["none"] if not found or found[0][0] is None else depts.get(found[0][0], (found[0][0],) * 2)
    dept_limits = timeliness.grouped(session, period, as_of, Complaint.about_department)
    dept_ratings = {d: (n, avg) for d, n, avg in session.execute(
        select(Complaint.about_department, func.count(Complaint.rating), func.avg(Complaint.rating))
        .where((Complaint.received_at >= period.start) & (Complaint.received_at < period.end))
        .group_by(Complaint.about_department))}
    return {
        "period": period.label,
        "as_of": as_of.astimezone(zone).strftime("%Y-%m-%d %H:%M"), "zone": kb.timezone, "team_names": teams,
        "min_group_size": k,
        # Every count table merges groups under k (privacy: a group of one points at a person).
        "by_category": _labelled(metrics.count_by(session, period, Complaint.category), k, cats),
        "by_level": _labelled(metrics.count_by(session, period, Complaint.level), k, levels),
        "by_channel": _labelled(metrics.count_by(session, period, Complaint.channel), k, CHANNEL_NAMES),
        "by_department": _labelled(by_dept, k, depts),
        "department_trend": _trend(metrics.department_trend(session, period, zone), k, depts),
        "department_sla": _department_sla(by_dept, dept_limits, dept_ratings, k, depts),
        "sla": sla,
        "satisfaction": metrics.satisfaction(session, period),
        "deflection": metrics.deflection(session, period, zone),
        "articles": [dict(a, title=titles.get(a["article"], a["article"])) for a in metrics.per_article(session, period)[:10]],
        "gaps": {"searches": _small_searches(gaps["searches"], k),
                 "complaints_without_match": _labelled(gaps["complaints_without_match"], k, cats)},
        "recurring": recurring,
        "alerts": metrics.alerts(session, period),
        "staff": staff_section(session, period, as_of, {"*"}, teams),
        "recognition": _recognition(kb, by_dept, dept_limits, dept_ratings, k),
        # Prevention: what was decided last quarter and what of it was done by this one's end; this quarter's.
        "capa": [capa.decided(session, p, as_of) for p in (_previous(period, zone), period) if p is not None],
    }


def _previous(period: metrics.Period, zone) -> metrics.Period | None:
    try:
        return period.previous(zone)
    except ValueError:  # before 1970: nothing was decided then
        return None


def _small_searches(searches: list[tuple[str, int]], k: int) -> list[tuple[str, int]]:
    """Searches with no result, each shown only when at least k people typed it (a rare text can name someone)."""
    return [(q, n) for q, n in searches if n >= k]


def _trend(rows: dict, k: int, names: dict) -> list[list]:
    """[(label), {month: n}] per department complained about; departments under k in the quarter merged,
    a month under k shown as None ("<k"), every month of a merged row still under k too."""
    out, other = [], None
    for key, months in sorted(rows.items(), key=lambda kv: -sum(kv[1].values())):
        if sum(months.values()) >= k:  # a month of 1 to k-1 would point at people too: "<k" (None)
            out.append([TEXT["none"] if key is None else names.get(key, (key, key)),
                        {m: (None if 0 < n < k else n) for m, n in months.items()}])
        else:
            other = {m: (other or {}).get(m, 0) + n for m, n in months.items()}
    if other is not None:
        small = sum(other.values()) < k  # still too small: the months would point at people
        out.append([TEXT["other"], {m: (None if small or 0 < n < k else n) for m, n in other.items()}])
    return out


def _share(acc: dict | None) -> float | None:
    if not acc:
        return None
    measured = acc["in_time"] + acc["late"]
    return acc["in_time"] / measured if measured else None


def _department_sla(counts: dict, limits: dict, ratings: dict, k: int, names: dict) -> list[dict]:
    """On-time share and satisfaction per department complained about, small departments merged into one row."""
    rows, other = [], {"complaints": 0, "due": 0, "in_time": 0, "late": 0, "running": 0, "rated": 0, "rating_sum": 0.0}
    for key, n in counts.items():
        acc = limits.get(key, {"due": 0, "in_time": 0, "late": 0, "running": 0})
        rated, avg = ratings.get(key, (0, None))
        if n >= k:
            rows.append({"label": TEXT["none"] if key is None else names.get(key, (key, key)), "complaints": n, **acc,
                         "on_time": _share(acc), "rating_count": rated,
                         "rating_average": round(float(avg), 2) if avg is not None and rated >= k else None})
        else:
            other["complaints"] += n
            for f in ("due", "in_time", "late", "running"):
                other[f] += acc[f]
            other["rated"] += rated
            other["rating_sum"] += float(avg or 0) * rated
    if other["complaints"]:
        hidden = other["complaints"] < k
        rows.append({"label": TEXT["other"], "complaints": 0 if hidden else other["complaints"],
                     **{f: other[f] for f in ("due", "in_time", "late", "running")}, "on_time": _share(other),
                     "rating_count": other["rated"],
                     "rating_average": round(other["rating_sum"] / other["rated"], 2) if other["rated"] >= k else None})
    return rows


def staff_section(session: Session, period, as_of, only: set[str], teams: dict) -> dict:
    """Per team and per handler, limited to the teams `only` names (an empty set with "*": every team)."""
    everyone = "*" in only
    per_team = [dict(row, team=teams.get(key, (key, key)) if key else TEXT["unassigned"], team_id=key)
                for key, row in staff_figures.figures(session, period, as_of, Complaint.team).items()
                if everyone or key in only]
    handler_team: dict[int, tuple[str | None, int]] = {}
    names = {u.id: u.display_name or u.username for u in session.scalars(select(StaffUser))}
    for hid, team, n in session.execute(select(Complaint.handler_id, Complaint.team, func.count())
                                        .where((Complaint.received_at >= period.start) & (Complaint.received_at < period.end))
                                        .group_by(Complaint.handler_id, Complaint.team)):
        if hid is not None and n > handler_team.get(hid, (None, -1))[1]:
            handler_team[hid] = (team, n)
    per_handler = []
    for hid, row in staff_figures.figures(session, period, as_of, Complaint.handler_id).items():
        team = handler_team.get(hid, (None, 0))[0]
        if hid is None or not (everyone or team in only):
            continue
        per_handler.append(dict(row, handler=names.get(hid, str(hid)), team=teams.get(team, (team, team)) if team
                                else TEXT["unassigned"], team_id=team))
    return {"teams": sorted(per_team, key=lambda r: -r["complaints"]),
            "handlers": sorted(per_handler, key=lambda r: (str(r["team_id"]), -r["complaints"]))}


def _recognition(kb, counts: dict, limits: dict, ratings: dict, k: int) -> list[dict]:
    """The SOP's 表彰 list: departments with a headcount, fewest complaints per head first, then best on time.

    A department with fewer than k complaints shows "<k" and an upper bound on its rate.
    """
    rows = []
    for d in kb.process.departments:
        if not d.headcount:
            continue
        n = counts.get(d.id, 0)
        rated, avg = ratings.get(d.id, (0, None))
        rows.append({"label": (d.zh, d.en), "headcount": d.headcount, "complaints": n if n >= k else 0,
                     "per_100": round(100 * max(n, 0) / d.headcount, 2), "small": n < k,
                     "on_time": _share(limits.get(d.id)),
                     "rating_average": round(float(avg), 2) if avg is not None and rated >= k else None})
    rows.sort(key=lambda r: (r["per_100"], -(r["on_time"] or 0), -(r["rating_average"] or 0)))
    for r in rows:  # the rate of a small department is shown only as a bound, like its count
        if r["small"]:
            r["per_100"] = round(100 * k / r["headcount"], 2)
    return rows


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _chart_inputs(data: dict) -> list:
    """What _draw_charts reads of the figures (not, say, the moment the SLA figures were taken)."""
    return [data["by_category"], data["by_department"], data["min_group_size"], data["deflection"]["trend"],
            data["sla"]["limits"], data["satisfaction"]["distribution"], data["satisfaction"]["average"]]


_CHARTS: OrderedDict[str, dict[str, bytes]] = OrderedDict()  # the last few reviews' charts, by what they show
_CHARTS_LOCK = threading.Lock()  # pyplot keeps global state: one drawing at a time per process


def charts(data: dict, lang: str = "zh") -> dict[str, bytes]:
    """The review's charts as PNG files by name.

    Drawing them (matplotlib, five figures) was most of every view of a kept review: 2.4-2.8 s a view
    against 0.25-0.57 s with them drawn, on a busy machine. A view of the same figures in the same
    language (the next breach page, another admin) gets the drawn ones.
    """
    key = hashlib.sha256(json.dumps([lang, _chart_inputs(data)], sort_keys=True, default=str,
                                    ensure_ascii=False).encode()).hexdigest()
    with _CHARTS_LOCK:
        drawn = _CHARTS.get(key)
        if drawn is None:
            drawn = _CHARTS[key] = _draw_charts(data, lang)
            while len(_CHARTS) > 16:
                _CHARTS.popitem(last=False)
        _CHARTS.move_to_end(key)
        return dict(drawn)


def _draw_charts(data: dict, lang: str) -> dict[str, bytes]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["font.sans-serif"] = CJK_FONTS
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["axes.spines.top"] = plt.rcParams["axes.spines.right"] = False
    pick = (lambda pair: pair[0]) if lang == "zh" else (lambda pair: pair[1])  # noqa: E731
    out = {}

    for name, rows in (("categories", data["by_category"]), ("departments", data["by_department"])):
        fig, ax = plt.subplots(figsize=(7, 3.6))
        labels, values = [pick(r[0]) for r in rows][::-1], [r[1] for r in rows][::-1]
        ax.barh(labels, values, color="#3949ab" if name == "categories" else "#00897b")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v if v else '<' + str(data['min_group_size'])}", va="center", fontsize=9)
        ax.set_title(say(lang, f"chart_{name}"))
        out[name] = _png(fig)
        plt.close(fig)

    trend = data["deflection"]["trend"]
    months = list(trend)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    width = 0.38
    xs = range(len(months))
    ax.bar([x - width / 2 for x in xs], [trend[m]["deflections"] for m in months], width, label=say(lang, "deflections"), color="#26a69a")
    ax.bar([x + width / 2 for x in xs], [trend[m]["complaints"] for m in months], width, label=say(lang, "complaints"), color="#ef6c00")
    ax2 = ax.twinx()
    ax2.plot(list(xs), [(trend[m]["rate"] or 0) * 100 for m in months], color="#1a237e", marker="o", label="%")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("%")
    ax.set_xticks(list(xs), months)
    ax.set_title(say(lang, "chart_deflection"))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8, frameon=False)
    out["deflection"] = _png(fig)
    plt.close(fig)

    limits = data["sla"]["limits"]
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    names = [_limit_name(r, lang) for r in limits]
    ok, late, running = [r["in_time"] for r in limits], [r["late"] for r in limits], [r["running"] for r in limits]
    ax.barh(names[::-1], ok[::-1], color="#43a047", label=say(lang, "in_time"))
    ax.barh(names[::-1], late[::-1], left=ok[::-1], color="#e53935", label=say(lang, "late"))
    ax.barh(names[::-1], running[::-1], left=[a + b for a, b in zip(ok[::-1], late[::-1])], color="#bdbdbd",
            label=say(lang, "running"))
    ax.set_title(say(lang, "chart_sla"))
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    out["sla"] = _png(fig)
    plt.close(fig)

    dist = data["satisfaction"]["distribution"]
    fig, ax = plt.subplots(figsize=(5, 2.8))
    ax.bar([str(s) for s in dist], list(dist.values()), color=["#e53935", "#fb8c00", "#fdd835", "#7cb342", "#43a047"])
    ax.set_title(f"{say(lang, 'chart_satisfaction')} ({data['satisfaction']['average']})")
    out["satisfaction"] = _png(fig)
    plt.close(fig)
    return out


def limit_label(kind: str, lang: str) -> str:
    """A time limit's name in the review's language ("zh" or "en"), from the catalogues (queue.DEADLINE_LABELS)."""
    with i18n.speaking("zh-Hans" if lang == "zh" else "en"):
        return i18n.gettext(DEADLINE_LABELS[kind])


def _limit_name(row: dict, lang: str) -> str:
    name = limit_label(row["kind"], lang)
    return f"{name} · {LEVELS[row['level']][0 if lang == 'zh' else 1]}" if row["level"] is not None else name


def _pct(a: int, b: int) -> str:
    return f"{a / b:.0%}" if b else "—"


def _share_text(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "—"


def _n(value, k: int) -> str:
    """A count as the table shows it: a merged group still under k says "<k"."""
    return str(value) if value else f"<{k}"


def _dash(value) -> str:
    return "—" if value is None else str(value)


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table; every cell is already escaped text (_t) or a number."""
    return ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + " |",
            *["| " + " | ".join(r) + " |" for r in rows], ""]


def markdown(data: dict, images: dict[str, str] | None, lang: str = "zh", links: str | None = None,
             decide: str | None = None, signals: str | None = None) -> str:
    """The review as Markdown in one language ("zh" or "en").

    images: the charts' addresses, or None for text only (the review e-mailed). links: the workspace's
    address of a complaint with "{number}" in it, to link each breach to its complaint (None in files).
    decide: the workspace's CAPA page, to decide an action on a recurring problem from the review.
    signals: the workspace's page of an article's signals with "{article}" in it (HR only; None in files).
    """
    s, d, sat, k = data["sla"], data["deflection"], data["satisfaction"], data["min_group_size"]
    pick = (lambda pair: pair[0]) if lang == "zh" else (lambda pair: pair[1])  # noqa: E731

    def chart(name: str) -> list[str]:
        return [f"![{data['period']} {name}]({images[name]})", ""] if images is not None else []

    def h(key: str) -> str:
        return say(lang, key)

    rate = f"{d['rate']:.0%}" if d["rate"] is not None else "—"
    overall = [r for r in s["limits"] if r["level"] is None and r["in_time"] + r["late"]]
    rates = ", ".join(f"{_limit_name(r, lang)} {_share_text(r['on_time'])}" for r in overall) or "—"
    rec = sat["staff_recorded"]
    lines = [
        f"# {h('title')} {data['period']}", "", f"## {h('highlights')}", "",
        "- " + say(lang, "received", total=s["total"], resolved=s["resolved"], as_of=data["as_of"]),
        "- " + say(lang, "deflected", n=d["deflections"], rate=rate, false=d["false_deflections"]),
        "- " + say(lang, "on_time", rates=rates, breaches=data["breach_total"], as_of=data["as_of"]),
        "- " + say(lang, "satisfied", avg=_dash(sat["average"]), n=sat["count"], rec=_dash(rec["average"]), rec_n=rec["count"]),
        "- " + say(lang, "alerts_line", emergency=sum(a["kind"] == "emergency" for a in data["alerts"]),
                   safety=sum(a["kind"] == "safety" for a in data["alerts"])), "",
        *chart("categories"), *chart("departments"), *chart("deflection"),
        f"## {h('counts')}", "", say(lang, "merged", k=k), "",
    ]
    for key, rows in (("category", data["by_category"]), ("level", data["by_level"]), ("channel", data["by_channel"]),
                      ("department", data["by_department"])):
        lines += _table([h(key), h("count")], [[_t(pick(label)), _n(n, k)] for label, n in rows])
    months = list(data["deflection"]["trend"])
    lines += [f"## {h('trend')}", "",
              *_table([h("department"), *months], [[_t(pick(label)), *[f"<{k}" if m.get(x, 0) is None else str(m.get(x, 0)) for x in months]]
                                                    for label, m in data["department_trend"]]),
              f"## {h('dept_sla')}", "",
              *_table([h("department"), h("count"), h("due"), h("late"), h("on_time_share"), h("satisfaction")],
                      [[_t(pick(r["label"])), _n(r["complaints"], k), str(r["due"]), str(r["late"]),
                        _share_text(r["on_time"]), _dash(r["rating_average"])] for r in data["department_sla"]]),
              f"## {h('limits')}", "", *chart("sla"), say(lang, "limits_note", as_of=data["as_of"]), "",
              *_table([h("limit"), h("due"), h("in_time"), h("late"), h("running"), h("on_time_share"), h("median"), h("p90")],
                      [[_t(_limit_name(r, lang)), str(r["due"]), str(r["in_time"]), str(r["late"]), str(r["running"]),
                        _share_text(r["on_time"]), _dash(r["median_hours"]), _dash(r["p90_hours"])] for r in s["limits"]]),
              f"## {h('breaches')}", ""]
    if data["breaches"]:
        def number(n: str) -> str:
            return f"[{_t(n)}]({links.format(number=n)})" if links else _t(n)
        lines += _table([h("number"), h("limit"), h("level"), h("due_at"), h("done_at"), h("late_by")],
                        [[number(b["number"]), _t(limit_label(b["kind"], lang)), str(b["level"]),
                          _local(b["due"], data), _local(b["done"], data) if b["done"] else h("unmet"), str(b["late_hours"])]
                         for b in data["breaches"]])
    if len(data["breaches"]) < data["breach_total"]:
        per = max(1, len(data["breaches"]))
        lines += [say(lang, "breach_page", page=data["breach_offset"] // per + 1, pages=-(-data["breach_total"] // per),
                      total=data["breach_total"]) + " " + h("all_in_file"), ""]
    if data["staff"] is not None:
        lines += [f"## {h('staff')}", "", *_staff_table(data["staff"]["teams"], "team", lang),
                  *_staff_table(data["staff"]["handlers"], "handler", lang)]
    lines += [f"## {h('capa')}", ""]
    for block in data["capa"]:
        lines += [say(lang, "capa_line", period=block["period"], decided=block["decided"], done=block["done"],
                      in_time=block["done_in_time"], overdue=block["overdue"]), ""]
        if block["actions"]:
            lines += _table([h("capa_what"), h("team"), h("due_at"), h("status"), h("capa_evidence"), h("number")],
                            [[_t(a["what"]), _t(pick(teams_of(data, a["team"]))), _local(a["due"], data),
                              h("capa_" + a["status"]), _t(a["evidence"] or "—"),
                              _t(", ".join(a["complaints"]) or a["cluster"] or "—")] for a in block["actions"]])
    lines += [f"## {h('recognition')}", ""]
    if data["recognition"]:
        lines += _table([h("department"), h("headcount"), h("count"), h("per_100"), h("on_time_share"), h("satisfaction")],
                        [[_t(pick(r["label"])), str(r["headcount"]), _n(r["complaints"], k),
                          ("<" if r["small"] else "") + str(r["per_100"]), _share_text(r["on_time"]), _dash(r["rating_average"])]
                         for r in data["recognition"][:5]])
    else:
        lines += [h("no_headcounts"), ""]
    lines += [f"## {h('satisfaction')}", "", *chart("satisfaction"),
              f"## {h('articles')}", "", h("articles_note"), "",
              *_table([h("article"), h("solved_clicks"), h("false_deflections"), h("led_to"), h("led_past"), h("votes"),
                       h("helpful")],
                      [[_article_cell(a, signals), str(a["deflections"]), str(a["false_deflections"]), str(a["led_to"]),
                        str(a["led_past"]), str(a["votes"]), _dash(a["helpful"])] for a in data["articles"]]),
              f"## {h('gaps')}", "", f"{h('gap_searches')}:", "",
              *[f"- “{_t(q)}” × {n}" for q, n in data["gaps"]["searches"]], "",
              f"{h('gap_complaints')}:", "",
              *[f"- {_t(pick(label))}: {_n(n, k)}" for label, n in data["gaps"]["complaints_without_match"]], "",
              f"## {h('recurring')}", "",
              *[f"- **{_t(pick(g['category']))}** · {_t(pick(g['department']))} × {g['count']}：{_t(g['example'])}"
                f"（{_t(', '.join(g['complaints'][:5]))}…）{_decide_link(decide, g, lang)}" for g in data["recurring"]], "",
              f"## {h('recommendations')}", "", f"- {h('rec_1')}", f"- {h('rec_2')}", "", f"*{h('footer')}*", ""]
    return "\n".join(lines)


def _article_cell(row: dict, signals: str | None) -> str:
    """The article's title, linked to its signals page (the phrasings themselves) where the reader may open it."""
    if not signals:
        return _t(row["title"])
    from urllib.parse import quote
    return f"[{_t(row['title'])}]({signals.replace('{article}', quote(row['article'], safe=''))})"


def _decide_link(decide: str | None, group: dict, lang: str) -> str:
    """A link to the CAPA form, filled with the cluster's complaints and name (the workspace only)."""
    if not decide:
        return ""
    from urllib.parse import urlencode
    query = urlencode({"complaints": ", ".join(group["complaints"]),
                       "cluster": f"{group['category'][0]} · {group['example'][:40]}"})
    return f" [{say(lang, 'capa_decide')}]({decide}?{query})"


def teams_of(data: dict, team: str) -> tuple[str, str]:
    zh, en = data["team_names"].get(team, (team, team))
    return zh, en


def _local(moment: dt.datetime, data: dict) -> str:
    zone = data.get("zone")
    return (moment.astimezone(metrics.ZoneInfo(zone)) if zone else moment).strftime("%Y-%m-%d %H:%M")


def _staff_table(rows: list[dict], who: str, lang: str) -> list[str]:
    pick = (lambda pair: pair[0]) if lang == "zh" else (lambda pair: pair[1])  # noqa: E731
    head = [say(lang, who)] + ([say(lang, "team")] if who == "handler" else []) + [
        say(lang, key) for key in ("complaints", "open", "response_h", "resolution_h", "on_time_share", "resolution_rate",
                                   "reopen_rate", "self_rated", "staff_recorded")]
    return _table(head, [[_t(r["handler"] if who == "handler" else pick(r["team"]))]
                         + ([_t(pick(r["team"]))] if who == "handler" else [])
                         + [str(r["complaints"]), str(r["open"]), _dash(r["median_response_hours"]),
                            _dash(r["median_resolution_hours"]), _share_text(r["on_time"]),
                            _share_text(r["resolution_rate"]), _share_text(r["reopen_rate"]),
                            f"{_dash(r['rating_average'])} ({r['rating_count']})",
                            f"{_dash(r['recorded_average'])} ({r['recorded_count']})"] for r in rows])


# The one-file review opens from a disk or a mail attachment: nothing in it may run or load.
FILE_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def render_html(data: dict, images: dict[str, str], lang: str = "zh", links: str | None = None,
                decide: str | None = None, signals: str | None = None) -> str:
    """The review as an HTML fragment: every value from outside escaped, the result sanitised again."""
    import markdown as md
    return sanitize(md.markdown(markdown(data, images, lang, links, decide, signals), extensions=["tables"]),
                    data_images=True)


def write(data: dict, out_dir: Path, lang: str = "zh") -> tuple[Path, Path]:
    """Write report-<period>.md (+ PNGs) and a self-contained report-<period>.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = charts(data, lang)
    names = {}
    for key, blob in pngs.items():
        name = f"report-{data['period']}-{key}.png"
        (out_dir / name).write_bytes(blob)
        names[key] = name
    md_path = out_dir / f"report-{data['period']}.md"
    md_path.write_text(markdown(data, names, lang), encoding="utf-8")
    inline = {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in pngs.items()}
    body = render_html(data, inline, lang)
    page = (f"<!doctype html><html lang='{'zh-CN' if lang == 'zh' else 'en'}'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{FILE_CSP}\">"
            f"<title>{say(lang, 'title')} {html.escape(data['period'])}</title>"
            "<style>body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2430}"
            "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .7rem}img{max-width:100%}</style>"
            f"</head><body>{body}</body></html>")
    html_path = out_dir / f"report-{data['period']}.html"
    html_path.write_text(page, encoding="utf-8")
    return md_path, html_path
