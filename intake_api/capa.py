"""Corrective and preventive actions (CAPA, the SOP's 预防措施): decided on complaints or a recurring problem,
owned by a team with a due date, done only with evidence. The desk checks who may do what; this module
only reads and writes the rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import CapaAction, CapaComplaint, Complaint, utcnow
from .queue import LIST_PAGE_SIZE, RowsPage, page_of

MAX_WHAT = 2000


@dataclass(frozen=True)
class CapaView:
    action: CapaAction
    complaints: list[str]  # numbers

    def overdue(self, now: dt.datetime) -> bool:
        return self.action.status == "open" and self.action.due_at < now


def create(session: Session, what: str, owner_team: str, due_at: dt.datetime, complaints: list[Complaint],
           cluster: str | None, actor: str, now: dt.datetime | None = None) -> CapaAction:
    action = CapaAction(what=what, owner_team=owner_team, due_at=due_at, status="open", cluster=cluster,
                        created_by=actor, created_at=now or utcnow())
    session.add(action)
    session.flush()
    for c in complaints:
        session.add(CapaComplaint(capa_id=action.id, complaint_id=c.id))
    return action


def finish(action: CapaAction, evidence: str, actor: str, now: dt.datetime | None = None) -> None:
    action.status, action.evidence = "done", evidence
    action.done_at, action.done_by = now or utcnow(), actor


def views(session: Session, actions: list[CapaAction]) -> list[CapaView]:
    """The actions with the numbers of their complaints (one query for all of them)."""
    numbers: dict[int, list[str]] = {}
    if actions:
        for capa_id, number in session.execute(
                select(CapaComplaint.capa_id, Complaint.number).join(Complaint, Complaint.id == CapaComplaint.complaint_id)
                .where(CapaComplaint.capa_id.in_([a.id for a in actions])).order_by(Complaint.id)):
            numbers.setdefault(capa_id, []).append(number)
    return [CapaView(a, numbers.get(a.id, [])) for a in actions]


def listing(session: Session, teams: list[str] | None, open_only: bool = True, due_before: dt.datetime | None = None,
            page: int = 1, per_page: int = LIST_PAGE_SIZE) -> RowsPage:
    """Actions of these owner teams (None: every team), soonest due first, by pages with the total."""
    query = select(CapaAction)
    if teams is not None:
        query = query.where(CapaAction.owner_team.in_(teams))
    if open_only:
        query = query.where(CapaAction.status == "open")
    if due_before is not None:
        query = query.where(CapaAction.due_at < due_before)
    result = page_of(session, query, (CapaAction.due_at, CapaAction.id), page, per_page)
    return replace(result, items=views(session, result.items))


def decided(session: Session, period, as_of: dt.datetime) -> dict:
    """What was decided in a period and what of it was done by `as_of`: counts and the actions themselves."""
    in_period = (CapaAction.created_at >= period.start) & (CapaAction.created_at < period.end)
    done = (CapaAction.status == "done") & (CapaAction.done_at <= as_of)
    total, done_n, in_time, overdue = session.execute(select(
        func.count(), func.count().filter(done), func.count().filter(done & (CapaAction.done_at <= CapaAction.due_at)),
        func.count().filter(~done & (CapaAction.due_at < as_of))).where(in_period)).one()
    actions = list(session.scalars(select(CapaAction).where(in_period).order_by(CapaAction.due_at, CapaAction.id)))
    return {"period": period.label, "decided": total, "done": done_n, "done_in_time": in_time, "overdue": overdue,
            "actions": [{"id": v.action.id, "what": v.action.what, "team": v.action.owner_team,
                         "due": v.action.due_at, "status": "done" if v.action.status == "done" and v.action.done_at
                         and v.action.done_at <= as_of else "overdue" if v.action.due_at < as_of else "open",
                         "evidence": v.action.evidence, "cluster": v.action.cluster, "complaints": v.complaints}
                        for v in views(session, actions)]}
