"""benchmarks/learning.py from a fresh checkout, on a small task file: the curve is printed and it rises."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ARTICLES = [
    ("wifi", "宿舍网络", ["宿舍WiFi连不上", "网络很慢", "无线网断线"]),
    ("canteen", "食堂口味", ["食堂饭菜太咸", "午饭不好吃", "菜太油"]),
    ("salary", "工资问题", ["工资少发了", "工资条不对", "这个月工资怎么少了"]),
    ("shuttle", "班车", ["班车晚点", "班车太挤", "错过班车"]),
]
# Ways people put it that the single starting phrasing does not cover; each comes back three times.
ASKED = [("路由器一直掉线，视频开不了", "wifi"), ("打饭阿姨手一抖肉全没了", "canteen"), ("发薪日到了钱没到账", "salary"),
         ("通勤大巴迟迟不来", "shuttle"), ("房间里上不了网", "wifi"), ("薪水被扣了一大截", "salary")]


def test_the_replay_prints_a_rising_curve_and_writes_the_plot(tmp_path):
    task = {"language": "zh", "articles": [{"id": i, "title": t, "text": "\n".join(lines)} for i, t, lines in ARTICLES],
            "queries": [{"text": text, "gold": gold} for text, gold in ASKED * 3] + [{"text": "你好呀", "gold": None}]}
    path = tmp_path / "ours.json"
    path.write_text(json.dumps(task, ensure_ascii=False), encoding="utf-8")
    plot = tmp_path / "curve.png"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "learning.py"), "--task", str(path), "--windows", "3",
                          "--missing", "0", "--learn-from", "both", "--plot", str(plot)],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    product, complaints = run.stdout.split("\nours [complaints]")
    assert "ours [all]: the product" in product  # the default mode, shown first
    proposed = {}
    for name, part in (("all", product), ("complaints", complaints)):
        rows = [tuple(map(float, m.groups())) for m in
                re.finditer(r"^\s+(\d+)\s+\d+\s+([\d.]+)\s+([\d.]+)\s+\d+\s+\d+\s+(\d+)", part, re.M)]
        assert [r[0] for r in rows] == [1, 2, 3], part
        assert rows[-1][1] > rows[0][1], part  # answered right rises once complaints became phrasings
        proposed[name] = rows[-1][3]
    # "This solved it" clicks propose phrasings too: more proposals than from the complaints alone.
    assert proposed["all"] > proposed["complaints"], run.stdout
    assert "today with 5 phrasings" in run.stdout and plot.stat().st_size > 10_000


def test_the_default_run_is_the_products_behaviour():
    """--learn-from defaults to what the desk does: complaints linked and "this solved it" clicks proposing."""
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "learning.py"), "--help"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "all (the product)" in run.stdout
    source = (ROOT / "benchmarks" / "learning.py").read_text(encoding="utf-8")
    # The simulation calls the desk's own functions for the proposal's text, its deduplication and the guard.
    assert "learning.proposable(" in source and "learning.is_new(" in source and "phrasing_conflicts(" in source
