"""What the API accepts, validated field by field, with messages in Chinese and English."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator

from .errors import ApiError
from .i18n import N_, gettext
from .workflow import Channel

M = TypeVar("M", bound=BaseModel)

# A random token of the site's own (kb.js): letters, digits and hyphens, nothing that could carry a name.
BROWSER_TOKEN = r"^[A-Za-z0-9-]{16,64}$"
DISCLOSURES = ("anonymous", "confidential", "named")
# One @, no spaces or angle brackets, a dot in the domain: enough to catch typos without refusing real addresses.
EMAIL = re.compile(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\".]{2,}")
EARLIEST = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
_MOMENT: TypeAdapter[dt.datetime] = TypeAdapter(dt.datetime)
CHANNELS = tuple(c.value for c in Channel)
CHANNEL_LABELS = {
    "online_form": N_("Online form"), "email": N_("E-mail"),
    "hotline": N_("Hotline"), "reception": N_("Reception desk"),
    "anonymous_platform": N_("Anonymous platform"),
}

_MESSAGES = {
    "missing": N_("This field is required"),
    "string_too_short": N_("Too short: at least {min_length} characters"),
    "string_too_long": N_("Too long: at most {max_length} characters"),
    "literal_error": N_("Must be one of: {expected}"),
    "enum": N_("Must be one of: {expected}"),
    "extra_forbidden": N_("Unknown field: remove it"),
    "bool_type": N_("Must be true or false"),
    "bool_parsing": N_("Must be true or false"),
    "string_type": N_("Must be text"),
    "list_type": N_("Must be a list"),
    "too_long": N_("Too many: at most {max_length} items"),
    "model_type": N_("Must be an object"),
    "model_attributes_type": N_("Must be an object"),
    "datetime_from_date_parsing": N_("Use a date such as 2026-11-25"),
    "date_from_datetime_parsing": N_("Use a date such as 2026-11-25"),
    "datetime_parsing": N_("Use a date such as 2026-11-25"),
    "datetime_type": N_("Use a date such as 2026-11-25"),
}


def field_errors(exc: ValidationError) -> list[dict]:
    """Pydantic's errors as [{field, message}], one per bad field."""
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "_form"
        template = _MESSAGES.get(err["type"])
        if err["type"] == "value_error":
            message = err["msg"].removeprefix("Value error, ")
        elif template:
            message = gettext(template).format(**(err.get("ctx") or {}))
        else:
            message = err["msg"]
        out.append({"field": field, "message": message})
    return out


def parse(model: type[M], data, **context) -> M:
    if not isinstance(data, dict):
        raise ApiError(gettext("The body must be a JSON object"),
                       [{"field": "_form", "message": "expected a JSON object"}])
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ApiError(gettext("Some fields need fixing"), field_errors(exc)) from None


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Identity(_In):
    name: str | None = Field(default=None, max_length=100)
    department: str | None = Field(default=None, max_length=100)
    position: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=200)

    def is_empty(self) -> bool:
        return not any((self.name, self.department, self.position, self.contact))


class ComplaintIn(_In):
    category: str
    description: str = Field(min_length=5, max_length=5000)
    request: str | None = Field(default=None, max_length=2000, validate_default=True)
    # A date alone ("2026-11-20", what the form sends) stays a date: no midnight is invented for it.
    occurred_at: dt.datetime | dt.date
    # Required unless the category lists them in `optional` (kb.yml categories): checked with the category.
    location: str | None = Field(default=None, max_length=200, validate_default=True)
    channel: Channel = Channel.ONLINE_FORM
    # anonymous: no identity kept; confidential: for employee relations only; named.
    disclosure: Literal[DISCLOSURES] | None = None  # type: ignore[valid-type]
    anonymous: bool = Field(default=False, validate_default=True)
    identity: Identity | None = None  # validated after channel, disclosure and anonymous (declaration order)
    # Who the complaint is about: a department id of process.departments (the form offers them), and a role.
    about_department: str | None = Field(default=None, max_length=40)
    about_role: str | None = Field(default=None, max_length=100)
    # Where a named or confidential complainant wants progress e-mailed (stored encrypted, erased with the identity).
    notify_email: str | None = Field(default=None, max_length=254)
    shown_articles: list[str] = Field(default_factory=list, max_length=50)
    # The form: whether a confident suggestion was on screen at submit (content gaps count those without).
    confident_at_submit: bool | None = None
    # The random token the site keeps in this browser: never stored with the complaint (metrics.py).
    browser_token: str | None = Field(default=None, pattern=BROWSER_TOKEN)

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("categories", [])
        if value not in known:
            raise ValueError(gettext("Unknown category '%(value)s': use one of %(known)s", value=value, known=', '.join(known)))
        return value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _date_or_datetime(cls, value):
        # The form sends a date; other clients may send a full timestamp. Decided here, so that a union
        # of the two never reads "2026-11-20T00:00" as a date or a date as midnight.
        if isinstance(value, str):
            try:
                if len(value.strip()) == 10:
                    return dt.date.fromisoformat(value.strip())
                return _MOMENT.validate_python(value)
            except (ValueError, ValidationError):
                raise ValueError(gettext("Use a date such as 2026-11-25")) from None
        return value

    @field_validator("occurred_at")
    @classmethod
    def _not_in_future(cls, value: dt.datetime | dt.date, info: ValidationInfo) -> dt.datetime | dt.date:
        zone = (info.context or {}).get("zone")
        if not isinstance(value, dt.datetime):  # a date: compared as a date, in the organisation's zone
            today = dt.datetime.now(zone or dt.UTC).date()
            if value > today + dt.timedelta(days=1):
                raise ValueError(gettext("Cannot be in the future"))
            if value < EARLIEST.date():
                raise ValueError(gettext("Too far in the past: use a date from 1970 on"))
            return value
        if value.tzinfo is None and zone is not None:
            value = value.replace(tzinfo=zone)
        elif value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        if value > dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
            raise ValueError(gettext("Cannot be in the future"))
        if value < EARLIEST:  # also keeps year-1 dates from overflowing when stored in UTC
            raise ValueError(gettext("Too far in the past: use a date from 1970 on"))
        return value

    @field_validator("request", "location")
    @classmethod
    def _required_unless_optional(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A category may make "where" or "what do you ask for" meaningless (kb.yml categories[].optional);
        # for every other category they stay required. The category is validated first (declaration order).
        optional = (info.context or {}).get("optional", {}).get(info.data.get("category"), ())
        shortest = 2 if info.field_name == "request" else 1
        if not value:
            if info.field_name in optional:  # an unknown category leaves both required
                return None
            raise ValueError(gettext("This field is required"))
        if len(value) < shortest:
            raise ValueError(gettext("Too short: at least {min_length} characters").format(min_length=shortest))
        return value

    @field_validator("shown_articles")
    @classmethod
    def _short_ids(cls, value: list[str]) -> list[str]:
        return [v[:100] for v in value]

    @field_validator("anonymous")
    @classmethod
    def _anonymous_platform(cls, value: bool, info: ValidationInfo) -> bool:
        return (value or info.data.get("channel") == "anonymous_platform"
                or info.data.get("disclosure") == "anonymous")

    def model_post_init(self, _context) -> None:
        if self.disclosure is None or self.anonymous:
            self.disclosure = "anonymous" if self.anonymous else "named"

    @field_validator("identity")
    @classmethod
    def _anonymous_means_no_identity(cls, value: Identity | None, info: ValidationInfo):
        if value is not None and value.is_empty():
            return None
        if value is not None and info.data.get("anonymous"):
            raise ValueError(gettext("Leave identity empty when anonymous is true"))
        return value


    @field_validator("about_department")
    @classmethod
    def _known_department(cls, value: str | None, info: ValidationInfo) -> str | None:
        known = (info.context or {}).get("departments")
        if not value:
            return None
        if known is not None and value not in known:
            raise ValueError(gettext("Unknown department '%(value)s': use one of %(known)s", value=value, known=', '.join(known)))
        return value

    @field_validator("notify_email")
    @classmethod
    def _an_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        if info.data.get("anonymous"):
            raise ValueError(gettext("Anonymous complaints get no e-mail: follow up with the tracking code, or choose confidential"))
        if not EMAIL.fullmatch(value):
            raise ValueError(gettext("Not an e-mail address: use one like name@example.com"))
        return value


class DeflectionIn(_In):
    article_id: str = Field(min_length=1, max_length=100)
    query: str = Field(default="", max_length=500)
    browser_token: str | None = Field(default=None, pattern=BROWSER_TOKEN)
