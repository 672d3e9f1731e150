"""The recalibration path of operations/publishing.md: retrieval.py on an organisation's own task file."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TASK = {
    "language": "zh",
    "articles": [
        {"id": "wifi", "title": "宿舍网络", "text": "宿舍WiFi连不上\n网络很慢\n无线网断线"},
        {"id": "canteen", "title": "食堂口味", "text": "食堂饭菜太咸\n午饭不好吃\n菜太油"},
        {"id": "salary", "title": "工资问题", "text": "工资少发了\n工资条不对\n这个月工资怎么少了"},
        {"id": "shuttle", "title": "班车", "text": "班车晚点\n班车太挤\n错过班车"},
    ],
    "queries": [
        {"text": "宿舍的无线网络老是断", "gold": "wifi"},
        {"text": "今天的菜咸死了", "gold": "canteen"},
        {"text": "为什么我的工资少了", "gold": "salary"},
        {"text": "早上班车又迟到了", "gold": "shuttle"},
        {"text": "你好呀", "gold": None},
        {"text": "给我讲个笑话吧", "gold": None},
    ],
}


def test_retrieval_benchmark_recalibrates_on_our_own_task_file(tmp_path):
    task = tmp_path / "ours.json"
    task.write_text(json.dumps(TASK, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "retrieval.py"), "--task-file", str(task),
                          "--no-baseline"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    row = re.search(r"product \(suggest path\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", run.stdout)
    assert row, run.stdout
    hit1, hit3, mrr, auroc, right = map(float, row.groups())
    assert hit1 >= 0.75 and hit3 == 1.0 and auroc >= 0.75
    assert re.search(r"threshold answering most queries right over all tasks run: -?[\d.]+", run.stdout)
    assert "lexical path alone" in run.stdout and "BM25 baseline" not in run.stdout
