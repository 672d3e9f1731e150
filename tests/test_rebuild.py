"""A running server follows a rebuild: new index and pages, no restart, no failed request."""

import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import load  # noqa: E402

from conftest import write_case  # noqa: E402


def test_live_server_switches_to_a_new_index_under_load(kb_tree, db_url):
    from kb_builder.build import build
    from kb_builder.config import load_config
    cfg = load_config(kb_tree / "kb.yml")
    build(cfg)
    server = load.Server(kb_tree / "kb.yml", db_url, workers=2)
    url = f"http://127.0.0.1:{server.port}"
    results = {"ok": 0, "failed": []}
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            for q in ("饮水机坏了", "电梯按钮失灵", "VPN 连不上"):
                try:
                    with urllib.request.urlopen(url + "/api/v1/suggest?q=" + urllib.parse.quote(q), timeout=10) as res:
                        assert res.status == 200
                    results["ok"] += 1
                except Exception as exc:  # any failure counts
                    results["failed"].append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(1)
        write_case(kb_tree, "elevator-buttons", title="电梯按钮失灵怎么办",
                   questions="\n  - 电梯按钮失灵\n  - 按电梯没反应", body="## 问题\n\n电梯按钮按了没反应。\n")
        for _ in range(2):
            build(cfg)
            time.sleep(0.5)
        deadline = time.time() + 10
        found = False
        while time.time() < deadline and not found:
            body = urllib.request.urlopen(url + "/api/v1/suggest?q=" + urllib.parse.quote("电梯按钮失灵")).read().decode()
            found = "elevator-buttons" in body
        page = urllib.request.urlopen(url + "/faq/facilities/elevator-buttons/")
        assert page.status == 200
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.stop()
    assert found, "the new article never showed up without a restart"
    assert results["failed"] == [] and results["ok"] > 50
