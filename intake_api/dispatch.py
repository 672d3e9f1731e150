"""Automatic dispatch: which team owns a complaint, and whether it is a safety matter.

Keywords match whole words after the knowledge base's own text analysis, so
“火” flags “楼道里起火了” (起火 is listed) but not “火锅太辣”.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from kb_builder.analysis import tokens
from kb_builder.process_config import ProcessSettings


@lru_cache(maxsize=4096)
def _keyword_terms(keyword: str) -> frozenset[str]:
    return frozenset(tokens(keyword))


def matching_keywords(text: str, keywords: list[str]) -> list[str]:
    """The keywords all of whose words occur in text."""
    words = set(tokens(text))
    return [k for k in keywords if _keyword_terms(k) and _keyword_terms(k) <= words]


@dataclass(frozen=True)
class Dispatch:
    team: str
    safety_words: tuple[str, ...]

    @property
    def safety(self) -> bool:
        return bool(self.safety_words)


def dispatch(settings: ProcessSettings, category: str, text: str) -> Dispatch:
    """Keyword rules win over category rules (a VPN complaint filed under 'process' goes to IT)."""
    team = None
    for rule in settings.dispatch:
        if rule.keywords and matching_keywords(text, rule.keywords):
            team = rule.team
            break
    if team is None:
        team = next((r.team for r in settings.dispatch if category in r.categories), settings.default_team)
    return Dispatch(team=team, safety_words=tuple(matching_keywords(text, settings.safety_keywords)))
