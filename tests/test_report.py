"""The quarterly review on a generated quarter: figures traceable to queries, charts, suppression."""

import re

from click.testing import CliRunner

from conftest import query_db


def test_report_on_a_generated_quarter(built_kb, db_url, tmp_path, monkeypatch):
    from kb_builder.cli import main
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    runner = CliRunner()
    res = runner.invoke(main, ["--config", str(built_kb / "kb.yml"), "demo-data", "--quarter", "2026Q3",
                               "--complaints", "120"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "reports"
    res = runner.invoke(main, ["--config", str(built_kb / "kb.yml"), "report", "--quarter", "2026Q3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report-2026Q3.md").read_text(encoding="utf-8")
    page = (out / "report-2026Q3.html").read_text(encoding="utf-8")

    # The headline figures agree with direct queries.
    total = query_db(db_url, "SELECT count(*) FROM complaints")[0][0]
    assert f"收到投诉 **{total}** 件" in md
    defl = query_db(db_url, "SELECT count(*) FROM deflections")[0][0]
    online = query_db(db_url, "SELECT count(*) FROM complaints WHERE channel IN ('online_form', 'anonymous_platform')")[0][0]
    assert f"分流率 **{defl / (defl + online):.0%}**" in md
    # Charts: PNG files for the Markdown, inlined in the self-contained HTML.
    for name in ("categories", "deflection", "sla", "satisfaction"):
        assert (out / f"report-2026Q3-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.count("data:image/png;base64,") == 4
    assert not re.search(r'(src|href)="https?://', page)
    # Small departments are merged and their count hidden.
    table = md[md.index("| 部门 · Department"):md.index("## 时限")]
    assert "其他 · other" in table and "审计部" not in table
    # In every count table (category, level, channel, department) no group under 5 shows.
    counts = md[md.index("## 分类、级别、渠道、部门"):md.index("## 时限")]
    rows = re.findall(r"^\| (.+?) \| (<?\d+) \|$", counts, re.M)
    assert len(rows) > 10 and all(v.startswith("<") or int(v) >= 5 for _, v in rows)
    # The emergency wave and the recurring water dispenser are found.
    assert "应急预警 1 次" in md
    assert re.search(r"\*\*facilities\*\* × \d+：3号楼茶水间的饮水机又坏了", md)
    assert "停车场充电桩" in md  # a content gap


def test_report_page_in_the_workspace_for_admins_only(client, make_staff):
    from conftest import api_login
    make_staff("boss", "admin")
    make_staff("wang", "handler", ["facilities"])
    client.post("/api/v1/complaints", json={"category": "canteen", "description": "食堂饭菜太咸了", "request": "少放盐",
                                            "occurred_at": "2026-11-20", "location": "一号食堂"})
    api_login(client, "wang")
    assert client.get("/staff/report").status_code == 403
    client.post("/api/v1/staff/logout")
    api_login(client, "boss")
    page = client.get("/staff/report?quarter=2026Q4").get_data(as_text=True)
    assert "Quarterly complaint review 2026Q4" in page and "data:image/png;base64," in page
    assert "收到投诉 <strong>1</strong> 件" in page
