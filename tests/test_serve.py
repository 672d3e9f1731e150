"""`kb serve` is a real gunicorn server serving the site and the API on one port."""

import json
import urllib.parse
import urllib.request

import pytest

from conftest import query_db


def get(url):
    with urllib.request.urlopen(url, timeout=10) as res:
        return res.status, res.headers, res.read().decode("utf-8")


def test_serve_runs_gunicorn_with_site_and_api(live_server, live_db_url):
    status, headers, body = get(live_server + "/")
    assert status == 200 and "员工服务知识库" in body
    assert "gunicorn" in headers.get("Server", "").lower()
    status, _, body = get(live_server + "/api/v1/suggest?q=" + urllib.parse.quote("饮水机坏了"))
    assert json.loads(body)["results"][0]["id"] == "water-dispenser-not-working"
    req = urllib.request.Request(live_server + "/api/v1/complaints", method="POST",
                                 headers={"Content-Type": "application/json"},
                                 data=json.dumps({"category": "canteen", "description": "午饭十二点半就没有菜了",
                                                  "request": "多准备一些", "occurred_at": "2026-11-24",
                                                  "location": "二号食堂"}).encode())
    with urllib.request.urlopen(req, timeout=10) as res:
        assert res.status == 201
        number = json.loads(res.read())["number"]
    assert query_db(live_db_url, "SELECT number FROM complaints") == [(number,)]


def test_serve_loads_the_encoder_before_forking_and_the_index_in_each_worker(app, monkeypatch):
    """Workers inherit a loaded model and open their index before serving, not on a user's first request."""
    from types import SimpleNamespace

    from intake_api import serve
    from kb_builder import encoder, search

    monkeypatch.setattr(encoder, "_encoder", None)  # as in a fresh `kb serve` process
    search._small_talk_vectors.cache_clear()
    forked = []
    monkeypatch.setattr(serve._Gunicorn, "run", lambda self: forked.append((encoder._encoder, self.cfg.post_worker_init)))
    serve.run(app, port=0, workers=2)
    (loaded, worker_init), = forked
    assert loaded is not None and search._small_talk_vectors.cache_info().currsize == 1
    searcher = app.extensions["kb_searcher"]
    searcher.close()
    worker_init(SimpleNamespace(app=SimpleNamespace(application=app)))
    assert searcher._searcher is not None and searcher._vectors is not None


def test_a_worker_boots_even_when_the_index_is_missing_or_broken(built_kb, tmp_path, caplog):
    """Gunicorn stops the whole server when a worker fails to boot; requests report the problem instead."""
    import shutil

    from kb_builder.search import IndexNotBuilt, Searcher

    Searcher(tmp_path / "nowhere").open()
    broken = tmp_path / "index"
    shutil.copytree(built_kb / "build" / "index", broken)
    for toc in broken.glob("*.toc"):
        toc.unlink()
    searcher = Searcher(broken)
    searcher.open()
    assert "could not open the index" in caplog.text
    with pytest.raises(Exception) as raised:
        searcher.suggest("饮水机坏了")
    assert not isinstance(raised.value, IndexNotBuilt)


def test_serve_writes_nothing_into_home_and_logs_no_error(built_kb, tmp_path):
    """Several `kb serve` on one machine must not share a control socket in $HOME; a read-only $HOME is fine."""
    import time

    from conftest import start_kb_serve, stop_kb_serve
    home = tmp_path / "home"
    home.mkdir()
    log_file = tmp_path / "server.log"
    with open(log_file, "w") as log:
        proc, _ = start_kb_serve(built_kb / "kb.yml", f"sqlite:///{tmp_path / 'kb.db'}", output=log,
                                 HOME=str(home), XDG_RUNTIME_DIR=None)
        try:
            time.sleep(1.0)  # gunicorn's control server starts after the workers
        finally:
            stop_kb_serve(proc)
    text = log_file.read_text()
    assert "Listening at" in text
    assert list(home.iterdir()) == [] and "[ERROR]" not in text, text
