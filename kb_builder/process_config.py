"""Settings of the complaint process (content/sops/): calendar, time limits, teams, dispatch, alerts.

Declared here once with their defaults; kb.yml's `process:` section overrides
them and config.py validates the whole file at the edge.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class _Strict(BaseModel):
    # A docstring under a field is its help in operations/configuration.md.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class CalendarSettings(_Strict):
    """Working days. CN follows China's official calendar (holidays and 调休 make-up days)."""

    country: Literal["CN", "none"] = "CN"
    """CN: China's official calendar with 调休 make-up days; none: weekends only."""
    holidays: list[dt.date] = []
    """Extra days off (a company holiday, another country's), e.g. [2026-12-31]."""
    workdays: list[dt.date] = []
    """Extra working days (a make-up Saturday)."""
    weekend: list[int] = [5, 6]
    """Days of the week off; Monday is 0."""


class LevelLimit(_Strict):
    """How fast a level must get its first response; hours or working days, not both."""

    hours: int | None = Field(default=None, ge=1)
    """First response within this many hours."""
    working_days: int | None = Field(default=None, ge=1)
    """First response within this many working days."""
    resolve_hours: int | None = Field(default=None, ge=1)
    """Urgent complaints must be handled (result fed back) within this many hours."""

    @model_validator(mode="after")
    def _one_unit(self):
        if (self.hours is None) == (self.working_days is None):
            raise ValueError("give either hours or working_days")
        return self


class Reminder(_Strict):
    """One step of the SLA reminders: `hours` after a limit (negative: before it), tell `to`, once."""

    hours: float = Field(ge=-720, le=720)
    """Hours after the limit (assessment, first response, result); -8: eight hours before it."""
    to: list[Literal["handler", "team", "lead", "admins"]] = Field(min_length=1)
    """handler (else the team when nobody is assigned), the team, its lead (process.teams[].lead), admins."""


class SlaSettings(_Strict):
    assessment_hours: int = Field(default=24, ge=1)
    """Initial assessment within this many hours of receipt."""
    result_working_days: int = Field(default=7, ge=1)
    """Result fed back within this many working days after the investigation ends (receipts promise it)."""
    review_working_days: int = Field(default=3, ge=1)
    """A supervisor review (after a low rating or a disputed report escalates a complaint) within this many
    working days."""
    due_soon_hours: int = Field(default=8, ge=1)
    """The queue warns "due soon" this many hours before a limit."""
    levels: dict[int, LevelLimit] = {
        1: LevelLimit(hours=24, resolve_hours=24),
        2: LevelLimit(working_days=1),
        3: LevelLimit(working_days=3),
    }
    """First-response limit per level: 1 urgent, 2 important, 3 general."""
    reminders: list[Reminder] = [
        Reminder(hours=-8, to=["handler"]),
        Reminder(hours=0, to=["handler"]),
        Reminder(hours=24, to=["lead", "admins"]),
    ]
    """Due-soon and overdue notices, each sent once per limit of a complaint: by default 8 hours before a
    limit to the handler, when it passes to the handler, and a day later to the team lead and admins."""

    @field_validator("levels")
    @classmethod
    def _all_levels(cls, value: dict[int, LevelLimit]) -> dict[int, LevelLimit]:
        if set(value) != {1, 2, 3}:
            raise ValueError("give limits for levels 1, 2 and 3")
        return value


class Team(_Strict):
    id: str = Field(pattern=SLUG)
    """Used in staff accounts (`kb staff create --team`) and dispatch rules."""
    zh: str
    """Chinese name."""
    en: str
    """English name."""
    lead: str | None = None
    """Username of the team lead, who is told when the team's complaints stay overdue (sla.reminders)."""


class Department(_Strict):
    """A department of the organisation, which a complaint may be about (and a staff member may belong to)."""

    id: str = Field(pattern=SLUG)
    """Used in staff accounts (`kb staff create --department`), the API and reports."""
    zh: str
    """Chinese name."""
    en: str
    """English name."""
    team: str | None = None
    """The desk team made of this department's people, if any: it does not handle complaints about how its
    own people behave (conflicts.conduct_categories)."""
    headcount: int | None = Field(default=None, ge=1)
    """How many people work there: the review ranks departments by complaints per head (the SOP's 表彰 list);
    a department without one is left out of that ranking."""


class InvestigationStep(_Strict):
    id: str = Field(pattern=SLUG)
    """Stored with the complaint and shown in its history."""
    zh: str
    """Chinese name."""
    en: str
    """English name."""


class ConflictSettings(_Strict):
    """Conflicts of interest (PROCESS.md: the investigation team has none with the matter)."""

    conduct_categories: list[str] = ["service", "harassment", "discrimination", "misconduct"]
    """Complaints about how a department's people behave: they never go to that department's own team."""
    route_to: str = "relations"
    """Where such a complaint goes instead (a team id)."""


class DispatchRule(_Strict):
    """Route to `team` when the category is one of `categories`, or when a keyword appears.

    The chosen category decides the team. Keywords (matched in the
    description only, never in contact fields) route a complaint whose
    category has no team of its own; with `override: true` they beat the
    category. Either way `reason` is what staff read in the history.
    """

    team: str
    """The team id complaints go to."""
    categories: list[str] = []
    """Category ids this rule routes."""
    keywords: list[str] = []
    """Words in the description that route a complaint whose category has no team of its own."""
    override: bool = False
    """true: the keywords beat the category's team."""
    reason: str = ""
    """What staff read in the history (required with keywords)."""

    @model_validator(mode="after")
    def _keywords_say_why(self):
        if self.keywords and not self.reason.strip():
            raise ValueError("a rule with keywords needs a reason (shown to staff in the complaint's history)")
        return self


class SatisfactionSettings(_Strict):
    low_rating: int = Field(default=2, ge=1, le=5)
    """A satisfaction rating (1-5) this low or lower is unhappy..."""
    on_low: Literal["reopen", "escalate"] = "reopen"
    """...and reopens or escalates the complaint."""


class EmergencySettings(_Strict):
    """More than `threshold` similar complaints within `window_hours` raise an alert (an SOP in content/sops/)."""

    threshold: int = Field(default=5, ge=1)
    """More than this many similar complaints..."""
    window_hours: int = Field(default=24, ge=1)
    """...within this many hours raise an alert."""
    similarity: float = Field(default=0.2, gt=0, le=1)
    """How alike two complaints must be (IDF-weighted cosine, intake_api/alerts.py)."""
    webhook_url: str = ""
    """An emergency alert is also POSTed here, as the json webhook payload of notifications (through the
    outbox, with retries). Empty: only the people and robots of notifications are told (and the log)."""


# Extra words for the recogniser (kb_builder/recognise.py, content/recognise.yml):
# safety_keywords join its danger words, sensitive.words its harassment words.
# Empty by default: the word lists live with HR's examples.
SAFETY_WORDS: list[str] = []
SENSITIVE_WORDS: list[str] = []


class SensitiveSettings(_Strict):
    """Complaints that must reach a person, not an FAQ article (content/sops/anonymity.md, issue 7)."""

    words: list[str] = SENSITIVE_WORDS
    """Extra harassment words for the recogniser (its lists live with HR's examples in content/recognise.yml)."""
    emergency_contact: str = "如有人身危险，请立即拨打 110 / 120，或联系保安值班室（分机 8110）。 · If anyone is in danger, call 110 / 120 now, or the security desk (ext. 8110)."
    """Shown on the form when the text describes danger (safety words or a sensitive safety category)."""
    team: str = "relations"
    """The team sensitive complaints go to."""


class PrivacySettings(_Strict):
    retention_days: int = Field(default=730, ge=30)
    """Closed complaints older than this lose their text and identity (`kb purge`); counts stay."""
    min_group_size: int = Field(default=5, ge=1)
    """Reports merge any group smaller than this, so a small team's complaint cannot be traced."""
    employee_patterns: list[str] = [r"\bE\d{6}\b"]
    """Employee numbers removed when a complaint becomes an article (regular expressions)."""
    room_patterns: list[str] = [r"\d{3,4}(?:室|房|號房|号房)", r"\bRoom\s*\d{2,5}\b"]
    """Room numbers removed when a complaint becomes an article (regular expressions)."""
    public_contacts: list[str] = ["8000", "8110", "hr-complaints@example.com"]
    """The organisation's own desk numbers and mailboxes: never redacted (the SOPs publish them)."""


class ProcessSettings(_Strict):
    """The complaint process (PROCESS.md): set in kb.yml only what your organisation changes."""

    calendar: CalendarSettings = CalendarSettings()
    sla: SlaSettings = SlaSettings()
    teams: list[Team] = [
        Team(id="hr-desk", zh="人力资源服务台", en="HR service desk"),
        Team(id="facilities", zh="行政后勤组", en="Facilities team"),
        Team(id="it", zh="IT 服务台", en="IT service desk"),
        Team(id="finance", zh="财务组", en="Finance team"),
        Team(id="canteen", zh="餐饮服务组", en="Canteen team"),
        Team(id="relations", zh="员工关系组", en="Employee relations"),
        Team(id="hazards", zh="安全隐患处置组", en="Safety and hazards team"),
    ]
    """The teams complaints are routed to."""
    departments: list[Department] = [
        Department(id="hr", zh="人力资源部", en="Human resources", team="hr-desk"),
        Department(id="admin", zh="行政部", en="Administration", team="facilities"),
        Department(id="it", zh="信息技术部", en="IT department", team="it"),
        Department(id="finance", zh="财务部", en="Finance department", team="finance"),
        Department(id="canteen", zh="餐饮中心", en="Catering", team="canteen"),
        Department(id="security", zh="安保部", en="Security", team="hazards"),
        Department(id="production", zh="生产部", en="Production"),
        Department(id="sales", zh="销售部", en="Sales"),
        Department(id="logistics", zh="物流部", en="Logistics"),
    ]
    """The departments a complaint may be about (the complainant's own department is part of their identity)."""
    conflicts: ConflictSettings = ConflictSettings()
    investigation_steps: list[InvestigationStep] = [
        InvestigationStep(id="collect", zh="资料收集", en="Gathering evidence"),
        InvestigationStep(id="verify", zh="第三方核实", en="Third-party verification"),
        InvestigationStep(id="summarise", zh="结果汇总", en="Summing up"),
    ]
    """The steps of an investigation (PROCESS.md), in order; staff mark which one a complaint is at."""
    default_team: str = "hr-desk"
    """The team of a complaint no dispatch rule routes."""
    dispatch: list[DispatchRule] = [
        DispatchRule(team="facilities", categories=["facilities", "supplies", "dormitory", "shuttle"]),
        DispatchRule(team="it", categories=["it-access"], keywords=["VPN", "邮箱", "密码", "账号", "password", "e-mail"],
                     reason="IT words in a complaint whose category has no team of its own"),
        DispatchRule(team="finance", categories=["payroll"]),
        DispatchRule(team="canteen", categories=["canteen"]),
        DispatchRule(team="hazards", categories=["safety"]),
    ]
    """Routing rules, tried in order (see the fields below)."""
    safety_keywords: list[str] = SAFETY_WORDS
    """Extra danger words for the recogniser (its lists live with HR's examples in content/recognise.yml)."""
    urgent_categories: list[str] = ["safety"]
    """Complaints in these categories are urgent from the start."""
    category_kinds: dict[str, str] = {"safety": "danger", "harassment": "harassment",
                                      "discrimination": "discrimination", "misconduct": "misconduct"}
    """Which kind of content/recognise.yml a sensitive category means (its team, urgency, emergency contact)."""
    sensitive: SensitiveSettings = SensitiveSettings()
    privacy: PrivacySettings = PrivacySettings()
    satisfaction: SatisfactionSettings = SatisfactionSettings()
    emergency: EmergencySettings = EmergencySettings()

    @model_validator(mode="after")
    def _teams_exist(self):
        ids = {t.id for t in self.teams}
        if self.default_team not in ids:
            raise ValueError(f"default_team '{self.default_team}' is not one of the teams ({', '.join(sorted(ids))})")
        if self.sensitive.team not in ids:
            raise ValueError(f"sensitive.team '{self.sensitive.team}' is not one of the teams")
        for i, rule in enumerate(self.dispatch):
            if rule.team not in ids:
                raise ValueError(f"dispatch rule {i + 1} names unknown team '{rule.team}'")
        if self.conflicts.route_to not in ids:
            raise ValueError(f"conflicts.route_to '{self.conflicts.route_to}' is not one of the teams")
        seen: set[str] = set()
        for d in self.departments:
            if d.team is not None and d.team not in ids:
                raise ValueError(f"department {d.id} names unknown team '{d.team}'")
            if d.id in seen:
                raise ValueError(f"department id '{d.id}' appears twice")
            seen.add(d.id)
        return self

    @property
    def department_ids(self) -> list[str]:
        return [d.id for d in self.departments]

    def department(self, dept_id: str | None) -> Department | None:
        return next((d for d in self.departments if d.id == dept_id), None) if dept_id else None

    def team(self, team_id: str) -> Team | None:
        return next((t for t in self.teams if t.id == team_id), None)
