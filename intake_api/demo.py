"""A realistic quarter of complaints, deflections, searches and votes, for trying the review.

Everything goes through the same process functions as real work (register,
change_status, respond, ...), with the clock set to the simulated moment.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb_builder.articles import published_articles
from kb_builder.sources import read_sources

from . import alerts, process
from .i18n import gettext
from .metrics import Period
from .models import AnalyticsEvent, Deflection, FollowUp, StaffUser
from .schemas import ComplaintIn

DEPARTMENTS = [("研发一部", 30), ("研发二部", 22), ("市场部", 14), ("财务部", 10), ("行政部", 8), ("法务部", 2),
               ("审计部", 1)]
PLACES = ["A 栋 3 楼", "B 栋 2 楼", "3 号楼", "二号宿舍楼", "一号食堂", "东线班车", "行政楼一层"]
GAPS = ["停车场充电桩", "年会报名", "体检预约", "工会福利怎么领", "健身房开放时间", "快递收发室在哪"]
WAVE = ["3号楼突然停电了，电脑全部关机", "三号楼停电，空调和电脑都不能用", "3号楼整层停电，没法工作",
        "3号楼又停电了，文件没保存", "停电了！3号楼二层三层都没电", "3号楼停电快一个小时了，电梯也停了",
        "3号楼停电，冰箱里的东西要坏了"]
RECURRING = ["3号楼茶水间的饮水机又坏了，不出热水", "3号楼饮水机又不出水了", "三楼茶水间饮水机坏了第三次了",
             "3号楼的饮水机又漏水了"]

# Complaint wording: people describe one problem in many ways (the review's recurring
# problems must be measured on texts that differ, not on a few dozen fixed phrasings).
WHEN_ZH = ["", "", "今天早上", "昨天下午", "这周一", "最近两周", "从上个月开始", "每天中午", "刚才", "周末加班时"]
OPENERS_ZH = ["", "", "你好，", "想反映一下：", "又来了，", "同事们都在说", "不好意思打扰，", "紧急！", "我们组发现"]
IMPACT_ZH = ["已经好几天了", "影响工作", "大家都很无奈", "耽误了开会", "客户来访时很尴尬", "第二次反映了", "一直没人管",
             "新来的同事也遇到了", "晚上加班时更严重", "已经跟前台说过", "整个部门都受影响", "找了几个人都说不归他们管"]
ASK_ZH = ["", "希望尽快解决", "请安排人看看", "麻烦处理一下", "能不能给个说法", "谢谢", "请回复处理进度", "盼复"]
WHEN_EN = ["", "", "this morning", "since last week", "every afternoon", "again today", "for two weeks now"]
IMPACT_EN = ["", "it affects the whole team", "this is the second time I report it", "nobody seems responsible",
             "visitors noticed it", "it slows everyone down"]
ASK_EN = ["", "please fix it soon", "could someone look at it?", "thanks", "please tell me who handles this"]


def varied(rng: random.Random, question: str) -> str:
    """One complaint about the problem an article's question names, worded as one person might."""
    if question.isascii():
        parts = [question[:1].upper() + question[1:], rng.choice(WHEN_EN), rng.choice(IMPACT_EN), rng.choice(ASK_EN)]
        return ", ".join(p for p in parts if p) + rng.choice([".", "!", ""])
    place = rng.choice(PLACES) if rng.random() < 0.4 else ""
    head = rng.choice(OPENERS_ZH) + rng.choice(WHEN_ZH) + place + question
    tail = [x for x in rng.sample(IMPACT_ZH, rng.randint(0, 2)) + [rng.choice(ASK_ZH)] if x]
    return "，".join([head, *tail]) + rng.choice(["。", "！", "", "。。"])


def _weighted(rng: random.Random, pairs):
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _moment(rng: random.Random, period: Period) -> dt.datetime:
    span = (period.end - period.start).total_seconds()
    while True:
        t = period.start + dt.timedelta(seconds=rng.random() * span)
        local = t + dt.timedelta(hours=8)
        if local.weekday() < 5 and 8 <= local.hour < 19:
            return t


def generate(session: Session, kb, clock, period: Period, complaints: int = 400, seed: int = 7,
             weights=None, now: dt.datetime | None = None) -> dict:
    rng = random.Random(seed)
    wording = random.Random(f"wording {seed}")  # its own stream: the wording never shifts the other draws
    now = now or process.utcnow()
    arts = [a for a in published_articles(read_sources(kb)) if a.kind == "case"]
    by_cat: dict[str, list] = {}
    for a in arts:
        by_cat.setdefault(a.category, []).append(a)
    cats = [(c, len(v)) for c, v in by_cat.items()]
    # Who is complained about: a few departments draw most complaints, so the review has a ranking.
    about = [(d.id, w) for d, w in zip(kb.process.departments, [30, 5, 18, 6, 25, 4, 8, 3, 12, 2, 1, 1])]
    # The handlers: the staff accounts already in this database, by team (the demo creates none).
    handlers: dict[str, list[StaffUser]] = {}
    for u in session.scalars(select(StaffUser).where(StaffUser.active.is_(True), StaffUser.role != "admin")
                             .order_by(StaffUser.id)):
        for team in u.teams or []:
            handlers.setdefault(team, []).append(u)
    made = 0

    def submit(text: str, category: str, when: dt.datetime, shown: list[str]):
        who = rng.random()
        disclosure = "anonymous" if who < 0.25 else "confidential" if who < 0.35 else "named"
        payload: dict[str, object] = {"category": category, "description": text, "request": "请尽快处理",
                   "occurred_at": when.date().isoformat(), "location": rng.choice(PLACES),
                   "channel": rng.choice(["online_form"] * 8 + ["anonymous_platform"]) if disclosure == "anonymous" else "online_form",
                   "disclosure": disclosure, "shown_articles": shown,
                   "about_department": _weighted(rng, about) if rng.random() < 0.9 else None}
        if disclosure != "anonymous":
            payload["identity"] = {"department": _weighted(rng, DEPARTMENTS)}
        data = ComplaintIn.model_validate(payload, context={"categories": kb.category_ids,
                                                            "optional": kb.optional_fields})
        c, _ = process.register(session, kb, clock, data, now=when)
        return c

    def work(c, when: dt.datetime):
        team = handlers.get(c.team or "")
        if team and c.handler_id is None:
            handler = team[rng.randrange(len(team))]
            c.handler_id = handler.id
            process.record(session, c, "staff:demo", "handler", None, handler.username, at=when)
        if when + dt.timedelta(days=10) > now or rng.random() < 0.08:
            return  # recent or still open
        late = rng.random() < 0.12
        t = when + dt.timedelta(hours=rng.uniform(1, 20 if not late else 40))
        if c.safety_flag:  # urgent: the temporary measures come first (content/sops/safety-emergencies.md)
            process.set_temporary_measures(session, c, gettext("Area cordoned off"), "staff:demo")
        process.change_status(session, clock, c, "assessed", "staff:demo", now=t)
        t += dt.timedelta(hours=rng.uniform(2, 60 if not late else 140))
        process.respond(session, c, "已收到，正在处理。", "staff:demo", now=t)
        process.change_status(session, clock, c, "investigating", "staff:demo", now=t)
        pace = 0.1 if c.level == 1 else 1.0  # urgent ones are handled within hours, mostly
        t += dt.timedelta(days=rng.uniform(0.5, 6) * pace)
        process.end_investigation(session, clock, c, "staff:demo", now=t)
        t += dt.timedelta(days=rng.uniform(0.2, 5 if not late else 14) * pace)
        process.respond(session, c, "问题已处理，详见说明。", "staff:demo", now=t)
        process.change_status(session, clock, c, "resolved", "staff:demo", now=t)
        if rng.random() < 0.15:  # a promised repair: kept (sometimes late) or still open
            c.solutions, c.promise_text = ["repair"], "更换设备"
            c.promise_due_at = t + dt.timedelta(days=3)
            if rng.random() < 0.8:
                c.promise_kept_at = t + dt.timedelta(days=rng.uniform(1, 5))
        if rng.random() < 0.06:  # escalated: the supervisor reviews, sometimes after the limit
            t += dt.timedelta(days=1)
            process.change_status(session, clock, c, "escalated", "staff:demo", now=t)
            t += dt.timedelta(days=rng.uniform(0.5, 6))
            c.reviewed_at, c.review_outcome = t, "upheld"
            process.record(session, c, "staff:demo", "review", None, "upheld", at=t)
            process.change_status(session, clock, c, "resolved", "staff:demo", now=t)
        elif rng.random() < 0.05:  # reopened: a new round of investigation and result
            t += dt.timedelta(days=1)
            process.change_status(session, clock, c, "reopened", "staff:demo", now=t)
            process.change_status(session, clock, c, "investigating", "staff:demo", now=t)
            t += dt.timedelta(days=rng.uniform(0.5, 4))
            process.respond(session, c, "重新调查后已处理。", "staff:demo", now=t)
            process.change_status(session, clock, c, "resolved", "staff:demo", now=t)
        if rng.random() < 0.7:
            c.rating = _weighted(rng, [(5, 40), (4, 30), (3, 15), (2, 9), (1, 6)])
            c.rated_at = t + dt.timedelta(days=1)
        elif rng.random() < 0.5:  # 回访: staff record what the complainant told them, kept apart
            session.add(FollowUp(complaint_id=c.id, at=t + dt.timedelta(days=2), staff_username="demo", method="phone",
                                 score=_weighted(rng, [(5, 30), (4, 40), (3, 20), (2, 10)])))
        if rng.random() < 0.6 and (c.promise_due_at is None or c.promise_kept_at is not None):
            process.change_status(session, clock, c, "closed", "staff:demo", now=t + dt.timedelta(days=3))

    for _ in range(complaints):
        cat = _weighted(rng, cats)
        art = rng.choice(by_cat[cat])
        when = _moment(rng, period)
        text = varied(wording, rng.choice(art.questions))
        shown = [art.id] if rng.random() < 0.6 else []
        c = submit(text, cat, when, shown)
        grade = rng.random()
        if grade < 0.2:  # the desk's assessment: some are important, a few urgent (24 h to handle)
            process.set_level(session, clock, c, 1 if grade < 0.05 else 2, "staff:demo")
        work(c, when)
        made += 1
    # The same water dispenser, again and again.
    for i in range(8):
        when = _moment(rng, period)
        work(submit(RECURRING[i % len(RECURRING)], "facilities", when, []), when)
        made += 1
    # A wave: seven outage complaints in one afternoon.
    wave_start = _moment(rng, period).replace(minute=0)
    for i, text in enumerate(WAVE):
        c = submit(text, "facilities", wave_start + dt.timedelta(minutes=17 * i), [])
        session.flush()
        if weights is not None:
            alerts.check_new_complaint(session, kb, c, weights)
        made += 1
    # Deflections, searches and votes.
    for _ in range(int(complaints * 1.6)):
        art = rng.choice(arts)
        session.add(Deflection(article_id=art.id, query=rng.choice(art.questions), created_at=_moment(rng, period)))
    for _ in range(complaints * 3):
        if rng.random() < 0.15:
            q, n = rng.choice(GAPS), 0
        else:
            art = rng.choice(arts)
            q, n = rng.choice(art.questions), rng.randint(1, 12)
        session.add(AnalyticsEvent(kind="search", query=q, result_count=n, article_ids=[], created_at=_moment(rng, period)))
    for _ in range(complaints):
        art = rng.choice(arts)
        session.add(AnalyticsEvent(kind="page_feedback", page=f"/{art.url}", value=int(rng.random() < 0.8),
                                   article_ids=[], created_at=_moment(rng, period)))
    session.commit()
    return {"complaints": made, "deflections": int(complaints * 1.6), "searches": complaints * 3}
