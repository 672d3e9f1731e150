"""Which complaints must not be deflected: harassment, discrimination, misconduct, danger.

For those an FAQ article is the wrong answer; the form says a person will
handle it and, for danger, shows the emergency contact.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dispatch import matching_keywords


@dataclass(frozen=True)
class Sensitivity:
    sensitive: bool
    danger: bool

    def as_dict(self, kb) -> dict:
        return {"sensitive": self.sensitive,
                "emergency_contact": kb.process.sensitive.emergency_contact if self.danger else None}


def assess(kb, text: str, category: str | None = None) -> Sensitivity:
    settings = kb.process
    by_category = category in kb.sensitive_categories
    danger = bool(matching_keywords(text, settings.safety_keywords)) or category in settings.urgent_categories
    words = bool(matching_keywords(text, settings.sensitive.words))
    return Sensitivity(sensitive=by_category or words or danger, danger=danger)


def init_app(app) -> None:
    """Answer sensitive texts before any search runs: no articles, the direct path instead.

    Hooked in front of the suggest endpoint so that no ranking change can ever
    bring articles back for harassment, discrimination, misconduct or danger.
    """
    from flask import current_app, jsonify, request

    @app.before_request
    def _sensitive_suggestions():
        if request.endpoint != "suggest.suggest":
            return None
        from .suggest import parameters  # GET query string or POST body: both are checked

        params = parameters()
        text, category = params.get("q", ""), params.get("category")
        if not isinstance(text, str) or not text.strip():
            return None
        kb = current_app.config["KB"]
        verdict = assess(kb, text, category if isinstance(category, str) and category else None)
        if not verdict.sensitive:
            return None
        return jsonify({"query": text, "results": [], "confident": False, **verdict.as_dict(kb)})
