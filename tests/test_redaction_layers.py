"""Redaction at every layer: kb build's scan of case files, publishing, and the search texts kept for the review."""

import importlib.util
import sys

from click.testing import CliRunner

from conftest import COMPLAINT, ROOT, api_login, query_db, write_case

PHONE_CASE = "## 问题\n\n饮水机坏了。\n\n## 处理办法\n\n有问题打 138 0013 8000 找我。\n"


def _kb(root, *args):
    from kb_builder.cli import main
    return CliRunner().invoke(main, ["--config", str(root / "kb.yml"), *args])


def test_build_warns_about_a_hand_written_case_with_a_phone_number(empty_kb):
    path = write_case(empty_kb, "with-phone", body=PHONE_CASE)
    line = path.read_text(encoding="utf-8").splitlines().index("有问题打 138 0013 8000 找我。") + 1
    res = _kb(empty_kb, "build")
    assert res.exit_code == 0, res.output
    assert "Warning: 1 personal data finding in case files" in res.output
    assert f"content/cases/with-phone.md:{line}: a phone number (phone, column 6) would be removed by redaction" in res.output
    assert "Fix: delete it or write [电话] in its place" in res.output
    assert "138 0013 8000" not in res.output  # the value itself never goes to a log
    assert (empty_kb / "site" / "faq" / "facilities" / "with-phone" / "index.html").is_file()


def test_build_strict_fails_on_it_and_changes_nothing(empty_kb):
    write_case(empty_kb, "with-phone", body=PHONE_CASE)
    write_case(empty_kb, "with-name", title="小王说打印机坏了")
    res = _kb(empty_kb, "build", "--strict")
    assert res.exit_code == 1
    assert "Error: 2 personal data findings found, nothing was changed:" in res.output
    assert "content/cases/with-name.md:3: a person's name (name, column 8)" in res.output
    assert "content/cases/with-phone.md:" in res.output and "(phone," in res.output
    assert "Traceback" not in res.output
    assert not (empty_kb / "site").exists()


def test_check_reports_the_same_findings_and_the_sample_content_has_none(empty_kb):
    write_case(empty_kb, "with-id", body="## 问题\n\n身份证 440301 19900307 123X 被贴在公告栏。\n")
    res = _kb(empty_kb, "check")
    assert res.exit_code == 0
    assert "content/cases/with-id.md:" in res.output and "(resident_id," in res.output
    res = CliRunner().invoke(__import__("kb_builder.cli", fromlist=["main"]).main,
                             ["--config", str(ROOT / "kb.yml"), "check"])
    assert res.exit_code == 0 and "personal data" not in res.output


def test_an_unchanged_file_is_not_scanned_again(empty_kb, monkeypatch):
    from kb_builder import privacy_scan
    from kb_builder.config import load_config
    write_case(empty_kb, "clean", body="## 问题\n\n饮水机坏了。\n")
    write_case(empty_kb, "dirty", body=PHONE_CASE)
    cfg = load_config(empty_kb / "kb.yml")
    cache = empty_kb / "scan.json"
    first = [str(p) for p in privacy_scan.scan_cases(cfg, cache)]
    assert len(first) == 1
    scanned = []
    real = privacy_scan._findings
    monkeypatch.setattr(privacy_scan, "_findings", lambda text, red: scanned.append(text) or real(text, red))
    assert [str(p) for p in privacy_scan.scan_cases(cfg, cache)] == first  # the finding is reported again
    assert scanned == []  # from the cache: neither file is scanned
    assert "138 0013" not in cache.read_text(encoding="utf-8")  # the cache names the kind and column, never the value
    write_case(empty_kb, "dirty", body=PHONE_CASE + "\n又坏了。\n")
    assert len(privacy_scan.scan_cases(cfg, cache)) == 1  # changed: scanned again, alone
    assert len(scanned) == 1 and "又坏了" in scanned[0]


def test_many_files_are_scanned_in_worker_processes_with_the_same_findings(empty_kb, monkeypatch):
    """A first build scans every case (27 ms a file, jieba's name tagger): on every core, the same answer."""
    from kb_builder import privacy_scan
    from kb_builder.config import load_config
    for i in range(12):
        write_case(empty_kb, f"case-{i}", body=PHONE_CASE if i % 3 == 0 else f"## 问题\n\n{i} 号楼的饮水机坏了。\n")
    cfg = load_config(empty_kb / "kb.yml")
    alone = [(str(p.path), p.line, p.message) for p in privacy_scan.scan_cases(cfg)]
    pools = []
    monkeypatch.setattr(privacy_scan, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(privacy_scan.os, "cpu_count", lambda: 2)
    import concurrent.futures
    pool_class = concurrent.futures.ProcessPoolExecutor
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor",
                        lambda *a, **k: pools.append(a) or pool_class(*a, **k))
    together = [(str(p.path), p.line, p.message) for p in privacy_scan.scan_cases(cfg)]
    assert pools
    assert together == alone and len(alone) == 4


def test_publishing_removes_everything_on_the_record(app, client, make_staff):
    from sqlalchemy import select

    from intake_api import publish
    from intake_api.db import get_session
    from intake_api.models import Complaint
    make_staff("liu", "handler", ["facilities"])
    ack = client.post("/api/v1/complaints", json={
        **COMPLAINT, "description": "我是采购部的采购专员黄丽，微信 wx_huangli88。三楼茶水间的饮水机坏了，黃麗已经报修两次",
        "identity": {"name": "黄丽", "department": "采购部", "position": "采购专员", "contact": "wx_huangli88"}})
    assert ack.status_code == 201, ack.get_json()
    number = ack.get_json()["number"]
    headers = {"X-CSRFToken": api_login(client, "liu")}
    for action, body in [("status", {"status": "assessed"}), ("status", {"status": "investigating"}),
                         ("response", {"text": "已更换加热管，Huang Li 确认恢复正常，费用 ¥120 由公司承担。"}),
                         ("status", {"status": "resolved"})]:
        assert client.post(f"/api/v1/staff/complaints/{number}/{action}", json=body, headers=headers).status_code == 200
    with app.app_context():
        c = get_session().scalar(select(Complaint).where(Complaint.number == number))
        draft = publish.draft_from(app.config["KB"], c, ["liu"])
    text = "\n".join([draft.title, draft.body, *draft.questions])
    for secret in ("黄丽", "黃麗", "Huang Li", "wx_huangli88", "采购部", "采购专员"):
        assert secret not in text, (secret, text)
    assert "¥120" in text and "三楼茶水间的饮水机坏了" in text
    assert {"name", "contact", "department", "position"} <= set(draft.found)


def test_search_texts_are_redacted_and_the_gaps_show_only_redacted_texts(app, client, db_url):
    import datetime as dt

    from intake_api import metrics
    from intake_api.db import get_session
    from intake_api.models import AnalyticsEvent
    from kb_builder.redact import Redactor
    res = client.post("/api/v1/events", json={"kind": "search", "query": "我叫欧阳娜娜，停车场充电桩坏了，电话 13812345678",
                                              "result_count": 0})
    assert res.status_code == 201
    stored = query_db(db_url, "SELECT query FROM analytics_events")[0][0]
    assert stored == "我叫[姓名]，停车场充电桩坏了，电话 [电话]"
    with app.app_context():
        session = get_session()
        # a text stored before the redactor caught names: the review redacts it again
        session.add(AnalyticsEvent(kind="search", query="张经理说充电桩坏了", result_count=0))
        session.commit()
        now = dt.datetime.now(dt.timezone.utc)
        period = metrics.Period("now", now - dt.timedelta(days=1), now + dt.timedelta(days=1))
        gaps = metrics.content_gaps(session, period, redactor=Redactor.for_settings(app.config["KB"].process.privacy))
    texts = [q for q, _ in gaps["searches"]]
    assert sorted(texts) == sorted(["我叫[姓名]，停车场充电桩坏了，电话 [电话]", "[姓名]说充电桩坏了"])


def _benchmark():
    spec = importlib.util.spec_from_file_location("redaction_bench", ROOT / "benchmarks" / "redaction.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["redaction_bench"] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_data_is_labelled_and_large_enough():
    bench = _benchmark()
    samples = [s for path in bench.DATA for s in bench.parse(path)]
    assert len(samples) >= 300
    assert {s.lang for s in samples} == {"zh-Hans", "zh-Hant", "en"}
    assert min(sum(s.lang == lang for s in samples) for lang in ("zh-Hans", "zh-Hant", "en")) >= 90
    for s in samples:
        for item in s.items:
            assert s.text[item.start:item.end].strip(), s.source


def test_the_benchmark_scores_a_sample_file(tmp_path, capsys):
    bench = _benchmark()
    data = tmp_path / "redaction_mine.txt"
    data.write_text("@lang zh-Hans\n手机 {-phone:13812345678}，{+date:2026-11-20} 到的\n"
                    "@lang en\nCall {-phone:139 1234 5678} about order {+order:12345678901}\n"
                    "The {+word:administration} office\n", encoding="utf-8")
    figures = bench.run(bench.parse(data))
    assert figures["structured"] == [2, 2] and figures["over"] == (0, 3) and figures["cuts"] == 0
    out = capsys.readouterr().out
    assert "over-redaction: 0/3 keep items touched = 0.000%" in out
    bad = tmp_path / "redaction_bad.txt"
    bad.write_text("@lang en\nno items here\n", encoding="utf-8")
    try:
        bench.parse(bad)
    except SystemExit as exc:
        assert "redaction_bad.txt:2: the sample marks no item" in str(exc)
    else:
        raise AssertionError("a sample with no item must be refused")
