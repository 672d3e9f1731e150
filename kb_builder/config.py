"""The project settings in kb.yml, validated once, with every bad key named."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import yamlsrc
from .errors import ConfigError, Problem
from .notify_config import NotificationSettings
from .process_config import ProcessSettings
from .settings import ENVIRONMENT, overrides_from

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LANGUAGES = ("zh-Hans", "zh-Hant", "en")

DEFAULT_CONFIG = "kb.yml"


class _Strict(BaseModel):
    # A docstring under a field is its help in operations/configuration.md.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Category(_Strict):
    id: str = Field(pattern=SLUG)
    """Used in front matter and URLs (lowercase words joined by hyphens)."""
    zh: str = Field(min_length=1)
    """Chinese display name."""
    en: str = Field(min_length=1)
    """English display name."""
    sensitive: bool = False
    """Harassment, misconduct, danger...: the form shows no articles, a person handles it."""
    optional: list[Literal["location", "request"]] = []
    """Form fields this category does not require because they mean nothing for it: location ("where") and
    request ("what do you ask for"). The form and the API (every front end) enforce the same list."""


class Paths(_Strict):
    content: Path = Path("content")
    """HR's content: cases/ and sops/. Paths are relative to kb.yml's folder."""
    docs: Path = Path("docs")
    """The MkDocs source tree; `kb build` writes faq/ and sop/ into it."""
    site: Path = Path("site")
    """The built static site."""
    index: Path = Path("build/index")
    """The Whoosh index and sentence vectors (never published)."""
    database: Path = Path("instance/complaints.db")
    """The embedded SQLite database (when database_url is empty); its folder also holds secret_key and
    identity.keys."""
    mkdocs_config: Path = Path("mkdocs.yml")
    """The MkDocs configuration the site is built with."""
    recognise: Path = Path("content/recognise.yml")
    """HR's example phrasings of danger, harassment... (kb_builder/recognise.py)."""
    cache: Path = Path("build/cache")
    """What is learnt from content and kept between processes (the recogniser, recognise_store.py). Safe to
    delete: it is learnt again, which makes the next start a few seconds slower."""
    notifications: Path = Path("content/notifications")
    """HR's message templates, one folder per language (intake_api/notices.py)."""
    attachments: Path = Path("instance/attachments")
    """Photos and files attached to complaints, named by random ids (intake_api/attachments.py). Keep it
    outside the web root (never under paths.site): files are served only through the API, to those who may
    see the complaint. Several nodes need one shared folder."""


class SiteSettings(_Strict):
    api_base_url: str = ""
    """Where the form sends its API calls. Empty: the same origin (`kb serve`)."""
    base_path: str = Field(default="/", pattern=r"^/")
    """Path of the site's root on its web server; suggestion URLs start with it."""
    helpful_articles: list[str] = Field(default=[], max_length=20)
    """Article ids the home page lists as the most helpful, in this order. A configured list: the build reads no
    complaint data (only the years admins entered holidays for, to warn), so it cannot count the anonymous "this solved it" signals itself (the
    review's deflection figures show which articles they favour). An unknown id stops the build."""


class ServerSettings(_Strict):
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    """How many reverse proxies (web server, load balancer) stand between the employees and `kb serve`.
    Each appends the address it received the request from to X-Forwarded-For; the API trusts that many
    entries, so rate limits count per employee rather than per proxy. 0: nothing in front, and
    X-Forwarded-* headers are ignored (a client cannot choose the address it is counted under)."""
    threads: int = Field(default=1, ge=1, le=64)
    """Threads per worker process that answer requests (intake_api/buffered_worker.py). A thread only ever
    holds a request that has fully arrived, so this bounds work in progress, not open connections; with 4,
    submissions waited for the GIL behind CPU-bound suggestions (CHANGELOG, issue 15)."""
    request_timeout: float = Field(default=10, gt=0, le=300)
    """Seconds a client has to send a whole request (head and body) before it gets 408 and its connection
    is closed: slow and idle clients are let go."""
    upload_timeout: float = Field(default=120, gt=0, le=3600)
    """Seconds a client has to send a whole upload (a photo or file, up to attachments.max_bytes) before it
    gets 408. Uploads are collected without a thread, like other requests (intake_api/buffered_worker.py)."""


class RateLimitSettings(_Strict):
    enabled: bool = True
    """Rate limits on the public API and the logins; false only for benchmarks."""
    storage: str = "memory://"
    """Where the counters live (a Flask-Limiter storage URI). memory:// counts per process; redis://host:6379
    shares the counters between every worker and node."""
    key_prefix: str = Field(default="kb", min_length=1)
    """Prefix of the counters' keys, so that two desks can share one Redis."""
    submit: str = "20/minute;200/hour"
    """Complaints one address may submit (limits written as 20/minute, several joined by ;)."""
    lookup: str = "30/minute"
    """Tracking-code look-ups per address: guessing codes is slowed down."""
    reply: str = "20/minute"
    """Complainants' replies and ratings per address."""
    deflect: str = "60/minute"
    """"This answered my question" clicks and page events per address."""
    login: str = "10/minute"
    """Staff login attempts per address (counted in the database, intake_api/login_guard.py); one limit."""
    login_user: str = "5/minute"
    """Staff login attempts per username from any address: slows brute force from many addresses; one limit."""
    upload: str = "30/minute;200/hour"
    """Complainants' file uploads per address (one request may carry several files)."""
    search: str = "120/minute;2000/hour"
    """Site searches through the API (/api/v1/search) per address. The site's search box waits 120 ms
    between keystrokes, so one person typing fast stays far below; over the limit the box answers from
    the static index."""
    suggest: str = "120/minute;2000/hour"
    """The form's suggestions (/api/v1/suggest) per address; the form asks 300 ms after the last keystroke."""

    @field_validator("submit", "lookup", "reply", "deflect", "login", "login_user", "upload", "search", "suggest")
    @classmethod
    def _a_rate(cls, value: str, info: ValidationInfo) -> str:
        from limits import parse_many
        try:
            rates = parse_many(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a rate limit (write e.g. 20/minute, or 20/minute;200/hour)") from None
        if info.field_name in ("login", "login_user") and len(rates) != 1:
            raise ValueError(f"'{value}': give one limit, e.g. 10/minute")
        return value

    @field_validator("storage")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in STORAGE_SCHEMES:
            raise ValueError(f"unknown rate-limit storage '{value}' (expected one of "
                             f"{', '.join(s + '://' for s in STORAGE_SCHEMES)}, e.g. redis://127.0.0.1:6379)")
        return value


# Flask-Limiter's synchronous stores (limits.storage.SCHEMES without async+).
STORAGE_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+cluster", "redis+sentinel", "valkey",
                   "valkeys", "valkey+unix", "valkey+cluster", "valkey+sentinel", "memcached", "mongodb",
                   "mongodb+srv")


class SecretSettings(_Strict):
    """Set from the environment only: kb.yml is kept with the content, secrets are not."""

    secret_key: SecretStr | None = None
    """Signs staff session cookies. Unset: a random key made on first run in the database's folder
    (secret_key), which every worker of one node shares; several nodes need the same one."""
    identity_keys: tuple[str, ...] = Field(default=(), repr=False)
    """Fernet keys that encrypt complainants' identities, newest first (`kb keys new` makes one). Unset: the
    file identity.keys in the database's folder, made on first run. Keep a copy apart from backups."""

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("too short to sign sessions: use at least 16 random characters (python -c "
                             "'import secrets; print(secrets.token_hex(32))' prints 64)")
        return value

    @field_validator("identity_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):  # the environment's form: comma- or line-separated, # comments
            lines = [line.split("#", 1)[0] for line in value.splitlines()]
            return tuple(k.strip() for line in lines for k in line.split(",") if k.strip())
        return value

    @field_validator("identity_keys")
    @classmethod
    def _fernet_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, key in enumerate(value, 1):
            try:
                ok = len(base64.urlsafe_b64decode(key.encode())) == 32
            except (binascii.Error, ValueError):
                ok = False
            if not ok:  # the key itself is never echoed
                raise ValueError(f"key {i} of {len(value)} is not a Fernet key (32 url-safe base64 bytes; "
                                 f"`kb keys new` prints one)")
        return value


class BuildSettings(_Strict):
    max_file_bytes: int = Field(default=1024 * 1024, ge=1024)
    """A Markdown file (content/, docs/) above this size is refused unread: one article is a few KB, and a
    build holds every file in memory."""


_UNITS = {"": 1, "b": 1, "kb": 1024, "kib": 1024, "mb": 1024 ** 2, "mib": 1024 ** 2}


class AttachmentSettings(_Strict):
    """Photos and files attached to complaints by employees and staff (operations/desk.md, "Attachments")."""

    max_bytes: int = Field(default=10 * 1024 ** 2, ge=1024, le=100 * 1024 ** 2)
    """Largest file accepted, in bytes (or written as 512 KB, 10 MB). It also bounds one upload request:
    bigger ones get 413 naming the limit. The form sends one file per request."""
    max_files: int = Field(default=10, ge=0, le=100)
    """Files one complaint may have from the complainant, and as many again from staff. 0: no attachments."""
    max_pixels: int = Field(default=50_000_000, ge=10_000, le=89_000_000)
    """Largest image, in pixels (width x height), decoded for re-encoding: a small file that unpacks into a
    huge picture (a decompression bomb) is refused before it is decoded. 50 million: a 50-megapixel photo."""

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        if isinstance(value, str):
            m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
            unit = m.group(2).lower() if m else ""
            if m is None or unit not in _UNITS:
                raise ValueError(f"'{value}' is not a size (write bytes, or e.g. 512 KB, 10 MB)")
            return int(float(m.group(1)) * _UNITS[unit])
        return value


class PublishingSettings(_Strict):
    """Approving an article in the workspace publishes it: the worker rebuilds the site (operations/publishing.md)."""

    second_approval: bool = True
    """An article a handler approves waits for an admin's (HR's) approval before it is built; an admin's own
    approval publishes at once. false: any approval publishes."""
    build_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    """A build still running after this long is taken as abandoned (its worker stopped) and queued again."""


class SearchSettings(_Strict):
    semantic: bool = True
    """Sentence vectors beside the lexical index (kb_builder/encoder.py)."""
    confidence_threshold: float = Field(default=0.5, ge=0, le=1)
    """Below this probability that the top article answers the text (kb_builder/calibration.py, learnt at
    every build from the knowledge base itself) /api/v1/suggest shows nothing and the form lets the employee
    submit. 0.5: show when an answer is more likely right than not."""


class ReviewSettings(_Strict):
    """The quarterly review in the workspace and `kb report` (intake_api/review_cache.py)."""

    inline_max_complaints: int = Field(default=2000, ge=0)
    """A quarter with at most this many complaints is computed in the request when no current figures are
    kept (a few seconds at 2,000 on a busy machine, against the web server's 30 s timeout). A larger one is computed by the worker and kept: the page says it is being
    prepared, so no request can run into the web server's timeout. 0: always the worker."""
    open_max_age_minutes: int = Field(default=15, ge=1, le=24 * 60)
    """A running quarter's figures computed by the worker are shown until they are this old; then the worker
    computes them again (the older ones are shown meanwhile, with the time they were computed). A quarter
    that is over is computed again only when something it counts changed (a late reopen, a correction)."""


class KbConfig(_Strict):
    """Everything the builder and the API need to know about one knowledge base."""

    root: Path
    """The folder of kb.yml (set by load_config, not a kb.yml key)."""
    paths: Paths = Paths()
    site: SiteSettings = SiteSettings()
    server: ServerSettings = ServerSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    secrets: SecretSettings = SecretSettings()
    build: BuildSettings = BuildSettings()
    search: SearchSettings = SearchSettings()
    attachments: AttachmentSettings = AttachmentSettings()
    publishing: PublishingSettings = PublishingSettings()
    review: ReviewSettings = ReviewSettings()
    categories: list[Category] = Field(min_length=1)
    """The categories HR files articles under and employees choose in the form."""
    database_url: str = ""
    """The complaint database as a SQLAlchemy URL (postgresql+psycopg://...). Empty: SQLite at
    paths.database."""
    timezone: str = "Asia/Shanghai"
    """The organisation's time zone (IANA name): dates shown to people and working days use it."""
    process: ProcessSettings = ProcessSettings()
    notifications: NotificationSettings = NotificationSettings()
    """Who is told what, and how: e-mail, chat robots, reminders (operations/notifications.md)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name such as Asia/Shanghai)") from None
        return value

    @field_validator("categories")
    @classmethod
    def _unique_ids(cls, value: list[Category]) -> list[Category]:
        seen: set[str] = set()
        for cat in value:
            if cat.id in seen:
                raise ValueError(f"category id '{cat.id}' appears twice")
            seen.add(cat.id)
        return value

    @model_validator(mode="after")
    def _dispatch_categories_exist(self):
        known = set(self.category_ids)
        unknown = [c for c in self.process.urgent_categories if c not in known]
        if unknown:
            raise ValueError(f"process.urgent_categories: unknown categories {', '.join(unknown)}")
        unknown = [c for c in self.process.conflicts.conduct_categories if c not in known]
        if unknown:
            raise ValueError(f"process.conflicts.conduct_categories: unknown categories {', '.join(unknown)}")
        unknown = [c for c in self.process.category_kinds if c not in known]
        if unknown:
            raise ValueError(f"process.category_kinds: unknown categories {', '.join(unknown)}")
        teams = {t.id for t in self.process.teams}
        unknown = [r.team for r in self.notifications.teams if r.team not in teams]
        if unknown:
            raise ValueError(f"notifications.teams: unknown teams {', '.join(unknown)} (process.teams lists them)")
        for i, rule in enumerate(self.process.dispatch):
            unknown = [c for c in rule.categories if c not in known]
            if unknown:
                raise ValueError(f"process.dispatch rule {i + 1}: unknown categories {', '.join(unknown)}")
        return self

    def path(self, name: str) -> Path:
        """An absolute path from the `paths` section."""
        p = getattr(self.paths, name)
        return p if p.is_absolute() else (self.root / p)

    @property
    def content_dir(self) -> Path:
        return self.path("content")

    @property
    def docs_dir(self) -> Path:
        return self.path("docs")

    @property
    def site_dir(self) -> Path:
        return self.path("site")

    @property
    def index_dir(self) -> Path:
        return self.path("index")

    @property
    def instance_dir(self) -> Path:
        """The database's folder, which also holds secret_key and identity.keys."""
        return self.path("database").parent

    @property
    def mkdocs_config(self) -> Path:
        return self.path("mkdocs_config")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.path('database')}"

    @property
    def category_ids(self) -> list[str]:
        return [c.id for c in self.categories]

    @property
    def sensitive_categories(self) -> list[str]:
        return [c.id for c in self.categories if c.sensitive]

    @property
    def optional_fields(self) -> dict[str, list[str]]:
        """Each category's optional form fields (categories[].optional), for the complaint's validation."""
        return {c.id: list(c.optional) for c in self.categories}

    def category(self, cat_id: str) -> Category:
        return next(c for c in self.categories if c.id == cat_id)


def find_config(start: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """KB_CONFIG if set, else kb.yml in the current folder or a parent."""
    environ = os.environ if environ is None else environ
    if environ.get("KB_CONFIG"):
        return Path(environ["KB_CONFIG"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_CONFIG).is_file():
            return folder / DEFAULT_CONFIG
    raise ConfigError([Problem(here / DEFAULT_CONFIG, "no kb.yml found here or in any parent folder",
                               fix="run kb from the project folder or set KB_CONFIG=/path/to/kb.yml")])


def load_config(path: Path | str | None = None, overrides: dict | None = None,
                environ: Mapping[str, str] | None = None) -> KbConfig:
    """Read kb.yml, apply the environment (settings.ENVIRONMENT), then overrides (dotted keys), and validate.

    The one place the project reads its environment variables. Raises
    ConfigError listing every problem, each naming the kb.yml line or the
    environment variable it came from.
    """
    environ = os.environ if environ is None else environ
    path = Path(path).resolve() if path else find_config(environ=environ)
    if not path.is_file():
        raise ConfigError([Problem(path, "file not found", fix="create it or point KB_CONFIG at it")])
    try:
        data, lines = yamlsrc.load(path.read_text(encoding="utf-8"), path)
    except yamlsrc.YamlSyntaxError as exc:
        raise ConfigError([exc.problem]) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem(path, "must be a mapping of settings", line=1)])
    problems = []
    if "secrets" in data:
        data.pop("secrets")
        names = " and ".join(v.name for v in ENVIRONMENT if v.key and v.key.startswith("secrets."))
        problems.append(Problem(path, "secrets do not belong in kb.yml, which is kept with the content",
                                line=yamlsrc.line_of(lines, ("secrets",)), field="secrets",
                                fix=f"remove the section and set {names} in the environment"))
    env = overrides_from(environ)
    for key, (_var, value) in env.items():
        _set(data, tuple(key.split(".")), value)
    from_env = {key: var for key, (var, _value) in env.items() if key not in (overrides or {})}
    for dotted, value in (overrides or {}).items():
        _set(data, tuple(dotted.split(".")), value)
    data["root"] = str(path.parent)
    try:
        config = KbConfig.model_validate(data)
    except ValidationError as exc:
        problems += [_blame_environment(p, from_env) for p in yamlsrc.validation_problems(exc, path, lines)]
    if problems:
        raise ConfigError(problems)
    return config


def _blame_environment(problem: Problem, from_env: dict) -> Problem:
    """A bad value that came from a variable names the variable, not a kb.yml line."""
    for key, var in from_env.items():
        if problem.field == key or (problem.field or "").startswith(key + "."):
            return Problem(f"environment variable {var.name}", problem.message, field=key,
                           fix=f"correct {var.name} or unset it")
    return problem


def _set(data: dict, keys: tuple, value) -> None:
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    data[keys[-1]] = value
