"""Redaction on realistic Chinese and English text: what it removes, and what it must leave."""

import pytest

from kb_builder.redact import Redactor

R = Redactor(names=["赵丽华", "Wang Lei"], employee_patterns=[r"\bE\d{6}\b"], room_patterns=[r"\d{3,4}(?:室|房)", r"Room\s*\d+"])


@pytest.mark.parametrize("text, gone", [
    ("我是财务部赵丽华，手机 13812345678，有问题请联系我", ["赵丽华", "13812345678"]),
    ("电话：138 1234 5678 或 +86-139-8765-4321", ["138 1234 5678", "139-8765-4321"]),
    ("办公室座机 010-62345678 转 123，深圳分部 (0755) 8765 4321", ["62345678", "8765 4321"]),
    ("邮箱 zhao.lihua@example.com.cn，抄送 hr-team@corp.example", ["zhao.lihua", "hr-team@"]),
    ("身份证号 110105199003071234，另一个 44030619851231001X", ["110105199003071234", "44030619851231001X"]),
    ("工号：A20231234，员工编号 88321；系统里是 E204567", ["A20231234", "88321", "E204567"]),
    ("住在宿舍 2 号楼 512室，隔壁 514房", ["512室", "514房"]),
    ("Please call Wang Lei on +44 20 7946 0958 or mail wang.lei@example.com", ["Wang Lei", "7946", "wang.lei@"]),
    ("Employee No. 4471203 in Room 1204 reported it", ["4471203", "1204"]),
])
def test_personal_data_is_removed(text, gone):
    cleaned, found = R.redact(text)
    for value in gone:
        assert value not in cleaned, (value, cleaned)
    assert found


@pytest.mark.parametrize("text", [
    "2026-11-20 上午 10:30 饮水机坏了，等了 3 天",
    "报销金额 ¥1,280.50，发票号码没问题",
    "第 3 季度加班 12 小时，按 1.5 倍计算",
    "A 栋 3 楼茶水间，版本 2.7.5",
    "The shuttle was 25 minutes late on 2026-10-02 at 08:15",
])
def test_ordinary_numbers_and_dates_are_kept(text):
    cleaned, found = R.redact(text)
    assert cleaned == text and found == {}


def test_placeholders_say_what_was_there():
    cleaned, found = R.redact("赵丽华的手机13812345678，邮箱a@b.cn")
    assert cleaned == "[姓名]的手机[电话]，邮箱[邮箱]"
    assert found == {"name": 1, "phone": 1, "email": 1}


def test_rooms_are_kept_unless_configured():
    cleaned, _ = Redactor().redact("512室的空调坏了")
    assert cleaned == "512室的空调坏了"
