"""Errors users see: each names the file, line and field, and says what to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class KbError(Exception):
    """Base class: the CLI turns these into one-line messages, not tracebacks."""


@dataclass
class Problem:
    """One thing wrong with one input file or setting."""

    path: Path | str
    message: str
    line: int | None = None
    field: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = str(self.path) + (f":{self.line}" if self.line else "")
        what = f"field '{self.field}': " if self.field else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}: {what}{self.message}.{fix}"


class ProblemsError(KbError):
    """Several problems found in one pass, reported together."""

    kind = "problem"

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        n = len(problems)
        super().__init__(f"{n} {self.kind}{'s' if n != 1 else ''} found, nothing was changed:\n{lines}")


class ConfigError(ProblemsError):
    kind = "configuration problem"


class ContentError(ProblemsError):
    kind = "content problem"


class BuildError(KbError):
    """A build stage failed after the content was valid (e.g. mkdocs)."""


class PrivacyError(ProblemsError):
    """Personal data found in content where none may be (kb build --strict)."""

    kind = "personal data finding"
