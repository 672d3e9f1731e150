"""Staff find any complaint they may see: number, words in either script, filters, dates, pages, closed ones too."""

import datetime as dt
import re

import pytest

from conftest import workspace_login, COMPLAINT, PASSWORD, api_login, query_db

SIMPLIFIED = "三楼茶水间的饮水机坏了，已经两天没有热水"
TRADITIONAL = "宿舍的熱水器壞了，洗澡沒有熱水，請儘快維修"


@pytest.fixture
def desk_app(built_kb, db_url):
    """An app (CSRF on, as in production; no rate limits) with an admin, a facilities and an IT handler."""
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url},
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        create_staff(get_session(), "boss", PASSWORD, "admin", [])
        create_staff(get_session(), "fac", PASSWORD, "handler", ["facilities"])
        create_staff(get_session(), "itguy", PASSWORD, "handler", ["it"])
        get_session().commit()
    yield app
    app.extensions["db_engine"].dispose()


def execute(db_url: str, sql: str, **params) -> None:
    """Change the database directly (what a test cannot wait for: a closure long ago)."""
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def submit(client, **changes) -> str:
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, **changes))
    assert res.status_code == 201, res.get_json()
    return res.get_json()["number"]


def staff(app, username: str):
    client = app.test_client()
    api_login(client, username)
    return client


def found(client, **params) -> list[str]:
    res = client.get("/api/v1/staff/search", query_string=params)
    assert res.status_code == 200, res.get_json()
    return [c["number"] for c in res.get_json()["complaints"]]


def test_traditional_finds_simplified_and_simplified_finds_traditional(desk_app):
    public = desk_app.test_client()
    simplified = submit(public, description=SIMPLIFIED)
    traditional = submit(public, description=TRADITIONAL, category="dormitory", location="二號宿舍樓",
                         request="請儘快維修")
    boss = staff(desk_app, "boss")
    assert found(boss, q="飲水機") == [simplified]        # Traditional query, Simplified text
    assert found(boss, q="热水器") == [traditional]        # Simplified query, Traditional text
    assert found(boss, q="熱水器 壞") == [traditional]      # every term must occur
    assert found(boss, q="饮水机坏了") == [simplified]      # segmented: 饮水机 + 坏 (了 is a stop word)
    assert found(boss, q="饮水机 洗澡") == []
    assert sorted(found(boss, q="热水")) == sorted([simplified, traditional])
    assert found(boss, q="二号宿舍楼") == [traditional]     # the location is searched too
    assert found(boss, q="尽快修好") == [simplified]         # the request too
    assert found(boss, q="儘快") == [traditional, simplified]  # newest first
    assert found(boss, q="ＶＰＮ") == []                    # full-width folded, no match


def test_a_number_finds_its_complaint(desk_app):
    public = desk_app.test_client()
    numbers = [submit(public) for _ in range(3)]
    boss = staff(desk_app, "boss")
    for number in numbers:
        assert found(boss, q=number) == [number]
        assert found(boss, q=number.lower()) == [number]
        assert found(boss, q=f" {number.replace('TS', 'ＴＳ')} ") == [number]  # full-width, spaces
    prefix = numbers[0][:-1]  # part of a number is looked for in the text, where the number is too
    assert found(boss, q=prefix) == [n for n in reversed(numbers) if n.startswith(prefix)]
    assert found(boss, q=numbers[1][-6:]) == [numbers[1]]
    assert found(boss, q="TS-2026-999999") == []


def test_a_handler_does_not_find_another_teams_complaint(desk_app):
    public = desk_app.test_client()
    facilities = submit(public, description=SIMPLIFIED)
    it = submit(public, category="it-access", description="饮水机旁边的网口坏了，VPN 连不上")
    fac, itguy, boss = staff(desk_app, "fac"), staff(desk_app, "itguy"), staff(desk_app, "boss")
    assert found(fac, q="饮水机") == [facilities]
    assert found(itguy, q="饮水机") == [it]
    assert sorted(found(boss, q="饮水机")) == sorted([facilities, it])
    assert found(fac, q=it) == [] and found(fac, q="VPN") == []
    assert found(fac) == [facilities]  # no query: everything visible, and only that
    # The workspace gives the same answer.
    page = workspace_login(desk_app, "fac").get("/staff/search", query_string={"q": "饮水机"}).get_data(as_text=True)
    assert facilities in page and it not in page


def test_closed_complaints_are_found_and_statuses_filter(desk_app, db_url):
    public = desk_app.test_client()
    closed, open_ = submit(public, description=SIMPLIFIED), submit(public, description="饮水机漏水，地面很滑")
    execute(db_url, "UPDATE complaints SET status = 'closed' WHERE number = :n", n=closed)
    boss = staff(desk_app, "boss")
    assert sorted(found(boss, q="饮水机")) == sorted([closed, open_])
    assert found(boss, q="饮水机", status="closed") == [closed]
    assert found(boss, q="饮水机", status="open") == [open_]
    # The workspace's queue shows open work; search is where closed complaints are found.
    queue = boss.get("/api/v1/staff/complaints", query_string={"status": "open"}).get_json()["complaints"]
    assert closed not in [c["number"] for c in queue]


def test_category_department_and_date_filters(desk_app, db_url):
    public = desk_app.test_client()
    canteen = submit(public, category="canteen", description="食堂的饭菜太咸了，吃完口渴", about_department="canteen")
    shuttle = submit(public, category="shuttle", description="班车司机态度很差，开得太快", about_department="logistics")
    old = submit(public, category="canteen", description="食堂排队太久，饭菜都凉了")
    execute(db_url, "UPDATE complaints SET received_at = :at WHERE number = :n",
             at=dt.datetime(2026, 3, 1, 4, 0), n=old)  # 12:00 in Shanghai (UTC+8) on 1 March
    boss = staff(desk_app, "boss")
    assert sorted(found(boss, category="canteen")) == sorted([canteen, old])
    assert found(boss, about="logistics") == [shuttle]
    assert found(boss, about="canteen", category="canteen") == [canteen]
    assert found(boss, since="2026-03-01", until="2026-03-01") == [old]  # both days included
    assert found(boss, until="2026-02-28") == []
    assert old not in found(boss, since="2026-03-02")
    assert found(boss, q="食堂") == [canteen, old]  # newest first


def test_paging(desk_app, monkeypatch):
    public = desk_app.test_client()
    numbers = [submit(public, description=f"饮水机第 {i} 次坏了，没有热水") for i in range(7)]
    submit(public, description="空调不制冷，办公室太热")
    boss = staff(desk_app, "boss")
    pages = [boss.get("/api/v1/staff/search", query_string={"q": "饮水机", "per_page": 3, "page": p}).get_json()
             for p in (1, 2, 3)]
    assert [p["total"] for p in pages] == [7, 7, 7] and [p["pages"] for p in pages] == [3, 3, 3]
    listed = [c["number"] for p in pages for c in p["complaints"]]
    assert listed == list(reversed(numbers))  # each once, newest first
    assert [len(p["complaints"]) for p in pages] == [3, 3, 1]
    beyond = boss.get("/api/v1/staff/search", query_string={"q": "饮水机", "per_page": 3, "page": 99}).get_json()
    assert beyond["page"] == 3  # past the end: the last page
    # The workspace pages the same way, keeping the filters in its links.
    web = workspace_login(desk_app, "boss")
    monkeypatch.setattr("intake_api.finding.SEARCH_PAGE_SIZE", 3)
    page = web.get("/staff/search", query_string={"q": "饮水机", "status": "open"}).get_data(as_text=True)
    assert "1–3 / 7" in page and 'rel="next"' in page
    link = re.search(r'rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "page=2" in link and "status=open" in link and "q=" in link


def test_hostile_input_is_harmless(desk_app):
    public = desk_app.test_client()
    plain = submit(public, description=SIMPLIFIED)
    percent = submit(public, description="加班费只发了 50% ，其余的没有说明", category="payroll")
    boss = staff(desk_app, "boss")
    assert found(boss, q="%") == [percent]      # a literal percent sign, not "anything"
    assert found(boss, q="_") == []
    assert found(boss, q="50%") == [percent]
    for q in ("'", '"', "' OR 1=1 --", "%' OR '1'='1", "\\", "*", "[a-z]", "%%%%", "_%_",
              "<script>alert(1)</script>", "\u202e", "a" * 200):
        assert found(boss, q=q) == [], q
    assert found(boss, q="饮水机' --") == [plain]  # quotes are only characters
    assert found(boss, q="  ") == sorted([plain, percent], reverse=True)  # blank: no text condition
    many = " ".join(f"词{i}" for i in range(40))  # more terms than are looked for: no error, no match
    assert found(boss, q=many) == []
    res = boss.get("/api/v1/staff/search", query_string={"q": "饮" * 10_000})
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "q"
    bad = {"category": "nope", "about": "nowhere", "status": "lost", "since": "yesterday", "until": "0001-01-01",
           "page": "-1"}
    for name, value in bad.items():
        res = boss.get("/api/v1/staff/search", query_string={name: value})
        assert res.status_code == 400, (name, res.get_json())
        assert res.get_json()["errors"][0]["field"] == name
    res = boss.get("/api/v1/staff/search", query_string={"category": "nope"}).get_json()
    assert "facilities" in res["errors"][0]["message"]  # the known ones are listed
    res = boss.get("/api/v1/staff/search", query_string={"since": "2026-03-02", "until": "2026-03-01"})
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "until"
    # The workspace shows the problem on the page, with the form.
    web = workspace_login(desk_app, "boss")
    res = web.get("/staff/search", query_string={"q": "x" * 300})
    assert res.status_code == 400 and "搜索词太长" in res.get_data(as_text=True)


def test_a_purged_complaints_text_cannot_be_found(desk_app, db_url):
    from intake_api.db import get_session
    from intake_api.web import desk
    public = desk_app.test_client()
    purged = submit(public, description="张经理在会议室当众辱骂我，说我是废物")
    execute(db_url, "UPDATE complaints SET status = 'closed', closed_at = :at WHERE number = :n",
             at=dt.datetime(2020, 1, 1), n=purged)
    with desk_app.test_request_context():
        _, numbers = desk().purge(days=30)
        get_session().close()
    assert numbers == [purged]
    boss = staff(desk_app, "boss")
    for q in ("辱骂", "會議室", "废物", "张经理"):
        assert found(boss, q=q) == [], q
    assert found(boss, q=purged) == [purged]  # the number still finds what is left (counts, dates)
    (text,), = query_db(db_url, "SELECT search_text FROM complaints WHERE number = :n", n=purged)
    assert text == purged.lower()


def test_the_search_box_on_the_queue_and_escaping(desk_app):
    public = desk_app.test_client()
    number = submit(public, description="饮水机坏了 <script>alert('x')</script> 已经两天")
    web = workspace_login(desk_app, "fac")
    queue = web.get("/staff/").get_data(as_text=True)
    assert 'id="queue-search"' in queue and 'action="/staff/search"' in queue
    page = web.get("/staff/search", query_string={"q": "<script>"}).get_data(as_text=True)
    assert number in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert 'value="&lt;script&gt;"' in page  # the query shown back, escaped
    assert "搜索投诉（含已结案）" in page
    web.get("/staff/?lang=en")
    assert "Search complaints (closed ones too)" in web.get("/staff/search").get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_fills_search_text_of_existing_complaints(backend, tmp_path, db_templates):
    """Complaints stored before migration 0011 are found: it folds their text as new ones are."""
    import uuid

    from sqlalchemy import text

    from intake_api.db import make_engine, upgrade
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
    else:
        name = f"kbt_{uuid.uuid4().hex[:16]}"
        db_templates._pg(f'CREATE DATABASE "{name}"')
        url = db_templates._pg_url(name)
    engine = make_engine(url)
    try:
        upgrade(engine, "0009")
        at = dt.datetime(2026, 11, 20, 2, 0)
        with engine.begin() as conn:
            for i, (desc, purged) in enumerate([("茶水間的飲水機壞了", None), ("宿舍没有热水", at)], start=1):
                conn.execute(text(
                    "INSERT INTO complaints (id, number, tracking_hash, channel, anonymous, disclosure, category, "
                    "description, request, occurred_at, location, level, status, shown_articles, received_at, "
                    "assessment_due_at, updated_at, safety_flag, purged_at) VALUES (:id, :number, :hash, "
                    "'online_form', false, 'named', 'facilities', :desc, '请修好', :at, 'Ａ棟', 3, 'closed', '[]', "
                    ":at, :at, :at, false, :purged)"),
                    {"id": i, "number": f"TS-2026-00000{i}", "hash": f"h{i}", "desc": desc, "at": at,
                     "purged": purged})
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT number, search_text FROM complaints ORDER BY id")).fetchall()
        assert [tuple(r) for r in rows] == [("TS-2026-000001", "ts-2026-000001\n茶水间的饮水机坏了\n请修好\na栋"),
                                            ("TS-2026-000002", "ts-2026-000002")]
    finally:
        engine.dispose()
        if backend != "sqlite":
            db_templates.drop(url)

