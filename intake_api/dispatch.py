"""Automatic dispatch: which team owns a complaint, and the rule that says why.

The chosen category decides the team, unless a rule with a stated reason
overrides it: the recogniser (danger to the hazards team, harassment and the
like to employee relations, kb_builder/recognise.py) or a keyword rule marked
`override`. Keyword rules look at the description only, never at the
contact or identity fields, and otherwise only route complaints whose
category has no team of its own. The rule is written into the history.

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
    rule: str          # what staff read in the history: which rule routed it, and why


def dispatch(settings: ProcessSettings, category: str, description: str, verdict=None) -> Dispatch:
    """The team for a complaint and the rule that chose it (see the module docstring for the order)."""
    if verdict is not None and verdict.sensitive:
        return Dispatch(verdict.rule.team, f"recognised as {verdict.kind} ({verdict.reason})")
    by_category = next((r for r in settings.dispatch if category in r.categories), None)
    for rule in settings.dispatch:
        if rule.keywords and (rule.override or by_category is None):
            words = matching_keywords(description, rule.keywords)
            if words:
                return Dispatch(rule.team, f"keywords {', '.join(words)} in the description: {rule.reason}")
    if by_category is not None:
        return Dispatch(by_category.team, f"category {category}")
    return Dispatch(settings.default_team, f"category {category} has no team of its own: default team")
