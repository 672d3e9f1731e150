"""Evidence and attachments (issue 20, point 3): photos and files from complainants and staff.

Types are judged by content, photos lose their EXIF and GPS, files live
outside the web root under random names, only those who may see the
complaint get them, and they go with the complaint at retention.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil

import pytest

from conftest import COMPLAINT, PASSWORD, api_login, plan_notifications, query_db, start_kb_serve, stop_kb_serve
from conftest import ARGS, CHROMIUM

MAKE, MODEL, DATETIME, ORIENTATION, GPS_IFD = 0x010F, 0x0110, 0x0132, 0x0112, 0x8825
MAX_BYTES = 256 * 1024
MAX_FILES = 3
MAX_PIXELS = 10_000
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> "
       b"endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def gps_jpeg(size=(64, 48), orientation: int | None = 6) -> bytes:
    """A photo as a phone takes it: GPS position, camera make and model, time, orientation."""
    from PIL import Image
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, size[0] // 2, size[1] // 4))  # something to turn the right way up
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[DATETIME] = "PhoneMaker", "Pocket X12", "2026:11:20 08:15:00"
    if orientation:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (31.0, 14.0, 5.5), 3: "E", 4: (121.0, 28.0, 9.0), 5: 0, 6: 12.0})
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, comment=b"taken at home")
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)[2] == (31.0, 14.0, 5.5)  # it really has GPS
    return data


def png(size=(20, 20), **info) -> bytes:
    from PIL import Image, PngImagePlugin
    meta = PngImagePlugin.PngInfo()
    for k, v in info.items():
        meta.add_text(k, v)
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 128)).save(out, "PNG", pnginfo=meta)
    return out.getvalue()


def files_in(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def att(built_kb, db_url, tmp_path):
    """An app whose attachments go to a folder of this test's own, with small limits to reach."""
    from intake_api import create_app

    folder = tmp_path / "attachments"
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True, "KB_OVERRIDES": {
        "database_url": db_url, "paths.attachments": str(folder), "attachments.max_bytes": MAX_BYTES,
        "attachments.max_files": MAX_FILES, "attachments.max_pixels": MAX_PIXELS}})
    app.folder = folder
    yield app
    app.extensions["db_engine"].dispose()


def submit(client, **changes) -> dict:
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, **changes))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def upload(client, url: str, *files: tuple[str, bytes], **fields):
    data = {"file": [(io.BytesIO(content), name) for name, content in files], **fields}
    return client.post(url, data=data, content_type="multipart/form-data")


STAFF = {"fac": ("handler", ["facilities"]), "it": ("handler", ["it"]), "boss": ("admin", [])}


def staff(app, username: str, client=None):
    """A client logged in through the staff API as one of STAFF (the account made on first use)."""
    from sqlalchemy import select

    from intake_api.auth import create_staff
    from intake_api.db import get_session
    from intake_api.models import StaffUser
    with app.app_context():
        session = get_session()
        if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
            create_staff(session, username, PASSWORD, *STAFF[username])
            session.commit()
    client = client or app.test_client()
    api_login(client, username)
    return client


# -- Photos lose what they say about the photographer --------------------------------------------------------

def test_a_gps_tagged_photo_of_an_anonymous_complaint_is_stored_without_any_exif(att, db_url):
    from PIL import Image
    client = att.test_client()
    receipt = submit(client, disclosure="anonymous", description="茶水间饮水机漏水，地上全是水，照片见附件")
    code, original = receipt["tracking_code"], gps_jpeg()
    res = upload(client, f"/api/v1/complaints/{code}/attachments", ("IMG_20261120_081500.jpg", original))
    assert res.status_code == 201, res.get_json()
    added = res.get_json()["added"]
    assert [(a["name"], a["content_type"]) for a in added] == [("IMG_20261120_081500.jpg", "image/jpeg")]
    assert res.get_json()["attachments"] == added  # the status view lists it for the complainant

    [stored] = files_in(att.folder)
    assert re.fullmatch(r"[0-9a-f]{32}", stored.name)  # a random id, never the uploaded name
    raw = stored.read_bytes()
    assert b"Exif" not in raw and b"PhoneMaker" not in raw and b"Pocket" not in raw and b"taken at home" not in raw
    img = Image.open(stored)
    assert img.format == "JPEG" and not img.getexif() and not img.getexif().get_ifd(GPS_IFD)
    assert "exif" not in img.info and "icc_profile" not in img.info and "comment" not in img.info
    assert img.size == (48, 64)  # orientation 6 applied to the pixels before the tag went
    assert query_db(db_url, "SELECT name, content_type, size, uploaded_by FROM attachments") == [
        ("IMG_20261120_081500.jpg", "image/jpeg", len(raw), "complainant")]

    got = client.get(f"/api/v1/complaints/{code}/attachments/{added[0]['id']}")
    assert got.status_code == 200 and got.data == raw
    assert got.headers["Content-Type"] == "image/jpeg"
    assert got.headers["Content-Disposition"].startswith("inline")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Cache-Control"] == "private, no-store"
    history = query_db(db_url, "SELECT actor, action, to_value FROM complaint_events WHERE action = 'attachment'")
    assert history == [("complainant", "attachment", "IMG_20261120_081500.jpg")]


def test_png_text_chunks_and_webp_exif_go_too_and_gif_becomes_png(att):
    from PIL import Image
    client = att.test_client()
    code = submit(client)["tracking_code"]
    webp = io.BytesIO()
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    Image.new("RGB", (30, 20), "blue").save(webp, "WEBP", exif=exif)
    gif = io.BytesIO()
    Image.new("P", (16, 16)).save(gif, "GIF")
    res = upload(client, f"/api/v1/complaints/{code}/attachments", ("a.png", png(Author="周晓梅", GPS="31.2N")),
                 ("b.webp", webp.getvalue()), ("c.gif", gif.getvalue()))
    assert res.status_code == 201, res.get_json()
    assert [a["content_type"] for a in res.get_json()["added"]] == ["image/png", "image/webp", "image/png"]
    for path in files_in(att.folder):
        raw = path.read_bytes()
        assert "周晓梅".encode() not in raw and b"31.2N" not in raw and b"PhoneMaker" not in raw and b"Exif" not in raw
        assert not Image.open(path).getexif()


# -- Type by content, not by name ------------------------------------------------------------------------------

NOT_ALLOWED = [
    ("photo.jpg", b"\x7fELF\x02\x01\x01\x00" + bytes(200)),                       # a Linux executable
    ("photo.jpg", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)),                    # a Windows one
    ("photo.jpg", b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"),
    ("notes.txt", b"  <script>fetch('/api/v1/staff/complaints')</script>"),
    ("dispenser.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("payslip.pdf", b"PK\x03\x04" + bytes(100)),                                  # a zip (docx, apk...)
    ("scan.jpg", "正文".encode("utf-16")),                                          # not UTF-8 text
]


def test_a_file_that_is_not_an_allowed_type_is_refused_whatever_its_name(att, db_url):
    client = att.test_client()
    code = submit(client)["tracking_code"]
    for name, content in NOT_ALLOWED:
        res = upload(client, f"/api/v1/complaints/{code}/attachments", (name, content))
        assert res.status_code == 400, (name, content[:20])
        body = res.get_json()
        assert body["errors"][0]["field"] == "file"
        assert "JPEG, PNG, GIF, WebP, PDF, plain text" in body["error"] and name in body["error"]
    # One bad file among good ones refuses the request: nothing is kept.
    res = upload(client, f"/api/v1/complaints/{code}/attachments", ("ok.pdf", PDF), NOT_ALLOWED[0])
    assert res.status_code == 400
    assert files_in(att.folder) == [] and query_db(db_url, "SELECT count(*) FROM attachments") == [(0,)]


def test_a_damaged_image_and_a_decompression_bomb_are_refused_clearly(att):
    client = att.test_client()
    code = submit(client)["tracking_code"]
    broken = gps_jpeg()[:300]  # the header, then nothing
    res = upload(client, f"/api/v1/complaints/{code}/attachments", ("broken.jpg", broken))
    assert res.status_code == 400 and "不是完整的图片" in res.get_json()["error"]  # no Accept-Language: Simplified
    bomb = png(size=(1000, 1000))  # a few KB that unpack to a million pixels (the limit here: 10,000)
    assert len(bomb) < 20_000
    res = upload(client, f"/api/v1/complaints/{code}/attachments", ("bomb.png", bomb))
    assert res.status_code == 400 and "1000×1000" in res.get_json()["error"] and "10,000" in res.get_json()["error"]
    assert files_in(att.folder) == []


def test_a_pdf_and_a_text_file_are_kept_as_they_are_and_served_as_downloads(att):
    client = att.test_client()
    number = submit(client)["number"]
    fac = staff(att, "fac")
    url = f"/api/v1/staff/complaints/{number}/attachments"
    res = upload(fac, url, ("interview notes 2026-11-21.pdf", PDF), ("transcript.html", "访谈记录：A 说……\n".encode()))
    assert res.status_code == 201, res.get_json()
    pdf, text = res.get_json()["added"]
    assert (pdf["content_type"], text["content_type"]) == ("application/pdf", "text/plain")
    assert pdf["uploaded_by"] == "staff:fac" and pdf["url"] == f"{url}/{pdf['id']}"
    got = fac.get(pdf["url"])
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment") and ".pdf" in got.headers["Content-Disposition"]
    assert got.headers["X-Content-Type-Options"] == "nosniff" and got.headers["Cache-Control"] == "private, no-store"
    got = fac.get(text["url"])
    assert got.headers["Content-Type"] == "text/plain; charset=utf-8"
    # Saved as what it is: an .html name would open as a page from the downloads folder.
    assert got.headers["Content-Disposition"].startswith("attachment") and "transcript.txt" in got.headers[
        "Content-Disposition"]
    assert [a["name"] for a in fac.get(url).get_json()["attachments"]] == ["interview notes 2026-11-21.pdf",
                                                                          "transcript.html"]
    assert [a["name"] for a in fac.get(f"/api/v1/staff/complaints/{number}").get_json()["attachments"]] == [
        "interview notes 2026-11-21.pdf", "transcript.html"]


# -- Limits ----------------------------------------------------------------------------------------------------

def test_size_and_count_limits_are_clear(att):
    client = att.test_client()
    code = submit(client)["tracking_code"]
    url = f"/api/v1/complaints/{code}/attachments"
    # Bigger than the request may be: 413 before anything is read, naming the limit.
    res = upload(client, url, ("huge.pdf", PDF + bytes(MAX_BYTES * 2)))
    assert res.status_code == 413 and "256 KB" in res.get_json()["error"]
    assert res.get_json()["errors"] == [{"field": "file", "message": "at most 256 KB per upload"}]
    # Within one request's margin but over the limit of a file: 413 from the desk, naming file and limit.
    res = upload(client, url, ("big.pdf", PDF + bytes(MAX_BYTES)))
    assert res.status_code == 413 and "big.pdf" in res.get_json()["error"] and "256 KB" in res.get_json()["error"]
    # Elsewhere the API keeps its small bodies.
    res = client.post("/api/v1/complaints", data=b"{" + b" " * 70_000 + b"}", content_type="application/json")
    assert res.status_code == 413 and "64 KB" in res.get_json()["error"]

    assert upload(client, url, ("1.pdf", PDF), ("2.pdf", PDF)).status_code == 201
    res = upload(client, url, ("3.pdf", PDF), ("4.pdf", PDF))
    assert res.status_code == 400 and res.get_json()["errors"] == [
        {"field": "file", "message": f"at most {MAX_FILES} files per complaint (1 more allowed)"}]
    assert upload(client, url, ("3.pdf", PDF)).status_code == 201
    assert upload(client, url, ("5.pdf", PDF)).status_code == 400
    # Staff have their own allowance: a complainant cannot fill it.
    number = client.get(f"/api/v1/complaints/{code}").get_json()["number"]
    fac = staff(att, "fac")
    assert upload(fac, f"/api/v1/staff/complaints/{number}/attachments", ("notes.pdf", PDF)).status_code == 201
    # No file at all, or the wrong field, names the field.
    res = client.post(url, data={"files": (io.BytesIO(PDF), "x.pdf")}, content_type="multipart/form-data")
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "file"
    assert len(files_in(att.folder)) == MAX_FILES + 1


# -- Who sees what -----------------------------------------------------------------------------------------------

def test_only_those_who_may_see_the_complaint_get_its_files(att):
    client = att.test_client()
    receipt = submit(client)
    number, code = receipt["number"], receipt["tracking_code"]
    fac, it, boss = staff(att, "fac"), staff(att, "it"), staff(att, "boss")
    res = upload(client, f"/api/v1/complaints/{code}/attachments", ("dispenser.jpg", gps_jpeg()))
    photo = res.get_json()["added"][0]["id"]
    res = upload(fac, f"/api/v1/staff/complaints/{number}/attachments", ("witness interview.txt", "证人：王某\n".encode()))
    notes = res.get_json()["added"][0]["id"]

    base = f"/api/v1/staff/complaints/{number}/attachments"
    for who in (fac, boss):
        assert who.get(f"{base}/{photo}").status_code == 200 and who.get(f"{base}/{notes}").status_code == 200
    # Another team's handler: nothing, and not even whether it exists.
    for url in (base, f"{base}/{photo}", f"{base}/{notes}", f"{base}/999999"):
        assert it.get(url).status_code == 404, url
    assert upload(it, base, ("x.pdf", PDF)).status_code == 404
    assert it.get(f"/staff/complaints/{number}/attachments/{photo}").status_code == 404
    # Nobody logged in: 401.
    assert att.test_client().get(f"{base}/{photo}").status_code == 401

    # The complainant: their own file with their code, never staff's notes.
    status = client.get(f"/api/v1/complaints/{code}").get_json()
    assert [a["id"] for a in status["attachments"]] == [photo] and "uploaded_by" not in status["attachments"][0]
    assert client.get(f"/api/v1/complaints/{code}/attachments/{photo}").status_code == 200
    assert client.get(f"/api/v1/complaints/{code}/attachments/{notes}").status_code == 404
    # Another complainant's code opens nothing of this complaint.
    other = submit(client)["tracking_code"]
    assert client.get(f"/api/v1/complaints/{other}/attachments/{photo}").status_code == 404
    assert client.get(f"/api/v1/complaints/AAAA-BBBB-CCCC-DDDD/attachments/{photo}").status_code == 404


def test_a_file_sent_with_a_reply_belongs_to_the_thread_and_a_closed_complaint_takes_no_more(att, db_url):
    client = att.test_client()
    receipt = submit(client)
    code, number = receipt["tracking_code"], receipt["number"]
    res = upload(client, f"/api/v1/complaints/{code}/attachments", ("payslip.png", png()), text="工资条截图见附件")
    assert res.status_code == 201
    assert res.get_json()["messages"][-1]["body"] == "工资条截图见附件"
    assert query_db(db_url, "SELECT count(*) FROM attachments a JOIN complaint_messages m ON a.message_id = m.id") == [
        (1,)]
    fac = staff(att, "fac")
    # Staff files are internal: they never go out with a message to the complainant.
    res = upload(fac, f"/api/v1/staff/complaints/{number}/attachments", ("n.pdf", PDF), text="see this")
    assert res.status_code == 201  # the staff API takes no text: the field is ignored, the file kept
    assert client.get(f"/api/v1/complaints/{code}").get_json()["messages"][-1]["body"] == "工资条截图见附件"
    for action, body in (("status", {"status": "assessed"}), ("status", {"status": "investigating"}),
                         ("response", {"text": "已处理"}), ("status", {"status": "resolved"}),
                         ("status", {"status": "closed"})):
        assert fac.post(f"/api/v1/staff/complaints/{number}/{action}", json=body).status_code == 200, action
    assert client.get(f"/api/v1/complaints/{code}").get_json()["can_attach"] is False
    res = upload(client, f"/api/v1/complaints/{code}/attachments", ("late.pdf", PDF))
    assert res.status_code == 409 and "已结案" in res.get_json()["error"]


def test_a_name_with_a_path_or_tricks_is_only_display_text(att, db_url, tmp_path):
    client = att.test_client()
    code = submit(client)["tracking_code"]
    names = ["../../../../../../tmp/escaped.txt", "..\\..\\..\\windows\\evil.txt", "/etc/cron.d/job.txt",
             "\u202egnp.exe\u202c.txt", "<img src=x onerror=alert(1)>.txt", "a" * 400 + ".txt", "...", ""]
    for name in names[:MAX_FILES]:
        assert upload(client, f"/api/v1/complaints/{code}/attachments", (name, b"plain words\n")).status_code == 201
    rows = [r[0] for r in query_db(db_url, "SELECT name FROM attachments ORDER BY id")]
    assert rows[0] == "escaped.txt" and rows[1].endswith("evil.txt") and rows[2] == "job.txt"
    assert not any(".." in r or "/" in r or "\\" in r for r in rows)
    assert not (tmp_path / "escaped.txt").exists() and not list(tmp_path.parent.glob("escaped.txt"))
    assert all(p.parent == att.folder for p in files_in(att.folder))

    from intake_api.attachments import display_name, download_name
    assert display_name(names[1]) == "evil.txt"
    assert display_name(names[3]) == "gnp.exe.txt"  # the right-to-left override that disguised it is gone
    assert display_name(names[4]) == "<img src=x onerror=alert(1)>.txt"  # text: escaped wherever shown
    long = display_name(names[5])
    assert len(long) == 200 and long.endswith(".txt")
    assert display_name(names[6]) == display_name(names[7]) == "attachment"
    assert download_name("report.html", "application/pdf") == "report.pdf"
    assert download_name("photo.JPEG", "image/jpeg") == "photo.JPEG"
    assert download_name("noext", "text/plain") == "noext.txt"


def test_files_sent_later_tell_the_handler_once_and_files_sent_with_the_complaint_do_not(built_kb, db_url, tmp_path):
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True, "KB_OVERRIDES": {
        "database_url": db_url, "paths.attachments": str(tmp_path / "files"),
        "notifications": {"smtp": {"host": "127.0.0.1", "port": 2525, "security": "none",
                                   "sender": "kb@example.org"}, "base_url": "https://kb.example.org"}}})
    with app.app_context():
        create_staff(get_session(), "fac", PASSWORD, "handler", ["facilities"], email="fac@example.org")
        get_session().commit()
    client = app.test_client()
    receipt = submit(client)
    code, url = receipt["tracking_code"], f"/api/v1/complaints/{receipt['tracking_code']}/attachments"
    replied = "SELECT count(*) FROM outbox WHERE kind = 'complainant_replied'"

    def told() -> list[tuple]:
        plan_notifications(app)
        return query_db(db_url, replied)

    assert upload(client, url, ("photo.jpg", gps_jpeg())).status_code == 201  # the form, right after submitting
    assert told() == [(0,)]
    fac = staff(app, "fac")
    assert fac.post(f"/api/v1/staff/complaints/{receipt['number']}/status", json={"status": "assessed"}).status_code == 200
    assert upload(client, url, ("a.pdf", PDF), ("b.pdf", PDF), text="补充材料").status_code == 201
    assert told() == [(1,)]
    assert upload(fac, f"/api/v1/staff/complaints/{receipt['number']}/attachments", ("n.pdf", PDF)).status_code == 201
    assert told() == [(1,)]
    app.extensions["db_engine"].dispose()


# -- The workspace ------------------------------------------------------------------------------------------------

def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_workspace_lists_uploads_and_downloads(att):
    client = att.test_client()
    receipt = submit(client)
    number, code = receipt["number"], receipt["tracking_code"]
    upload(client, f"/api/v1/complaints/{code}/attachments", ("<img src=x onerror=alert(1)>漏水.jpg", gps_jpeg()))
    staff(att, "fac")
    web = att.test_client()
    html = web.get("/staff/login").get_data(as_text=True)
    web.post("/staff/login", data={"username": "fac", "password": PASSWORD, "csrf_token": _token(html)})
    html = web.get(f"/staff/complaints/{number}").get_data(as_text=True)
    assert 'id="form-attach"' in html and 'enctype="multipart/form-data"' in html
    assert "&lt;img src=x onerror=alert(1)&gt;漏水.jpg" in html and "<img src=x" not in html  # a name is text
    res = web.post(f"/staff/complaints/{number}/attachments", content_type="multipart/form-data", data={
        "csrf_token": _token(html), "file": [(io.BytesIO(PDF), "谈话记录.pdf"), (io.BytesIO(b"notes\n"), "n.txt")]})
    assert res.status_code == 302
    html = web.get(res.headers["Location"]).get_data(as_text=True)
    assert 'class="flash-ok"' in html and "谈话记录.pdf" in html and "staff" not in re.sub(r"<[^>]+>", "", html).split(
        "谈话记录.pdf")[0][-200:]
    links = re.findall(r'href="(/staff/complaints/[^"]+/attachments/\d+)"', html)
    assert len(links) == 3
    photo, pdf = web.get(links[0]), web.get(links[1])
    assert photo.headers["Content-Disposition"].startswith("inline") and photo.headers["Content-Type"] == "image/jpeg"
    assert pdf.headers["Content-Disposition"].startswith("attachment") and pdf.data == PDF
    # A refused file is said on the html, in the html's language, and nothing is kept.
    html = web.get(f"/staff/complaints/{number}").get_data(as_text=True)
    res = web.post(f"/staff/complaints/{number}/attachments", content_type="multipart/form-data", data={
        "csrf_token": _token(html), "file": (io.BytesIO(b"\x7fELF" + bytes(64)), "tool.pdf")}, follow_redirects=True)
    assert 'class="flash-error"' in res.get_data(as_text=True) and "tool.pdf" in res.get_data(as_text=True)
    res = web.post(f"/staff/complaints/{number}/attachments", content_type="multipart/form-data", data={
        "csrf_token": _token(html), "file": (io.BytesIO(bytes(MAX_BYTES * 2)), "huge.pdf")}, follow_redirects=True)
    assert res.status_code == 200 and "256 KB" in res.get_data(as_text=True)
    assert len(files_in(att.folder)) == 3


# -- Retention and publishing --------------------------------------------------------------------------------------

def test_purge_deletes_the_files_and_rows_and_erasure_keeps_them(att, db_url):
    from sqlalchemy import select

    from intake_api.desk import Actor
    from intake_api.models import Complaint
    from intake_api.web import desk
    client = att.test_client()
    keep, old = submit(client, identity={"name": "赵丽华"}), submit(client)
    for r in (keep, old):
        assert upload(client, f"/api/v1/complaints/{r['tracking_code']}/attachments",
                      ("photo.jpg", gps_jpeg()), ("doc.pdf", PDF)).status_code == 201
    fac = staff(att, "fac")
    staff(att, "boss")
    upload(fac, f"/api/v1/staff/complaints/{old['number']}/attachments", ("interview.txt", b"notes\n"))
    assert len(files_in(att.folder)) == 5
    with att.test_request_context():
        d = desk()
        d.erase_identity(Actor.staff(_admin(d)), keep["number"], "本人申请")
        c = d.session.scalar(select(Complaint).where(Complaint.number == old["number"]))
        c.status, c.closed_at = "closed", dt.datetime.now(dt.UTC) - dt.timedelta(days=4000)
        d.session.commit()
        assert d.purge(dry_run=True)[1] == [old["number"]] and len(files_in(att.folder)) == 5
        stray = d.store.put(b"a file whose row never committed")
        aged = d.store.path(stray)
        import os
        os.utime(aged, (0, 0))
        assert d.purge()[1] == [old["number"]]
    left = query_db(db_url, "SELECT c.number, a.name FROM attachments a JOIN complaints c ON c.id = a.complaint_id")
    assert sorted(left) == [(keep["number"], "doc.pdf"), (keep["number"], "photo.jpg")]  # erasure kept evidence
    assert len(files_in(att.folder)) == 2 and not aged.exists()
    events = query_db(db_url, "SELECT e.to_value FROM complaint_events e JOIN complaints c ON c.id = e.complaint_id "
                              "WHERE c.number = :n AND e.action = 'attachment'", n=old["number"])
    assert events == [(None,), (None,), (None,)]  # the history says files came, not what they were called
    assert client.get(f"/api/v1/complaints/{old['tracking_code']}").get_json()["attachments"] == []


def _admin(d):
    from sqlalchemy import select

    from intake_api.models import StaffUser
    return d.session.scalar(select(StaffUser).where(StaffUser.username == "boss"))


def test_kb_publish_never_takes_an_attachment_into_the_article(att, built_kb, tmp_path, db_url):
    from intake_api import create_app
    from intake_api.desk import Actor
    from intake_api.web import desk
    content = tmp_path / "content"
    shutil.copytree(built_kb / "content", content)
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True, "KB_OVERRIDES": {
        "database_url": db_url, "paths.attachments": str(att.folder), "paths.content": str(content)}})
    client = app.test_client()
    receipt = submit(client, description="三楼饮水机不出热水，面板一直闪红灯，照片见附件")
    number, code = receipt["number"], receipt["tracking_code"]
    upload(client, f"/api/v1/complaints/{code}/attachments", ("dispenser-leak-evidence.jpg", gps_jpeg()))
    fac = staff(app, "fac")
    upload(fac, f"/api/v1/staff/complaints/{number}/attachments", ("interview-wang.txt", b"notes\n"))
    for action, body in (("status", {"status": "assessed"}), ("status", {"status": "investigating"}),
                         ("response", {"text": "已更换饮水机电源线并做了接地检测。"}), ("status", {"status": "resolved"})):
        assert fac.post(f"/api/v1/staff/complaints/{number}/{action}", json=body).status_code == 200, action
    with app.test_request_context():
        path = desk().save_article(Actor.operator(), number, None, approve=False)  # what `kb publish` runs
    text = path.read_text(encoding="utf-8")
    assert path.is_relative_to(content) and "已更换饮水机电源线" in text
    for leak in ("dispenser-leak-evidence", "interview-wang", "attachments", ".jpg", "/api/v1/"):
        assert leak not in text, leak
    app.extensions["db_engine"].dispose()


# -- In a browser ---------------------------------------------------------------------------------------------

@pytest.fixture
def chromium():
    """A page in Debian's chromium, launched as tests/test_browser.py launches it."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = b.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        yield context.new_page()
        b.close()



@pytest.mark.browser
@pytest.mark.backend("postgresql")
def test_an_anonymous_complainant_attaches_a_gps_tagged_photo_in_the_form_and_it_is_stored_without_exif(
        chromium, built_kb, db_url, tmp_path):
    from PIL import Image
    from playwright.sync_api import expect
    folder = tmp_path / "attachments"
    proc, url = start_kb_serve(built_kb / "kb.yml", db_url, KB_ATTACHMENTS_DIR=str(folder))
    try:
        chromium.goto(url + "/complaint/")
        chromium.fill("#kb-description", "三楼茶水间的饮水机面板碎了，照片里能看到裂缝")
        chromium.select_option("#kb-category", "facilities")
        chromium.fill("#kb-request", "请更换面板")
        chromium.fill("#kb-occurred-at", "2026-11-20")
        chromium.fill("#kb-location", "A 栋 3 楼")
        chromium.check("#kb-disclosure-anonymous")
        expect(chromium.locator("#kb-files-limits")).to_contain_text("10 MB")
        chromium.set_input_files("#kb-files", files=[
            {"name": "IMG_20261120_081500.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg(size=(640, 480))}])
        expect(chromium.locator("#kb-file-list li")).to_contain_text("IMG_20261120_081500.jpg")
        chromium.click("#kb-submit")
        expect(chromium.locator("#kb-upload-list li .kb-file-done")).to_have_text("已上传", timeout=15_000)
        expect(chromium.locator("#kb-upload-note")).to_contain_text("全部文件已上传")
        chromium.screenshot(path=str(tmp_path / "form-uploaded.png"))
        code = chromium.locator("#kb-tracking-code-value").inner_text()

        [stored] = files_in(folder)
        raw = stored.read_bytes()
        assert b"Exif" not in raw and b"PhoneMaker" not in raw and b"Pocket X12" not in raw
        img = Image.open(stored)
        assert not img.getexif() and not img.getexif().get_ifd(GPS_IFD) and img.size == (480, 640)
        assert query_db(db_url, "SELECT c.anonymous, a.name, a.content_type, a.uploaded_by FROM attachments a "
                                "JOIN complaints c ON c.id = a.complaint_id") == [
            (1, "IMG_20261120_081500.jpg", "image/jpeg", "complainant")]

        # The status page lists it (the complainant's own), and a reply can bring another file.
        chromium.goto(url + "/status/")
        chromium.fill("#kb-tracking-code", code)
        chromium.click("#kb-status-form button[type=submit]")
        expect(chromium.locator("#kb-my-files li a")).to_have_text("IMG_20261120_081500.jpg", timeout=10_000)
        chromium.fill("#kb-reply-text", "补充一张工资条截图")
        chromium.set_input_files("#kb-reply-files", files=[
            {"name": "payslip.png", "mimeType": "image/png", "buffer": png()},
            {"name": "tool.jpg", "mimeType": "image/jpeg", "buffer": b"\x7fELF" + bytes(100)}])
        chromium.click("#kb-reply-form button[type=submit]")
        expect(chromium.locator("#kb-my-files li a")).to_have_count(2, timeout=10_000)
        expect(chromium.locator("#kb-thread")).to_contain_text("补充一张工资条截图")
        expect(chromium.locator("#kb-reply-uploads .kb-file-error")).to_contain_text("tool.jpg")
        chromium.screenshot(path=str(tmp_path / "status-files.png"), full_page=True)
        with chromium.expect_popup() as popup:
            chromium.locator("#kb-my-files li a").first.click()
        assert popup.value.evaluate("document.contentType") == "image/jpeg"
        assert len(files_in(folder)) == 2
    finally:
        stop_kb_serve(proc)
