"""A long review is computed by the worker and kept per quarter: the page never computes it inline, says it is
being prepared, shows the kept figures with their time, and a change to a closed quarter makes them stale (issue 25)."""

import datetime as dt
import json
import re

from click.testing import CliRunner

from conftest import COMPLAINT, query_db
from test_review_figures import build_quarter, with_settings

UTC = dt.UTC


def _through_worker(app, **review):
    """The app's settings with every quarter too long for a request (review.inline_max_complaints: 0)."""
    kb = with_settings(app.config["KB"], k=2, lead="carl", headcounts={"hr": 40, "it": 10, "canteen": 200})
    app.config["KB"] = kb.model_copy(update={"review": kb.review.model_copy(update={"inline_max_complaints": 0, **review})})


def _worker(app):
    from intake_api.worker import Worker
    return Worker(app.config["KB"], app.extensions["db_engine"], app.extensions["kb_clock"],
                  term_weights=app.extensions.get("kb_term_weights"))


def _login(client, name="boss"):
    from conftest import api_login
    api_login(client, name)


def _fresh(app, quarter="2026Q3"):
    """The review's figures computed now, nothing kept: what the kept ones must equal."""
    from intake_api import report
    from intake_api.db import get_session
    from intake_api.metrics import Period
    with app.app_context():
        kb = app.config["KB"]
        period = Period.quarter(quarter, app.extensions["kb_clock"].zone)
        return report.collect(get_session(), kb, period, app.extensions.get("kb_term_weights"), staff_teams={"*"})


def _kept(app, quarter="2026Q3", **paging):
    from intake_api.db import get_session
    from intake_api.desk import Actor, Desk
    from intake_api.metrics import Period
    with app.app_context():
        desk = Desk(get_session(), app.config["KB"], app.extensions["kb_clock"], app.extensions.get("kb_term_weights"))
        return desk.review(Actor.operator(), Period.quarter(quarter, desk.clock.zone), **paging)


def test_a_closed_quarter_is_prepared_by_the_worker_then_read_from_the_cache(app, client, db_url):
    from intake_api import report
    numbers = build_quarter(app)
    _through_worker(app)
    _login(client)
    page = client.get("/staff/report", query_string={"quarter": "2026Q3"}).get_data(as_text=True)
    assert 'id="review-preparing"' in page and '<meta http-equiv="refresh" content="15">' in page
    assert numbers["A"] not in page  # nothing computed in the request
    assert query_db(db_url, "SELECT quarter, data IS NULL, requested_at IS NOT NULL FROM review_cache") == [
        ("2026Q3", True, True)]
    res = client.get("/staff/report/export", query_string={"quarter": "2026Q3", "format": "csv"})
    assert res.status_code == 409
    client.get("/staff/report", query_string={"quarter": "2026Q3"})  # asked twice: still one request
    assert query_db(db_url, "SELECT count(*) FROM review_cache") == [(1,)]

    worker = _worker(app)
    assert worker.prepare_reviews() == ["2026Q3"]
    assert worker.prepare_reviews() == []  # done: nothing asked any more
    kept, fresh = _kept(app), _fresh(app)
    assert kept["current"] is True
    # Kept and given back (JSON in the database) exactly as computed: the same review, word for word.
    for lang in ("zh", "en"):
        assert report.markdown(kept, None, lang) == report.markdown(fresh, None, lang)
    # The breach list is kept in its order: a page of it is the same page of the list computed now.
    paged = _kept(app, breach_page=2, per_page=2)
    assert paged["breach_total"] == fresh["breach_total"] >= 4 and paged["breaches"] == fresh["breaches"][2:4]
    page = client.get("/staff/report", query_string={"quarter": "2026Q3"}).get_data(as_text=True)
    assert 'id="review-computed"' in page and numbers["B"] in page and 'id="review-preparing"' not in page
    assert client.get("/staff/report/export", query_string={"quarter": "2026Q3", "format": "csv"}).status_code == 200

    # The page reads what is kept: figures changed in the cache (never by the product) show as kept.
    kept = query_db(db_url, "SELECT data FROM review_cache")[0][0]
    data = json.loads(kept) if isinstance(kept, str) else kept
    data["sla"]["total"] = 4242
    _set_data(app, data)
    assert "**4242**" in report.markdown(_kept(app), None, "en")


def _set_data(app, data):
    from sqlalchemy import update

    from intake_api.db import get_session
    from intake_api.models import ReviewCache
    with app.app_context():
        s = get_session()
        s.execute(update(ReviewCache).values(data=data))
        s.commit()


def test_a_late_change_to_a_closed_quarter_makes_its_figures_stale(app, client, db_url):
    from intake_api import report
    from intake_api.db import get_session
    from intake_api.models import Complaint
    numbers = build_quarter(app)
    _through_worker(app)
    _login(client)
    client.get("/staff/report", query_string={"quarter": "2026Q3"})
    _worker(app).prepare_reviews()
    before = _kept(app)
    assert before["current"]
    with app.app_context():  # a correction, weeks after the quarter: the department complained about
        s = get_session()
        c = s.query(Complaint).filter_by(number=numbers["E"]).one()
        c.about_department = "hr"
        s.commit()
    page = client.get("/staff/report", query_string={"quarter": "2026Q3"}).get_data(as_text=True)
    # The figures kept are shown, with their time, and said to be out of date while the worker recomputes.
    assert 'id="review-computed"' in page and "更新的数据正在生成" in page
    assert query_db(db_url, "SELECT requested_at IS NOT NULL FROM review_cache") == [(True,)]
    stale = _kept(app)
    assert stale["current"] is False and stale["by_department"] == before["by_department"]
    assert _worker(app).prepare_reviews() == ["2026Q3"]
    after = _kept(app)
    assert after["current"] and after["by_department"] != before["by_department"]
    assert report.markdown(after, None, "en") == report.markdown(_fresh(app), None, "en")


def test_a_running_quarter_is_shown_when_ready_and_recomputed_when_old(app, client, db_url):
    from sqlalchemy import update

    from intake_api import review_cache
    from intake_api.db import get_session
    from intake_api.metrics import Period
    from intake_api.models import ReviewCache
    _through_worker(app, open_max_age_minutes=15)
    assert client.post("/api/v1/complaints", json=COMPLAINT).status_code == 201
    kb, weights = app.config["KB"], app.extensions.get("kb_term_weights")
    now = dt.datetime.now(UTC)
    with app.app_context():
        s = get_session()
        period = Period.quarter(f"{now.year}Q{(now.month - 1) // 3 + 1}", app.extensions["kb_clock"].zone)
        assert period.end > now
        first = review_cache.read(s, kb, period, weights, now)
        assert first.data is None and first.requested
        assert review_cache.prepare_requested(s, kb, weights, now) == [period.label]
        ready = review_cache.read(s, kb, period, weights, now + dt.timedelta(minutes=14))
        assert ready.current and ready.data["sla"]["total"] >= 1 and ready.computed_at == now
        old = review_cache.read(s, kb, period, weights, now + dt.timedelta(minutes=16))
        assert not old.current and old.requested and old.data == ready.data  # shown meanwhile
        # A worker that died while computing: its claim runs out, another takes the quarter.
        later = now + dt.timedelta(minutes=16)
        s.execute(update(ReviewCache).values(claimed_at=later))
        s.commit()
        assert review_cache.prepare_requested(s, kb, weights, later + dt.timedelta(minutes=5)) == []
        assert review_cache.prepare_requested(s, kb, weights, later + review_cache.CLAIM + dt.timedelta(seconds=1)) \
            == [period.label]


def test_kb_report_reads_the_cache_and_fills_it(app, built_kb, db_url, tmp_path, monkeypatch):
    from kb_builder.cli import main
    build_quarter(app)
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    args = ["--config", str(built_kb / "kb.yml"), "report", "--quarter", "2026Q3", "--out", str(tmp_path)]
    res = CliRunner().invoke(main, args)  # nothing kept: a command has no web timeout, it computes and keeps
    assert res.exit_code == 0, res.output
    assert query_db(db_url, "SELECT quarter, data IS NOT NULL, requested_at IS NULL FROM review_cache") == [
        ("2026Q3", True, True)]
    kept = query_db(db_url, "SELECT data FROM review_cache")[0][0]
    data = json.loads(kept) if isinstance(kept, str) else kept
    data["sla"]["total"] = 4242
    _set_data(app, data)
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "**4242**" in (tmp_path / "report-2026Q3.md").read_text(encoding="utf-8")
    assert re.search(r"\(4242 complaints\)", res.output)
