"""Identifiers found by pattern and, where the number carries one, its check digit.

Every pattern runs on NFKC-normalised text (full-width digits, letters, `＠`
and `：` become ASCII; redact.py maps the spans back to the original), so a
number typed with an input method in full-width form is caught like any
other. Numbers that carry a check digit (mainland and Taiwan IDs, Hong Kong
IDs, bank cards) are removed on their own when the check passes and after a
label (身份证, 卡号, ...) even when it does not, since a mistyped ID is still
personal. Numbers with no check digit (phones, employee numbers, IM ids) are
found by their shape where it is distinctive (mobiles, area codes) and
otherwise only after a label.

`KEEP` lists what must stay even though it looks like a number of that kind:
order, invoice and ticket numbers after their labels, dates, times, amounts,
percentages, service hotlines and article or complaint ids. Those spans
block every detector below them (see `Redactor.find`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from stdnum import luhn
from stdnum.iso7064 import mod_11_2


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    kind: str
    priority: int


SEP = r"[ \-.·•\u2010-\u2015]"  # separators people put between digit groups
NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
GAP = r"\s*(?i:是|为|為|:|#|号码|號碼|号|號|no\.?|number|id)?\s*"  # between a label and its value


def _label(words: str) -> str:
    return rf"(?:{words})"


def _digits(s: str) -> str:
    return re.sub(r"[^0-9Xx]", "", s).upper()


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return 1900 <= y <= dt.date.today().year


def mainland_id_ok(number: str) -> bool:
    """18 digits: birth date plausible and the ISO 7064 MOD 11-2 check digit right.

    The area code is not looked up: codes are retired and renamed, and an ID
    with an old one is just as personal.
    """
    n = _digits(number)
    if len(n) == 18:
        return (n[:17].isdigit() and _valid_date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
                and mod_11_2.is_valid(n))
    if len(n) == 15 and n.isdigit():  # the old form: 2-digit year, no check digit
        return _valid_date(1900 + int(n[6:8]), int(n[8:10]), int(n[10:12]))
    return False


def mainland_id_found(value: str) -> bool:
    """Written in one piece, a valid birth date is enough (a mistyped ID is still personal);
    written in groups, the check digit must hold too, since groups may be two unrelated numbers."""
    n = _digits(value)
    groups = tuple(len(g) for g in re.split(SEP + "+", value))
    if len(n) == 18 and n[:17].isdigit() and (value.isalnum() or groups in CANONICAL_GROUPS):
        return _valid_date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    return mainland_id_ok(value)


# How IDs are written in groups: area | birth date | rest. Other groupings need the check digit to hold.
CANONICAL_GROUPS = {(6, 8, 4), (6, 8, 3, 1), (6, 4, 4, 4), (6, 4, 2, 2, 4)}


def hk_id_ok(value: str) -> bool:
    """Hong Kong ID: 1-2 letters, 6 digits, check digit (mod 11, A = 10)."""
    m = re.fullmatch(r"([A-Z]{1,2})(\d{6})\(?([0-9A])\)?", re.sub(r"\s", "", value.upper()))
    if not m:
        return False
    letters, digits, check = m.groups()
    letters = letters.rjust(2, " ")
    total = sum((9 - i) * (36 if c == " " else ord(c) - 55) for i, c in enumerate(letters))
    total += sum((7 - i) * int(c) for i, c in enumerate(digits))
    expected = (11 - total % 11) % 11
    return check == ("A" if expected == 10 else str(expected))


_TW_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"  # A=10 ... O=35, in the official order


def tw_id_ok(value: str) -> bool:
    """Taiwan national ID (and the new resident certificate): letter, 1/2/8/9, 8 digits, weighted check."""
    v = value.upper()
    if not re.fullmatch(r"[A-Z][1289]\d{8}", v):
        return False
    code = _TW_LETTERS.index(v[0]) + 10
    digits = [code // 10, code % 10] + [int(c) for c in v[1:]]
    weights = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1]
    return sum(d * w for d, w in zip(digits, weights)) % 10 == 0


def card_ok(number: str) -> bool:
    n = _digits(number)
    return n.isdigit() and 15 <= len(n) <= 19 and luhn.is_valid(n)


# --- what must stay -----------------------------------------------------------------------------------

REF_LABELS = _label(
    r"订单编号|订单号|订单|訂單編號|訂單號|訂單|单号|單號|发票号码|发票号|发票代码|發票號碼|發票號|发票|發票|"
    r"工单号|工單號|工单|工單|报修单号|報修單號|报修单|報修單|报销单号|報銷單號|报销单|報銷單|流水号|流水號|"
    r"快递单号|快遞單號|运单号|運單號|合同号|合同號|合同编号|票号|票號|批次号|批次號|资产编号|資產編號|"
    r"ticket|order|invoice|receipt|PO|ref(?:erence)?|case|tracking|asset|batch|request|incident|INC|REQ")
KEEP = [
    # order / invoice / ticket numbers after their labels: the value must carry a digit
    (re.compile(rf"(?i:{REF_LABELS}){GAP}(?=[A-Za-z\-_/]*\d)[A-Za-z0-9][A-Za-z0-9\-_/]{{3,40}}"), "reference", 90),
    # complaint numbers and article ids (TS-2026-000123, water-dispenser-not-working), links
    (re.compile(r"\b[A-Z]{2,5}-\d{4}-\d{3,8}\b"), "reference", 90),
    (re.compile(r"https?://[^\s<>\"'）)]+|(?<![\w@.])/(?:faq|sop|api)/[A-Za-z0-9\-/_.]*"), "link", 90),
    (re.compile(r"(?<![A-Za-z0-9@.])(?=[a-z0-9-]*[a-z])[a-z0-9]+(?:-[a-z0-9]+){2,}(?![A-Za-z0-9@])"), "reference", 75),
    # dates: 2026-11-20, 2026/11/20, 2026年11月20日, 11月20日, 20/11/2026
    (re.compile(r"(?<![\d.])(?:19|20)\d{2}\s*[-/.年]\s*(?:1[0-2]|0?[1-9])\s*[-/.月]\s*(?:3[01]|[12]\d|0?[1-9])\s*[日号號]?(?![\d.]\d)"), "date", 75),
    (re.compile(r"(?<![\d.])(?:19|20)\d{2}\s*年\s*(?:1[0-2]|0?[1-9])\s*月|(?<!\d)(?:1[0-2]|0?[1-9])\s*月\s*(?:3[01]|[12]\d|0?[1-9])\s*[日号號]"), "date", 75),
    (re.compile(r"(?<![\d./])(?:3[01]|[12]\d|0?[1-9])/(?:1[0-2]|0?[1-9])/(?:19|20)\d{2}(?![\d/])"), "date", 75),
    # times: 10:30, 08:15:00, 9点半, 下午3点20分
    (re.compile(r"(?<![\d:])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?![\d:])"), "time", 75),
    (re.compile(r"(?<!\d)(?:[01]?\d|2[0-4])\s*[点點時时](?:\s*[0-5]?\d\s*分|半)?"), "time", 75),
    # amounts and percentages
    (re.compile(r"(?:[¥$€£]|RMB|CNY|HKD|USD|HK\$|MOP)\s?\d[\d,]*(?:\.\d+)?", re.I), "amount", 75),
    (re.compile(r"(?<![\d.])\d[\d,]*(?:\.\d+)?\s*(?:元|块|塊|万元|萬元|万|萬|角|RMB|CNY|HKD|yuan|dollars?)(?![A-Za-z])", re.I), "amount", 75),
    (re.compile(r"(?<![\d.])\d+(?:\.\d+)?\s?%"), "percent", 75),
    # public service numbers: emergency and government lines, 400/800 company hotlines, 95xxx bank lines
    (re.compile(r"(?<![0-9A-Za-z\-])(?:400|800)(?:" + SEP + r"?\d){7}(?!\d)"), "hotline", 90),
    (re.compile(r"(?<![0-9A-Za-z\-.])(?:11[0249]|12[02]|12345|12315|12333|95\d{3})(?![0-9A-Za-z\-])"), "hotline", 90),
]

# --- what must go -------------------------------------------------------------------------------------

ID_LABELS = _label(r"身份证号码|身份证号|身份证|身份證號碼|身份證號|身份證|证件号码|证件号|證件號碼|證件號|"
                   r"ID\s*card|ID\s*no\.?|ID\s*number|identity\s*card|HKID|居民身份证")
CARD_LABELS = _label(r"银行卡号|银行卡|銀行卡號|銀行卡|工资卡号|工资卡|薪資卡|薪资卡|卡号|卡號|账号|帳號|账户|帳戶|"
                     r"bank\s*card|card\s*(?:no\.?|number)|account\s*(?:no\.?|number)")
PASSPORT_LABELS = _label(r"护照号码|护照号|护照|護照號碼|護照號|護照|通行证|通行證|passport")
PHONE_LABELS = _label(r"电话|電話|手机号码|手机号|手机|手機號碼|手機號|手機|座机|座機|固话|固話|联系方式|聯繫方式|聯絡方式|"
                      r"联系电话|聯絡電話|call\s*me\s*(?:on|at)?|call|text\s*me\s*(?:on|at)?|reach\s*me\s*(?:on|at)|tel\.?|phone|"
                      r"mobile|cell|whatsapp|致电|致電|打给我|打給我|拨打我|撥打我|打|拨|撥|联系|聯絡|聯繫")
EXT_LABELS = _label(r"分机|分機|内线|內線|转|轉|ext\.?|extension")
IM_LABELS = _label(r"企业微信|企業微信|微信号|微信號|微信|微訊|wechat(?:\s*id)?|weixin|wx|vx|v信|QQ号|QQ號|qq|"
                   r"钉钉号|釘釘號|钉钉|釘釘|dingtalk(?:\s*id)?|飞书|飛書|lark|telegram|line\s*id|skype")
EMPLOYEE_LABELS = _label(r"工号|工號|员工号码|員工號碼|员工号|員工號|员工编号|員工編號|职工编号|職工編號|员工卡号|員工卡號|职工号|職工號|工卡号|工卡號|"
                         r"staff\s*(?:no\.?|number|id|#)|employee\s*(?:no\.?|number|id|#)|emp\.?\s*(?:no\.?|id)|"
                         r"badge\s*(?:no\.?|number|id)")
PROVINCES = "京津沪滬渝冀豫云雲辽遼黑湘皖鲁魯新苏蘇浙赣贛鄂桂甘晋晉蒙陕陝吉闽閩贵貴粤粵青藏川宁寧琼瓊"
ROAD = r"(?:大道|大街|路|街|巷|弄|胡同|道)(?:[一二三四五六七八九十]{1,3}段)?(?:\s*\d{1,4}\s*[巷弄])*"
# characters that start a sentence part rather than a place name, so "我住在深圳路 3 号" starts at 深圳
NOT_PLACE = r"(?![在住于於是到从從往去的址和与與我你他她们們，。、：:；;！？\s])"

SHAPES = [
    # e-mail (full-width ＠ and letters are ASCII after NFKC)
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"), "email", 95, None),
    # mainland ID: 18 digits (any separators), 15-digit old form
    (re.compile(NOT_ALNUM_BEFORE + r"[1-9](?:" + SEP + r"{0,2}\d){16}" + SEP + r"{0,2}[\dXx]" + NOT_ALNUM_AFTER),
     "resident_id", 85, mainland_id_found),
    (re.compile(NOT_ALNUM_BEFORE + r"[1-9]\d{5}" + SEP + r"?\d{6}" + SEP + r"?\d{3}" + NOT_ALNUM_AFTER),
     "resident_id", 84, mainland_id_ok),
    # Hong Kong ID A123456(7); Macau 1234567(8); Taiwan A123456789
    (re.compile(NOT_ALNUM_BEFORE + r"[A-Z]{1,2}\d{6}\s?\(?[0-9A]\)?" + NOT_ALNUM_AFTER), "id_card", 83, hk_id_ok),
    (re.compile(NOT_ALNUM_BEFORE + r"[1578]\d{6}\s?\(\d\)"), "id_card", 83, None),
    (re.compile(NOT_ALNUM_BEFORE + r"[A-Z][1289]\d{8}" + NOT_ALNUM_AFTER), "id_card", 83, tw_id_ok),
    # Chinese e-passports E12345678 / EA1234567 / G12345678
    (re.compile(NOT_ALNUM_BEFORE + r"(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7})" + NOT_ALNUM_AFTER), "passport", 82, None),
    # bank cards: 15-19 digits in any grouping, Luhn
    (re.compile(NOT_ALNUM_BEFORE + r"[3-6]\d{3}(?:" + SEP + r"{0,2}\d){11,15}" + NOT_ALNUM_AFTER), "bank_card", 81, card_ok),
    # mobiles: +86 / 0086 / (+86), 1[3-9] and nine more digits in any grouping
    (re.compile(r"(?<![\dA-Za-z])(?<!\d" + SEP + r")(?:(?:\(\+?86\)|\+86|0086|\+?86(?=" + SEP + r"))" + SEP + r"{0,2})?"
                r"1[3-9](?:" + SEP + r"{0,2}\d){9}(?!" + SEP + r"?\d)"), "phone", 70, None),
    # landlines with an area code: 010-62345678, (0755) 8765 4321, +86 755 8765 4321, optional extension
    (re.compile(r"(?<![\dA-Za-z])(?<!\d" + SEP + r")(?:(?:\+86|0086)" + SEP + r"{0,2}\(?0?[1-9]\d{1,2}\)?|\(?0[1-9]\d{0,2}\)?)"
                + SEP + r"{0,2}\d{3,4}" + SEP + r"{0,2}\d{4}(?:\s*" + EXT_LABELS + r"\s*\d{1,6})?(?!" + SEP + r"?\d)", re.I),
     "phone", 69, None),
    # international numbers other than +86
    (re.compile(r"(?<![\w+])\+(?!86)[1-9]\d{0,2}(?:" + SEP + r"{0,2}\(?\d{1,4}\)?){2,5}(?!\d)"), "phone", 68, None),
    # Hong Kong and Macau numbers with their country code: +852 9123 4567, (852) 2345 6789, 00853 6612 3456
    (re.compile(r"(?<![\dA-Za-z+])(?:\(\+?85[23]\)|\+85[23]|0085[23]|85[23](?=" + SEP + r"))" + SEP + r"{0,2}"
                r"[2-9]\d{3}" + SEP + r"?\d{4}(?!" + SEP + r"?\d)"), "phone", 71, None),
    # licence plates: 京A12345, 粤B·D12345 (new-energy: six characters after the letter)
    (re.compile(rf"[{PROVINCES}]\s?[A-HJ-NP-Z]\s?[·•\-]?\s?(?=[A-HJ-NP-Z]*\d)[A-HJ-NP-Z0-9]{{5,6}}(?:挂|學|学|警)?" + NOT_ALNUM_AFTER),
     "plate", 70, None),
    # IP addresses
    (re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d)"), "ip", 65, None),
    (re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){2,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,6}|[0-9A-Fa-f]{1,4})(?![0-9A-Fa-f:])"
                r"(?<=[0-9A-Fa-f:]{8})"), "ip", 64, None),
    # street addresses: 科技园南路 18 号 (3 栋 502 室); 幸福小区 5 栋 2 单元 301; 88 Nathan Road; Flat 12B
    (re.compile(NOT_PLACE + r"(?:" + NOT_PLACE + r"[\u4e00-\u9fff]){1,10}" + ROAD + r"\s*\d{1,5}\s*(?:-\s*\d{1,4}\s*)?[号號]"
                r"(?:\s*[\u4e00-\u9fffA-Za-z]{0,10}?(?:院|大厦|大廈|大楼|大樓|中心|广场|廣場|花园|花園|城|苑|公寓))?"
                r"(?:\s*[\dA-Za-z]{1,4}\s*(?:栋|棟|幢|座|号楼|號樓|单元|單元|层|樓|楼|室|号|號))*"
                r"(?:\s*\d{2,5}(?![\d:]))?"), "address", 50, None),
    (re.compile(NOT_PLACE + r"(?:" + NOT_PLACE + r"[\u4e00-\u9fff]){1,8}(?:小区|小區|花园|花園|公寓|新村|家园|家園|苑|村)"
                r"\s*\d{1,3}\s*(?:栋|棟|幢|号楼|號樓|座|期)(?:\s*\d{1,3}\s*(?:单元|單元))?(?:\s*\d{2,5}\s*(?:室|号|號)?)?"),
     "address", 50, None),
    (re.compile(r"(?:(?:Flat|Apt\.?|Apartment|Unit|Room|Rm\.?)\s+\d{1,5}[A-Z]?,?\s+(?:(?:Block|Tower|Building)\s+\w{1,3},?\s+)?)?"
                r"\b\d{1,5}[A-Z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Boulevard|Blvd|Drive|Dr|"
                r"Way|Court|Ct|Place|Pl|Terrace|Crescent)\b\.?"), "address", 50, None),
    (re.compile(r"\b(?:Flat|Apt\.?|Apartment)\s+\d{1,5}[A-Z]?\b"), "address", 50, None),
]

# value patterns used after a label
_ID_VALUE = r"[1-9](?:" + SEP + r"{0,2}\d){13,16}" + SEP + r"{0,2}[\dXx]|[A-Z]{1,2}\d{6}\s?\(?[0-9A]\)?|[1578]\d{6}\s?\(?\d\)?|[A-Z][1289]\d{8}"
LABELLED = [
    (re.compile(rf"(?i:{ID_LABELS}){GAP}(?-i:({_ID_VALUE})){NOT_ALNUM_AFTER}"), "resident_id", 88),
    (re.compile(rf"(?i:{CARD_LABELS}){GAP}(\d(?:{SEP}{{0,2}}\d){{11,18}}){NOT_ALNUM_AFTER}"), "bank_card", 88),
    (re.compile(rf"(?i:{PASSPORT_LABELS}){GAP}([A-Z]{{1,2}}\d{{6,9}}|\d{{8,9}}){NOT_ALNUM_AFTER}"), "passport", 88),
    (re.compile(rf"(?i:{EMPLOYEE_LABELS}){GAP}([A-Za-z]{{0,3}}{SEP}?\d{{2,}}(?:{SEP}\d{{2,}})*){NOT_ALNUM_AFTER}"),
     "employee_no", 87),
    (re.compile(rf"(?i:{PHONE_LABELS}){GAP}(?:[^\d\n]{{0,6}}?)(\+?\d(?:{SEP}{{0,2}}\d){{6,13}}(?:\s*{EXT_LABELS}\s*\d{{1,6}})?)(?!{SEP}?\d)"),
     "phone", 86),
    (re.compile(rf"(?i:分机|分機|内线|內線|ext\.?|extension)\s*(?:是|为|為|:|#)?\s*(\d{{3,6}})(?!{SEP}?\d)"), "phone", 66),
    # WeChat / QQ / DingTalk: an id with a digit, _ or -, or any id after an explicit 是/:/号
    (re.compile(rf"(?i:{IM_LABELS})(?:\s*(?:号|號|id|ID|账号|帳號))?\s*(?:(?:是|为|為|:|(?i:is))\s*([A-Za-z0-9][A-Za-z0-9_\-.]{{4,29}})"
                rf"|((?=[A-Za-z]*[\d_\-])[A-Za-z0-9][A-Za-z0-9_\-.]{{4,29}})){NOT_ALNUM_AFTER}"), "im_id", 96),
]


# Hong Kong and Macau local numbers have 8 digits and no area code (9123 4567, 2890 1234, Macau 6612 3456): the
# shape alone is an order number as often as a phone, so it counts only a few words after a verb of calling.
LOCAL_NUMBER = re.compile(
    r"(?<![\d+\-.:/#])[2-9]\d{3}[ \-]?\d{4}(?!\d)(?!" + SEP + r"\d)"
    r"(?!\s*(?i:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|times|people|persons|staff|items|units|pcs|"
    r"words|pages|km|kg|dollars?|hkd|mop|patacas|points?|steps)\b)")
CALL_CUES = {"call", "calls", "called", "calling", "phone", "phoned", "phoning", "ring", "rang", "text", "texted",
             "texting", "sms", "whatsapp", "whatsapped", "message", "messaged", "reach", "reached", "contact",
             "contacted", "dial", "dialled", "dialed", "mobile", "cell", "tel", "number"}
# Cues that take the number straight after them (text 9123 4567); reach / contact need "me", "on" or "at" between
# (reached 23456789 is a count).
DIRECT_CUES = {"call", "called", "calling", "phone", "phoned", "ring", "text", "texted", "sms", "whatsapp", "dial",
               "dialled", "dialed", "mobile", "cell", "tel", "number"}
# The word right before the number: a direct cue, a preposition of contact or an object (call me 9123 4567).
CALL_JOINS = {"on", "at", "is", "via", "me", "him", "her", "us", "them", ":", "no", "number", "line"}
OBJECTS = {"me", "him", "her", "us", "them"}


def local_phones(norm: str) -> list[Hit]:
    """8-digit local numbers a few words after call / phone / text / WhatsApp / reach / contact, or after "me at"."""
    hits = []
    for m in LOCAL_NUMBER.finditer(norm):
        clause = re.split(r"[.!?;。！？；\n]\s|[!?;。！？；\n]", norm[max(0, m.start() - 80):m.start()])[-1]
        words = re.findall(r"[A-Za-z]+|[:：]", clause.lower())
        if not words:
            continue
        last = words[-1].replace("：", ":")
        cue = any(w in CALL_CUES for w in words[-7:])
        if (cue and (last in DIRECT_CUES or last in CALL_JOINS)) or (last == "at" and len(words) > 1 and words[-2] in OBJECTS):
            hits.append(Hit(m.start(), m.end(), "phone", 67))
    return hits


def find_identifiers(norm: str, public: set[str]) -> tuple[list[Hit], list[Hit]]:
    """(spans to remove, spans to keep) in NFKC text; `public` values (service desk numbers) stay."""
    keep: list[Hit] = []
    for pattern, kind, priority in KEEP:
        keep += [Hit(m.start(), m.end(), kind, priority) for m in pattern.finditer(norm)]
    remove: list[Hit] = []
    for pattern, kind, priority, check in SHAPES:
        for m in pattern.finditer(norm):
            value = m.group(0).rstrip(".") if kind == "address" else m.group(0)
            if check is not None and not check(value):
                continue
            remove.append(Hit(m.start(), m.start() + len(value), kind, priority))
    for pattern, kind, priority in LABELLED:
        for m in pattern.finditer(norm):
            group = next(i for i in range(1, (m.lastindex or 0) + 1) if m.group(i) is not None)
            if kind == "resident_id" and (m.group(group)[0].isalpha() or len(_digits(m.group(group))) < 15):
                kind_here = "id_card"  # a Hong Kong, Macau or Taiwan ID after 身份证
            else:
                kind_here = kind
            remove.append(Hit(m.start(group), m.end(group), kind_here, priority))
    remove += local_phones(norm)
    if public:
        remove = [h for h in remove if _digits(norm[h.start:h.end]) not in public and norm[h.start:h.end].lower() not in public]
    return remove, keep
