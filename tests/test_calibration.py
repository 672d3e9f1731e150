"""The confidence is a probability learnt from the knowledge base at every build (kb_builder/calibration.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

HELDOUT = Path(__file__).parent / "heldout"


@pytest.fixture(scope="module")
def searcher(built_kb):
    from kb_builder.search import Searcher

    return Searcher(built_kb / "build" / "index")


def test_every_build_writes_a_calibration_fitted_on_the_knowledge_base(built_kb):
    from kb_builder.calibration import CALIBRATION, FEATURES, Calibration

    data = json.loads((built_kb / "build" / "index" / CALIBRATION).read_text(encoding="utf-8"))
    assert data["features"] == list(FEATURES)
    assert data["answerable"] > 100 and data["unanswerable"] > 100  # sampled from the sample content's own lines
    cal = Calibration.load(built_kb / "build" / "index")
    score, margin, z, talk, cover = (FEATURES.index(f) for f in FEATURES)
    base = np.array([3.0, 0.5, 3.0, 2.0, 0.5])
    more = base.copy()
    more[score] += 1
    more[cover] += 0.3
    chattier = base.copy()
    chattier[talk] += 2
    assert 0 < cal.probability(base) < 1
    assert cal.probability(more) > cal.probability(base) > cal.probability(chattier)


def test_the_api_returns_a_probability_and_compares_it_with_the_threshold(client_for):
    body = client_for().get("/api/v1/suggest", query_string={"q": "饮水机坏了"}).get_json()
    assert 0.5 <= body["confidence"] <= 1 and body["threshold"] == 0.5 and body["confident"] is True
    quiet = client_for().get("/api/v1/suggest", query_string={"q": "quantum chromodynamics lattice gauge"}).get_json()
    assert 0 <= quiet["confidence"] < 0.5 and quiet["results"] == []


@pytest.fixture
def client_for(built_kb, tmp_path):
    from intake_api import create_app

    def make(**overrides):
        return create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True,
                           "KB_OVERRIDES": {"database_url": f"sqlite:///{tmp_path / 'c.db'}", **(overrides or {})},
                           "RATELIMIT_ENABLED": False}).test_client()
    return make


def test_an_index_without_a_calibration_answers_without_a_confidence(built_kb, tmp_path, caplog):
    import shutil

    from kb_builder.calibration import CALIBRATION
    from kb_builder.search import Searcher

    index = tmp_path / "index"
    shutil.copytree(built_kb / "build" / "index", index)
    (index / CALIBRATION).write_text("{not json", encoding="utf-8")
    answer = Searcher(index).suggest("饮水机坏了", limit=3)
    assert answer.confidence is None and answer.hits[0].id == "water-dispenser-not-working"
    assert "no calibration" in caplog.text


def test_the_calibration_follows_the_knowledge_base_when_it_grows(kb_tree):
    """Adding articles rewrites calibration.json: it is learnt at every build, never shipped fixed."""
    from conftest import write_case
    from kb_builder.build import build
    from kb_builder.calibration import CALIBRATION
    from kb_builder.config import load_config

    config = load_config(kb_tree / "kb.yml")
    build(config)
    first = json.loads((config.index_dir / CALIBRATION).read_text(encoding="utf-8"))
    for k in range(3):
        write_case(kb_tree, f"lift-{k}", category="facilities", title=f"{k} 号电梯卡在两层之间",
                   questions=f"\n  - {k} 号电梯卡住了\n  - {k} 号电梯停在半空\n  - {k} 号电梯门打不开")
    build(config)
    second = json.loads((config.index_dir / CALIBRATION).read_text(encoding="utf-8"))
    assert second["answerable"] + second["unanswerable"] > first["answerable"] + first["unanswerable"]
    assert second["coef"] != first["coef"] or second["intercept"] != first["intercept"]


def coverage_of(searcher, lists: dict, threshold: float = 0.5) -> tuple[float, float, list, list]:
    loud, missed = [], []
    for text in lists["unanswered"]:
        answer = searcher.suggest(text, 5)
        if answer.confidence >= threshold:
            loud.append((text, answer.hits[0].id, answer.confidence))
    for item in lists["answered"]:
        answer = searcher.suggest(item["text"], 5)
        if answer.confidence < threshold or item["article"] not in [h.id for h in answer.hits[:3]]:
            missed.append((item["text"], [h.id for h in answer.hits[:3]], answer.confidence))
    quiet = 1 - len(loud) / len(lists["unanswered"])
    right = 1 - len(missed) / len(lists["answered"])
    return quiet, right, loud, missed


def test_the_held_out_lists_are_what_point_3_asks_for():
    lists = yaml.safe_load((HELDOUT / "sample_problems.yml").read_text(encoding="utf-8"))
    assert len(lists["unanswered"]) >= 60 and len(lists["answered"]) >= 60
    texts = lists["unanswered"] + [a["text"] for a in lists["answered"]]
    assert len(set(texts)) == len(texts)
    from kb_builder.analysis import to_simplified

    hant = sum(to_simplified(t) != t for t in texts)
    english = sum(t.isascii() for t in texts)
    assert hant >= 15 and english >= 25


def test_sample_content_measured_floor_on_the_held_out_lists(searcher):
    """What the shipped setting reaches on the lists written before the calibration (benchmarks/RESULTS.md).

    The floor is the measured figure, so this fails if a change makes it worse.
    """
    lists = yaml.safe_load((HELDOUT / "sample_problems.yml").read_text(encoding="utf-8"))
    quiet, right, loud, missed = coverage_of(searcher, lists)
    assert right >= 0.95, missed
    assert quiet >= 0.60, loud


@pytest.mark.xfail(strict=True, reason="issue 16 target not reached: 0.66 quiet (46 of 70) measured at the shipped 0.5")
def test_sample_content_target_on_the_held_out_lists(searcher):
    lists = yaml.safe_load((HELDOUT / "sample_problems.yml").read_text(encoding="utf-8"))
    quiet, right, loud, missed = coverage_of(searcher, lists)
    assert quiet >= 0.90 and right >= 0.95, (quiet, right, loud, missed)


def test_a_calibration_that_would_invert_the_evidence_is_not_written():
    """More evidence must never mean a lower probability: such a fit gives no calibration at all."""
    from kb_builder.calibration import FEATURES, fit

    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, len(FEATURES)))
    evidence = X @ np.array((1.0, 1.0, 0.0, -1.0, 2.0))
    assert fit(X, (evidence < 0).astype(int), np.ones(400)) is None      # label falls as evidence rises
    good = fit(X, (evidence > 0).astype(int), np.ones(400))
    assert good is not None and good.probability(X[np.argmax(evidence)]) > 0.9
