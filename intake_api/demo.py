"""A realistic quarter of complaints, deflections, searches and votes, for trying the review.

Everything goes through the same process functions as real work (register,
change_status, respond, ...), with the clock set to the simulated moment.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy.orm import Session

from kb_builder.articles import published_articles
from kb_builder.sources import read_sources

from . import alerts, process
from .i18n import gettext
from .metrics import Period
from .models import AnalyticsEvent, Deflection
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
    now = now or process.utcnow()
    arts = [a for a in published_articles(read_sources(kb)) if a.kind == "case"]
    by_cat: dict[str, list] = {}
    for a in arts:
        by_cat.setdefault(a.category, []).append(a)
    cats = [(c, len(v)) for c, v in by_cat.items()]
    made = 0

    def submit(text: str, category: str, when: dt.datetime, shown: list[str]):
        who = rng.random()
        disclosure = "anonymous" if who < 0.25 else "confidential" if who < 0.35 else "named"
        payload: dict[str, object] = {"category": category, "description": text, "request": "请尽快处理",
                   "occurred_at": when.date().isoformat(), "location": rng.choice(PLACES),
                   "channel": rng.choice(["online_form"] * 8 + ["anonymous_platform"]) if disclosure == "anonymous" else "online_form",
                   "disclosure": disclosure, "shown_articles": shown}
        if disclosure != "anonymous":
            payload["identity"] = {"department": _weighted(rng, DEPARTMENTS)}
        data = ComplaintIn.model_validate(payload, context={"categories": kb.category_ids})
        c, _ = process.register(session, kb, clock, data, now=when)
        return c

    def work(c, when: dt.datetime):
        if when + dt.timedelta(days=10) > now or rng.random() < 0.08:
            return  # recent or still open
        late = rng.random() < 0.12
        t = when + dt.timedelta(hours=rng.uniform(1, 20))
        if c.safety_flag:  # urgent: the temporary measures come first (content/sops/safety-emergencies.md)
            process.set_temporary_measures(session, c, gettext("Area cordoned off"), "staff:demo")
        process.change_status(session, clock, c, "assessed", "staff:demo", now=t)
        t += dt.timedelta(hours=rng.uniform(2, 60 if not late else 140))
        process.respond(session, c, "已收到，正在处理。", "staff:demo", now=t)
        process.change_status(session, clock, c, "investigating", "staff:demo", now=t)
        t += dt.timedelta(days=rng.uniform(0.5, 6))
        process.end_investigation(session, clock, c, "staff:demo", now=t)
        t += dt.timedelta(days=rng.uniform(0.2, 5 if not late else 14))
        process.respond(session, c, "问题已处理，详见说明。", "staff:demo", now=t)
        process.change_status(session, clock, c, "resolved", "staff:demo", now=t)
        if rng.random() < 0.7:
            c.rating = _weighted(rng, [(5, 40), (4, 30), (3, 15), (2, 9), (1, 6)])
            c.rated_at = t + dt.timedelta(days=1)
        if rng.random() < 0.6:
            process.change_status(session, clock, c, "closed", "staff:demo", now=t + dt.timedelta(days=3))

    for _ in range(complaints):
        cat = _weighted(rng, cats)
        art = rng.choice(by_cat[cat])
        when = _moment(rng, period)
        text = rng.choice(art.questions) + "，" + rng.choice(["已经好几天了", "影响工作", "希望尽快解决", "第二次反映了"])
        shown = [art.id] if rng.random() < 0.6 else []
        c = submit(text, cat, when, shown)
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
