"""The project settings in kb.yml, validated once, with every bad key named."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import yamlsrc
from .errors import ConfigError, Problem
from .process_config import ProcessSettings

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LANGUAGES = ("zh-Hans", "zh-Hant", "en")

DEFAULT_CONFIG = "kb.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    id: str = Field(pattern=SLUG)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    # Sensitive: harassment, misconduct, danger... no article suggestions, a person handles it.
    sensitive: bool = False


class Paths(_Strict):
    content: Path = Path("content")
    docs: Path = Path("docs")
    site: Path = Path("site")
    index: Path = Path("build/index")
    database: Path = Path("instance/complaints.db")
    mkdocs_config: Path = Path("mkdocs.yml")
    # HR's example phrasings of danger, harassment... (kb_builder/recognise.py).
    recognise: Path = Path("content/recognise.yml")


class SiteSettings(_Strict):
    api_base_url: str = ""
    # Path of the site's root on its web server; suggestion URLs start with it.
    base_path: str = Field(default="/", pattern=r"^/")


class ServerSettings(_Strict):
    # How many reverse proxies (web server, load balancer) stand between the
    # employees and `kb serve`. Each appends the address it received the
    # request from to X-Forwarded-For; the API trusts that many entries, so
    # rate limits count per employee rather than per proxy. 0: nothing in
    # front, and X-Forwarded-* headers are ignored (a client cannot choose
    # the address it is counted under).
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    # Threads per worker process that answer requests (intake_api/buffered_worker.py).
    # A thread only ever holds a request that has fully arrived (the worker's
    # event loop collects them), so this bounds work in progress, not open
    # connections. More threads share one GIL: with 4, submissions waited for
    # it behind CPU-bound suggestions (CHANGELOG, issue 15).
    threads: int = Field(default=1, ge=1, le=64)
    # Seconds a client has to send a whole request (head and body) before it
    # gets 408 and its connection is closed: slow and idle clients are let go.
    request_timeout: float = Field(default=10, gt=0, le=300)


class BuildSettings(_Strict):
    # A Markdown file above this size (content/, docs/) is refused unread:
    # one article is a few KB, and a build holds every file in memory.
    max_file_bytes: int = Field(default=1024 * 1024, ge=1024)


class SearchSettings(_Strict):
    # Sentence vectors beside the lexical index (kb_builder/encoder.py).
    semantic: bool = True
    # Below this probability that the top article answers the text
    # (kb_builder/calibration.py, learnt at every build from the knowledge
    # base itself) /api/v1/suggest shows nothing and the form lets the
    # employee submit. 0.5: show when an answer is more likely right than
    # not. README, "Recalibrating on your own data", says how to check it on
    # logged queries.
    confidence_threshold: float = Field(default=0.5, ge=0, le=1)


class KbConfig(_Strict):
    """Everything the builder and the API need to know about one knowledge base."""

    root: Path
    paths: Paths = Paths()
    site: SiteSettings = SiteSettings()
    server: ServerSettings = ServerSettings()
    build: BuildSettings = BuildSettings()
    search: SearchSettings = SearchSettings()
    categories: list[Category] = Field(min_length=1)
    database_url: str = ""
    # The organisation's time zone: dates shown to people and working days use it.
    timezone: str = "Asia/Shanghai"
    process: ProcessSettings = ProcessSettings()

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
        unknown = [c for c in self.process.category_kinds if c not in known]
        if unknown:
            raise ValueError(f"process.category_kinds: unknown categories {', '.join(unknown)}")
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

    def category(self, cat_id: str) -> Category:
        return next(c for c in self.categories if c.id == cat_id)


# Environment overrides, applied after the file: (variable, key path).
ENV_OVERRIDES = (
    ("KB_SITE_DIR", ("paths", "site")),
    ("KB_INDEX_DIR", ("paths", "index")),
    ("KB_DATABASE_URL", ("database_url",)),
    ("KB_API_BASE_URL", ("site", "api_base_url")),
    ("KB_TRUSTED_PROXIES", ("server", "trusted_proxies")),
)


def find_config(start: Path | None = None) -> Path:
    """KB_CONFIG if set, else kb.yml in the current folder or a parent."""
    if os.environ.get("KB_CONFIG"):
        return Path(os.environ["KB_CONFIG"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_CONFIG).is_file():
            return folder / DEFAULT_CONFIG
    raise ConfigError([Problem(here / DEFAULT_CONFIG, "no kb.yml found here or in any parent folder",
                               fix="run kb from the project folder or set KB_CONFIG=/path/to/kb.yml")])


def load_config(path: Path | str | None = None, overrides: dict | None = None) -> KbConfig:
    """Read, merge overrides and validate kb.yml; raise ConfigError listing every problem."""
    path = Path(path).resolve() if path else find_config()
    if not path.is_file():
        raise ConfigError([Problem(path, "file not found", fix="create it or point KB_CONFIG at it")])
    try:
        data, lines = yamlsrc.load(path.read_text(encoding="utf-8"), path)
    except yamlsrc.YamlSyntaxError as exc:
        raise ConfigError([exc.problem]) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem(path, "must be a mapping of settings", line=1)])
    for var, keys in ENV_OVERRIDES:
        if var in os.environ:
            _set(data, keys, os.environ[var])
    for dotted, value in (overrides or {}).items():
        _set(data, tuple(dotted.split(".")), value)
    data["root"] = str(path.parent)
    try:
        return KbConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(yamlsrc.validation_problems(exc, path, lines)) from None


def _set(data: dict, keys: tuple, value) -> None:
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    data[keys[-1]] = value
