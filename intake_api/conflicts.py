"""Conflicts of interest: who may not handle a complaint, and where a complaint about a team's conduct goes.

The SOP wants an investigation team with no conflict of interest in the
matter. A complaint records the department it is about (process.departments);
a staff member belongs to a department (their account's `department`, or, when
none is recorded, the team that department staffs). Such a member is not
assigned the complaint, and a complaint about how a department's people
behave (conflicts.conduct_categories) is not routed to that department's own
team. An admin may override either, with a reason the history keeps.
"""

from __future__ import annotations

from .i18n import gettext, pick
from .models import Complaint, StaffUser


def belongs(kb, user: StaffUser, dept_id: str | None) -> bool:
    dept = kb.process.department(dept_id)
    if dept is None:
        return False
    if user.department:
        return user.department == dept.id
    return dept.team is not None and dept.team in (user.teams or [])


def handler_conflict(kb, c: Complaint, user: StaffUser) -> str | None:
    """Why this person may not handle the complaint, or None."""
    if not belongs(kb, user, c.about_department):
        return None
    dept = kb.process.department(c.about_department)
    return gettext("%(user)s belongs to %(department)s, the department complained about: a conflict of interest",
                   user=user.username, department=pick((dept.zh, dept.en)))


def team_conflict(kb, category: str, about_department: str | None, team: str | None) -> str | None:
    """Why a conduct complaint may not go to this team (its own people are complained about), or None."""
    dept = kb.process.department(about_department)
    if dept is None or dept.team is None or dept.team != team or category not in kb.process.conflicts.conduct_categories:
        return None
    return gettext("The complaint is about the conduct of %(department)s's people: not for its own team",
                   department=pick((dept.zh, dept.en)))
