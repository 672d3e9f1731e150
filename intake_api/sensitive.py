"""Which complaints must not be deflected: danger, hygiene, harassment, discrimination, retaliation, misconduct.

For those an FAQ article is the wrong answer; the form says a person will
handle it and, for danger, shows the emergency contact. The decision is the
recogniser's (kb_builder/recognise.py, HR's examples in content/recognise.yml),
on the text as typed, on the category chosen, and again on submit.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from kb_builder.errors import ConfigError, Problem
from kb_builder.recognise import KindRule, Recogniser, Verdict, load_rules

from .i18n import pick

log = logging.getLogger("kb.sensitive")
_cache: dict = {}
_guard = threading.Lock()


def _while_unchanged(key, path, make):
    """make()'s result for the file at path, made again only when the file changes (its mtime); None: no file."""
    try:
        stamp = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None
    with _guard:
        known = _cache.get(key)
        if known is None or known[0] != stamp:
            _cache[key] = (stamp, make())
        return _cache[key][1]


def recogniser(kb) -> Recogniser | None:
    """The recogniser of this knowledge base, reloaded when HR edits the examples file.

    None when the file is missing: only the sensitive categories count then
    (logged, so the gap is seen).
    """
    path = kb.path("recognise")

    def make() -> Recogniser:
        rules = load_rules(path)
        check_rules(kb, rules, path)
        return Recogniser(_with_extra_words(kb, rules), store=kb.path("cache"))

    found = _while_unchanged(path, path, make)
    if found is None and ("missing", path) not in _cache:
        log.warning("no %s: danger and harassment are recognised by category only", path)
        _cache[("missing", path)] = (None, None)
    return found


def kind_rules(kb) -> dict[str, KindRule]:
    """What each kind gets (team, emergency contact...): the examples file's rules without the recogniser.

    Reading them needs no sentence encoder: the worker plans a receipt or an urgent notice from the kind
    the desk stored, and building the recogniser there cost seconds of CPU on its first receipt, taken from
    the web server beside it during a burst (benchmarks/RESULTS.md, load).
    """
    path = kb.path("recognise")
    return _while_unchanged(("rules", path), path, lambda: load_rules(path).kinds) or {}


def emergency_contact(kb, kind: str | None, category: str) -> str | None:
    """The emergency contact for danger: a recognised kind that shows it, or a category that is urgent."""
    kinds = kind_rules(kb)
    if kind in kinds:
        show = kinds[kind].emergency_contact
    else:
        show = category in kb.process.urgent_categories
    return kb.process.sensitive.emergency_contact if show else None


def check_rules(kb, rules, path) -> None:
    """The examples file names teams and kinds that kb.yml must know."""
    teams = {t.id for t in kb.process.teams}
    problems = [Problem(path, f"unknown team '{rule.team}'", field=f"kinds.{kind}.team",
                        fix=f"use one of {', '.join(sorted(teams))} (process.teams in kb.yml)")
                for kind, rule in rules.kinds.items() if rule.team not in teams]
    problems += [Problem(kb.root / "kb.yml", f"kind '{kind}' is not in {path.name}",
                         field=f"process.category_kinds.{cat}", fix=f"use one of {', '.join(rules.kinds)}")
                 for cat, kind in kb.process.category_kinds.items() if kind not in rules.kinds]
    if problems:
        raise ConfigError(problems)


def _with_extra_words(kb, rules):
    """kb.yml's process.safety_keywords and process.sensitive.words join the file's lists."""
    extra = {"danger": kb.process.safety_keywords, "harassment": kb.process.sensitive.words}
    kinds = dict(rules.kinds)
    for kind, words in extra.items():
        if words and kind in kinds:
            rule: KindRule = kinds[kind]
            kinds[kind] = rule.model_copy(update={"words": [*rule.words, *words]})
    return rules.model_copy(update={"kinds": kinds})


@dataclass(frozen=True)
class Sensitivity:
    verdict: Verdict

    @property
    def sensitive(self) -> bool:
        return self.verdict.sensitive

    @property
    def danger(self) -> bool:
        return self.verdict.emergency

    @property
    def urgent(self) -> bool:
        return self.verdict.urgent

    def as_dict(self, kb) -> dict:
        v = self.verdict
        return {"sensitive": v.sensitive, "kind": v.kind,
                "kind_label": pick((v.rule.zh, v.rule.en)) if v.rule else None,
                "emergency_contact": kb.process.sensitive.emergency_contact if v.emergency else None,
                # Harassment and the like: the form proposes confidential or anonymous before submit.
                "propose_disclosure": "confidential" if v.sensitive and not v.urgent else None}


def assess(kb, text: str, category: str | None = None, typing: bool = False) -> Sensitivity:
    rec = recogniser(kb)
    kinds = kb.process.category_kinds
    if rec is None:
        kind = kinds.get(category) if category in kb.sensitive_categories else None
        if kind is None and category in kb.sensitive_categories:
            kind = "harassment"
        rule = KindRule(zh=kind or "-", en=kind or "-", team=kb.process.sensitive.team, examples=["-"] * 3,
                        urgent=category in kb.process.urgent_categories,
                        emergency_contact=category in kb.process.urgent_categories)
        return Sensitivity(Verdict(kind, f"category {category}", (), None, rule) if kind else Verdict(None))
    return Sensitivity(rec.recognise(text, category, kinds, thorough=not typing))


def init_app(app) -> None:
    """Validate the examples file and encode them at start-up, not on the first request."""
    recogniser(app.config["KB"])
