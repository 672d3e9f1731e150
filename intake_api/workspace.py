"""The staff workspace: server-rendered pages in Chinese and English (CSRF-protected forms)."""

from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from pydantic import ValidationError

from kb_builder.official_calendar import calendar_warning

from .attachments import ACCEPT, human
from .auth import ROLES, staff_required
from .db import get_session
from .desk import Invalid
from .errors import go_back_to
from .login_guard import TooManyAttempts, WrongPassword, log_in, log_out
from .models import utcnow
from .queue import DEADLINE_LABELS
from .schemas import CHANNEL_LABELS, ComplaintIn, field_errors
from .web import accepts_files, actor, desk, send_attachment, uploads
from .workflow import FOLLOW_UP_METHODS, LABELS, LEVELS, RESPONSIBILITY, REVIEW_OUTCOMES, SOLUTIONS, STATUSES

bp = Blueprint("workspace", __name__, url_prefix="/staff", template_folder="templates")

TEXT = {
    "title": ("投诉工作台", "Complaint workspace"),
    "queue": ("投诉队列", "Queue"), "new": ("录入线下投诉", "Record offline complaint"),
    "alerts": ("预警", "Alerts"), "logout": ("退出", "Log out"), "login": ("登录", "Log in"),
    "username": ("用户名", "Username"), "password": ("密码", "Password"),
    "status": ("状态", "Status"), "level": ("级别", "Level"), "team": ("团队", "Team"),
    "handler": ("受理人", "Handler"), "category": ("分类", "Category"), "due": ("时限", "Time limit"),
    "received": ("受理时间", "Received"), "number": ("编号", "Number"), "filter": ("筛选", "Filter"),
    "all": ("全部", "All"), "open": ("未结", "Open"), "overdue": ("已超时", "Overdue"),
    "due_soon": ("即将到期", "Due soon"), "none": ("无", "None"),
    "description": ("发生了什么", "What happened"), "request": ("诉求", "Asks for"),
    "location": ("地点", "Where"), "occurred_at": ("发生时间", "When"), "channel": ("渠道", "Channel"),
    "identity": ("投诉人", "Complainant"), "anonymous": ("匿名", "Anonymous"),
    "name": ("姓名", "Name"), "department": ("部门", "Department"), "position": ("职位", "Position"),
    "contact": ("联系方式", "Contact"), "responsibility": ("责任类别", "Responsibility"),
    "response": ("给投诉人的答复", "Response to the complainant"), "save": ("保存", "Save"),
    "change_status": ("变更状态", "Change status"), "note": ("备注", "Note"),
    "assign": ("分派", "Assign"), "end_investigation": ("结束调查（开始计算结果反馈时限）", "End investigation (starts the result clock)"),
    "history": ("处理记录", "History"), "when": ("时间", "When"), "who": ("操作人", "Who"),
    "what": ("操作", "What"), "from_to": ("变更", "Change"), "dates": ("时限与时间", "Time limits and dates"),
    "rating": ("满意度", "Satisfaction"), "safety": ("安全", "Safety"), "submit": ("提交", "Submit"),
    "tracking_code": ("查询码（请告知投诉人）", "Tracking code (give it to the complainant)"),
    "no_complaints": ("没有符合条件的投诉", "No complaints match"), "complaints": ("相关投诉", "Complaints"),
    "no_alerts": ("暂无预警", "No alerts"), "shown_articles": ("提交前看过的文章", "Articles seen before submitting"),
    "why": ("知识库为这段描述找到的文章及原因", "Articles the knowledge base finds for this text, and why"),
    "why_phrasing": ("最接近的说法", "Closest phrasing"), "why_terms": ("共有的词", "Shared terms"),
    "why_title": ("标题", "title"), "why_none": ("没有", "none"),
    "bad_login": ("用户名或密码错误", "Wrong username or password"), "saved": ("已保存", "Saved"),
    "confidential": ("保密", "Confidential"),
    "confidential_hidden": ("保密投诉：身份仅员工关系专员可见", "Confidential: identity visible to employee relations only"),
    "thread": ("与投诉人的沟通", "Conversation with the complainant"),
    "from_staff": ("工作人员", "Staff"), "from_complainant": ("投诉人", "Complainant"),
    "ask": ("向投诉人提问（对方凭查询码在进度页回答）", "Ask the complainant (they answer on the status page with their tracking code)"),
    "send": ("发送", "Send"),
    "article": ("发布为知识库文章", "Publish as an article"),
    "article_only_resolved": ("反馈结果后才能写成文章", "Only resolved complaints can become articles"),
    "article_saved": ("草稿已保存（未发布）", "Draft saved (not published)"),
    "article_published": ("已批准发布；运行 kb build 后出现在网站上", "Approved; it appears on the site after kb build"),
    "redacted": ("已自动去除的个人信息", "Personal data removed automatically"),
    "save_draft": ("保存草稿", "Save draft"), "approve": ("批准发布", "Approve and publish"),
    "title_field": ("标题", "Title"), "tags": ("标签（逗号分隔）", "Tags (comma-separated)"),
    "questions": ("员工常见问法（每行一个）", "How employees ask (one per line)"), "body": ("正文", "Body"),
    "status_published": ("已发布", "Published"), "status_draft": ("草稿", "Draft"),
    "report": ("季度报告", "Quarterly review"), "quarter": ("季度", "Quarter"), "show": ("查看", "Show"),
    "recognised": ("自动识别", "Recognised as"),
    "temporary_measures": ("已采取的临时措施（紧急投诉必填，填写后才能推进）",
                           "Temporary measures taken (required for urgent complaints before moving on)"),
    "acknowledge": ("确认并说明处理", "Acknowledge with a note"), "acknowledged": ("已确认", "Acknowledged"),
    "notifications": ("通知设置", "Notifications"), "outbox": ("发件箱", "Outbox"),
    "my_notifications": ("我收到的通知", "What I am told"), "email": ("邮箱", "E-mail"),
    "language": ("语言", "Language"), "team_notifications": ("团队邮箱和群机器人收到的通知",
                                                       "What each team's mailboxes and chat robots are told"),
    "dead_letters": ("发送失败的消息（已停止重试）", "Messages that could not be delivered (no more retries)"),
    "resend": ("重新发送", "Send again"), "attempts": ("尝试", "Attempts"), "kind": ("类型", "Kind"),
    "channel_to": ("渠道", "Channel"), "last_error": ("最后的错误", "Last error"),
    "no_dead_letters": ("没有发送失败的消息", "No undelivered messages"),
    "n_new_complaint": ("本团队的新投诉", "New complaint for my team"),
    "n_assigned": ("分派给我的投诉", "Assigned to me"),
    "n_urgent": ("紧急 / 安全投诉（立即）", "Urgent / safety complaint (at once)"),
    "n_emergency_alert": ("应急预警（24 小时内多起相似投诉）", "Emergency alert (many similar complaints in 24 h)"),
    "n_complainant_replied": ("投诉人回复了", "Complainant replied"),
    "n_low_rating": ("低满意度评价导致重开", "Low rating reopened a complaint"),
    "n_due_soon": ("即将到期", "Due soon"), "n_overdue": ("已超时", "Overdue"),
    "n_escalation": ("超时升级（组长和管理员）", "Overdue escalation (team lead and admins)"),
    "n_digest": ("每日待办汇总", "Daily digest of my open work"),
    "n_task": ("交给本团队的调查任务", "A task for my team"),
    "n_review_needed": ("待主管复核的升级投诉", "An escalated complaint to review"),
    "about": ("被投诉部门", "Department complained about"), "about_role": ("被投诉的岗位或服务（可选）",
                                                                    "Role or service complained about (optional)"),
    "conflict": ("利益冲突", "conflict of interest"),
    "response_basis": ("依据", "Basis"), "response_result": ("处理结果（必填）", "Result (required)"),
    "response_followup": ("后续措施", "Follow-up measures"), "solutions": ("解决方式", "Solution"),
    "promise_date": ("承诺完成日期（维修或配送必填）", "Promised date (required for a repair or delivery)"),
    "promise_text": ("承诺内容", "What was promised"), "promise_kept": ("承诺已完成", "Promise kept"),
    "follow_up": ("回访方式", "Follow-up (回访) by"), "follow_up_score": ("投诉人给出的满意度（1-5）",
                                                                     "Satisfaction the complainant gave (1-5)"),
    "review": ("主管复核", "Supervisor review"), "arbitrator": ("仲裁方（仅第三方仲裁）", "Arbitrator (arbitration only)"),
    "arbitration_result": ("仲裁结果", "Arbitration result"), "case_report": ("处理报告", "Handling report"),
    "step": ("调查步骤", "Investigation step"), "tasks": ("任务", "Tasks"),
    "new_task": ("交给其他团队的任务", "Task for another team"), "task_text": ("任务内容（不要写投诉人信息）",
                                                                  "What to do (no complainant details)"),
    "due_date": ("期限", "Due"), "done": ("完成", "Done"), "no_tasks": ("没有待办任务", "No open tasks"),
    "override_reason": ("强制分派的理由（仅管理员，记入处理记录）", "Reason to override a conflict (admins; kept in the history)"),
    "search": ("搜索", "Search"), "search_all": ("搜索投诉（含已结案）", "Search complaints (closed ones too)"),
    "search_q": ("编号或关键词（繁简皆可）", "Number or words (Traditional or Simplified)"),
    "since": ("受理日期从", "Received from"), "until": ("到", "to"),
    "no_results": ("没有找到符合条件的投诉", "No complaint you can see matches"),
    "accounts": ("员工账号", "Staff accounts"), "new_account": ("新建账号", "New account"),
    "role": ("角色", "Role"), "teams": ("团队", "Teams"), "active": ("在用", "Active"),
    "inactive": ("已停用", "Deactivated"), "deactivate": ("停用（立即退出登录）", "Deactivate (logs out at once)"),
    "reactivate": ("恢复启用", "Reactivate"), "reset_password": ("重置密码", "Reset password"),
    "new_password": ("新密码（至少 10 个字符）", "New password (10 characters or more)"),
    "repeat_password": ("再输入一次", "Repeat it"), "display_name": ("显示名称", "Display name"),
    "passwords_differ": ("两次输入的密码不一致", "The two passwords differ"),
    "audit": ("账号变更记录", "Changes to accounts"), "account": ("账号", "Account"),
    "role_handler": ("受理人（本团队的投诉）", "Handler (their teams' complaints)"),
    "role_admin": ("管理员（全部投诉、账号管理）", "Admin (every complaint, accounts)"),
    "role_relations": ("员工关系（另含保密投诉及身份）", "Employee relations (also confidential complaints)"),
    "role_supervisor": ("主管（本团队的投诉，并做主管复核）", "Supervisor (their teams' complaints, and reviews)"),
    "a_created": ("创建", "created"), "a_deactivated": ("停用", "deactivated"), "a_reactivated": ("恢复启用", "reactivated"),
    "a_password_reset": ("重置密码", "password reset"), "a_role": ("角色", "role"), "a_teams": ("团队", "teams"),
    "a_department": ("所属部门", "department"), "a_email": ("邮箱", "e-mail"), "a_language": ("语言", "language"),
    "own_department": ("所属部门", "Own department"),
    "attachments": ("附件与证据", "Attachments and evidence"),
    "attach": ("上传附件（访谈记录、文件、照片；仅工作人员可见）",
               "Attach files (interview notes, documents, photos; seen by staff only)"),
    "attach_limits": ("允许：JPEG、PNG、GIF、WebP、PDF、纯文本；每次上传合计最多 {size}，每个投诉最多 {count} 个；"
                      "照片会去除位置和相机信息",
                      "Allowed: JPEG, PNG, GIF, WebP, PDF, plain text; at most {size} per upload, {count} per "
                      "complaint; photos lose their location and camera data"),
    "upload": ("上传", "Upload"), "no_attachments": ("没有附件", "No attachments"),
    "by_complainant": ("投诉人", "complainant"),
    "export_xlsx": ("导出 Excel", "Export Excel"), "export_csv": ("导出 CSV", "Export CSV"),
    "kpis": ("处理人员考核", "Staff KPIs"), "prev_page": ("上一页", "Previous"), "next_page": ("下一页", "Next"),
    "a_export": ("导出", "export"),
    "capa": ("预防与纠正措施", "Corrective actions"), "capa_what": ("措施（做什么）", "Action (what is to be done)"),
    "capa_team": ("负责团队", "Owner team"), "capa_complaints": ("关联投诉编号（逗号分隔）", "Complaint numbers (comma-separated)"),
    "capa_cluster": ("或：反复出现的问题", "Or: the recurring problem"), "capa_evidence": ("完成证据", "Evidence of completion"),
    "capa_new": ("决定一项措施", "Decide an action"), "capa_due": ("到期或逾期的预防措施", "Corrective actions due or overdue"),
    "no_capa": ("没有预防措施", "No corrective actions"), "capa_open": ("进行中", "Open"), "capa_done": ("已完成", "Done"),
}
DATE_LABELS = {
    "assessment_due_at": ("评估期限", "Assessment due"), "first_response_due_at": ("首次答复期限", "First response due"),
    "resolution_due_at": ("紧急处理期限", "Urgent handling due"), "result_due_at": ("结果反馈期限", "Result due"),
    "assessed_at": ("评估于", "Assessed"), "first_responded_at": ("首次答复于", "First responded"),
    "investigation_started_at": ("开始调查", "Investigation started"),
    "investigation_ended_at": ("结束调查", "Investigation ended"), "resolved_at": ("反馈结果于", "Resolved"),
    "closed_at": ("结案于", "Closed"), "promise_due_at": ("承诺完成期限", "Promised by"),
    "promise_kept_at": ("承诺完成于", "Promise kept"), "review_due_at": ("主管复核期限", "Supervisor review due"),
    "reviewed_at": ("主管复核于", "Reviewed"),
}
OFFLINE_CHANNELS = ("hotline", "reception", "email")


def t(key: str) -> str:
    zh, en = TEXT[key]
    return zh if g.get("lang", "zh") == "zh" else en


def pick(pair: tuple[str, str]) -> str:
    return pair[0] if g.get("lang", "zh") == "zh" else pair[1]


def init_app(app: Flask) -> None:
    @app.before_request
    def _language():
        if request.path.startswith("/staff"):
            lang = request.args.get("lang")
            if lang in ("zh", "en"):
                session["lang"] = lang
            g.lang = session.get("lang", "zh")

    @app.context_processor
    def _helpers():
        if not request.path.startswith("/staff"):
            return {}
        kb = current_app.config["KB"]
        return {"t": t, "pick": pick, "LABELS": LABELS, "LEVELS": LEVELS, "RESPONSIBILITY": RESPONSIBILITY,
                "STATUSES": STATUSES, "CHANNEL_LABELS": CHANNEL_LABELS, "kb": kb, "local": _local,
                "lang": g.get("lang", "zh"), "DEADLINE_LABELS": DEADLINE_LABELS, "TEXT_KEYS": TEXT,
                "SOLUTIONS": SOLUTIONS, "FOLLOW_UP_METHODS": FOLLOW_UP_METHODS, "REVIEW_OUTCOMES": REVIEW_OUTCOMES,
                "calendar_notice": _calendar_notice()}


def _calendar_notice() -> str | None:
    """Shown on every workspace page while deadlines soon fall in a year without an official calendar."""
    clock = current_app.extensions["kb_clock"]
    years = clock.calendar.years_without_official_calendar(clock.today())
    return pick(calendar_warning(years)) if years else None


def _local(moment: dt.datetime | None) -> str:
    """Minutes in the configured zone, whatever zone the moment came in (the desk's views are already local)."""
    when = desk().local(moment)
    return when.strftime("%Y-%m-%d %H:%M") if when else "—"


# Where a login may send the browser: a workspace path, nothing that could leave the
# site or break the Location header (no scheme, host, backslash, space or control character).
_LOCAL_NEXT = re.compile(r"/staff(?:[/?#][!-~]*)?")


def _next_page(target: str | None) -> str:
    if (target and _LOCAL_NEXT.fullmatch(target) and "\\" not in target and "//" not in target
            and ".." not in target):
        return target
    return url_for("workspace.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        try:
            log_in(get_session(), request.form.get("username", ""), request.form.get("password", ""),
                   request.remote_addr)
        except TooManyAttempts as exc:
            error, status = exc.message, 429
        except WrongPassword:
            error, status = t("bad_login"), 401
        else:
            return redirect(_next_page(request.args.get("next")))
    return render_template("staff/login.html", error=error), status


@bp.post("/logout")
@staff_required
def logout():
    log_out(get_session())
    return redirect(url_for("workspace.login"))


@bp.get("/")
@staff_required
def index():
    args = request.args
    level = {"1": 1, "2": 2, "3": 3}.get(args.get("level", ""))  # anything else: no level filter
    status = args.get("status") or "open"
    page = args.get("page", "1")
    result = desk().queue(actor(), status=None if status == "all" else status, level=level,
                          team=args.get("team") or None,
                          due=args.get("due") if args.get("due") in ("overdue", "soon") else None,
                          page=int(page) if page.isdigit() and len(page) < 7 else 1)
    now = utcnow()
    rows = [desk().summary(actor(), c, now) for c in result.items]
    keep = {k: v for k, v in args.items() if k != "page" and v}
    soon = now + dt.timedelta(hours=desk().kb.process.sla.due_soon_hours * 3)  # corrective actions run in days
    capa_due = [v for v in desk().capa(actor()) if v.action.due_at < soon]
    return render_template("staff/queue.html", rows=rows, filters=args, status=status, result=result, keep=keep,
                           capa_due=capa_due, now=now)


SEARCH_FIELDS = ("q", "category", "about", "status", "since", "until")


@bp.get("/search")
@staff_required
def search():
    """Every complaint this person may see, closed ones too, by number, words and filters, by pages."""
    args = request.args
    page = args.get("page", "1")
    errors: list[str] = []
    result = None
    try:
        result = desk().search(actor(), args.get("q"), category=args.get("category") or None,
                               about=args.get("about") or None, status=args.get("status") or None,
                               since=args.get("since") or None, until=args.get("until") or None,
                               page=int(page) if page.isdigit() and len(page) < 7 else 1)
    except Invalid as exc:
        errors = [exc.message]
    now = utcnow()
    rows = [desk().summary(actor(), c, now) for c in result.items] if result else []
    keep = {k: args[k] for k in SEARCH_FIELDS if args.get(k)}
    return render_template("staff/search.html", rows=rows, result=result, filters=args, keep=keep,
                           errors=errors), 400 if errors else 200


@bp.get("/complaints/<number>")
@staff_required
def complaint(number: str):
    who = actor()
    v = desk().view(who, desk().find(who, number))
    handlers = desk().handlers_for(v.complaint)
    return render_template("staff/complaint.html", c=v.complaint, v=v, handlers=handlers,
                           conflicts=desk().conflicts(v.complaint, handlers), may_review=desk().may_review(who, v.complaint),
                           files=desk().attachments(who, v.complaint), accept=ACCEPT, human=human,
                           date_labels=DATE_LABELS, why=_why_these_articles(v.complaint.description))


def _why_these_articles(text: str) -> tuple[float | None, list]:
    """What the suggest path would show for the complaint's text and why (issue 16, point 7).

    HR sees which phrasing or title and which shared terms brought a wrong
    article up, and can fix that article's content.
    """
    from kb_builder.search import IndexNotBuilt

    try:
        answer = current_app.extensions["kb_searcher"].suggest(text, limit=3)
    except (IndexNotBuilt, KeyError):
        return None, []
    return answer.confidence, answer.hits


@bp.post("/complaints/<number>/<action>")
@staff_required
def act(number: str, action: str):
    """One staff action of the desk's table, from the complaint page's forms (the staff API runs the same)."""
    go_back_to(url_for("workspace.complaint", number=number))
    form = {k: ",".join(v) if len(v) > 1 else v[0] for k, v in request.form.to_dict(flat=False).items()
            if k != "csrf_token"}  # repeated fields (checkboxes) as the API's comma-separated list
    desk().act(actor(), number, action, form)
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.complaint", number=number))


@bp.post("/complaints/<number>/attachments")
@accepts_files
@staff_required
def attach(number: str):
    """The complaint page's upload form: the desk checks and cleans each file, as for the staff API."""
    go_back_to(url_for("workspace.complaint", number=number))
    who = actor()
    added = desk().attach(who, desk().find(who, number), uploads())
    flash(f"{t('saved')}: {', '.join(a.name for a in added)}", "ok")
    return redirect(url_for("workspace.complaint", number=number))


@bp.get("/complaints/<number>/attachments/<int:attachment_id>")
@staff_required
def attachment(number: str, attachment_id: int):
    who = actor()
    return send_attachment(*desk().attachment_file(who, desk().find(who, number), attachment_id))


@bp.route("/complaints/<number>/article", methods=["GET", "POST"])
@staff_required
def article(number: str):
    """Turn a resolved complaint into a knowledge-base article: redacted draft, edit, approve."""
    go_back_to(url_for("workspace.complaint", number=number))
    who = actor()
    c, draft, fresh = desk().article(who, number)
    errors: list[str] = []
    if request.method == "POST":
        form = request.form

        def edit(d) -> None:
            d.title = form.get("title", "").strip()
            d.tags = [x.strip() for x in re.split(r"[,，]", form.get("tags", "")) if x.strip()]
            d.questions = [x.strip() for x in form.get("questions", "").splitlines() if x.strip()]
            d.body = form.get("body", "").replace("\r\n", "\n").strip() + "\n"

        approve = form.get("action") == "approve"
        try:
            desk().save_article(who, number, edit, approve)
        except Invalid as exc:
            edit(draft)  # show what they typed, with the problems
            errors = [e["message"] for e in exc.errors or []] or [exc.message]
        else:
            flash(t("article_published") if approve else t("article_saved"), "ok")
            return redirect(url_for("workspace.article", number=number))
    return render_template("staff/article.html", c=c, draft=draft, found=fresh.found, errors=errors,
                           published=desk().is_published(draft.id))


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        data: dict[str, object] = {k: form.get(k, "").strip() for k in ("category", "description", "request", "occurred_at", "location", "channel")}
        data["anonymous"] = form.get("anonymous") == "on"
        identity = {k: form.get(k, "").strip() for k in ("name", "department", "position", "contact") if form.get(k, "").strip()}
        if identity and not data["anonymous"]:
            data["identity"] = identity
        if data["channel"] not in OFFLINE_CHANNELS:
            errors["channel"] = "请选择线下渠道 · Choose an offline channel"
        else:
            kb = current_app.config["KB"]
            try:
                parsed = ComplaintIn.model_validate(data, context={"categories": kb.category_ids, "zone": desk().clock.zone,
                                                             "departments": kb.process.department_ids})
            except ValidationError as exc:
                errors = {e["field"]: e["message"] for e in field_errors(exc)}
            else:
                done = desk().register(parsed, entered_by=actor().user)
                return render_template("staff/recorded.html", c=done.complaint, code=done.code)
    return render_template("staff/new.html", errors=errors, form=request.form, channels=OFFLINE_CHANNELS)


def _period():
    """The quarter asked for (?quarter=YYYYQn, a choice of the picker), else this quarter; a bad one is flashed."""
    from . import report as rep
    from .metrics import Period
    zone = desk().clock.zone
    choices = rep.quarters(utcnow().astimezone(zone).date())
    quarter = request.args.get("quarter") or choices[0]
    try:
        period = Period.quarter(quarter, zone)
    except ValueError as exc:
        flash(str(exc), "error")
        period = Period.quarter(choices[0], zone)
    if period.label not in choices:
        choices.append(period.label)
    return period, choices


def _lang() -> str:
    return g.get("lang", "zh")


@bp.get("/report")
@staff_required
def report():
    """The quarterly review in the workspace (admins and employee relations: it covers every team)."""
    import base64

    from markupsafe import Markup

    from . import report as rep
    period, choices = _period()
    page = request.args.get("page", "1")
    data = desk().review(actor(), period, breach_page=int(page) if page.isdigit() and len(page) < 7 else 1,
                         per_page=rep.BREACHES_PER_PAGE)
    images = {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in rep.charts(data, _lang()).items()}
    links = url_for("workspace.complaint", number="NUMBER").replace("NUMBER", "{number}")
    body = Markup(rep.render_html(data, images, _lang(), links,  # escaped and sanitised (report.render_html)
                                  url_for("workspace.capa") if desk().may_decide_capa(actor()) else None))
    per = rep.BREACHES_PER_PAGE
    return render_template("staff/report.html", body=body, quarter=period.label, quarters=choices,
                           page=data["breach_offset"] // per + 1, pages=max(1, -(-data["breach_total"] // per)))


@bp.get("/report/export")
@staff_required
def report_export():
    """The review as .xlsx or .csv (?format=), every table and the complete breach list; recorded in the audit."""
    period, _ = _period()
    blob, name = desk().export_review(actor(), period, request.args.get("format", "xlsx"), _lang())
    return _download(blob, name)


@bp.get("/complaints/export")
@staff_required
def complaints_export():
    """The complaints this person may see (?since=&until= days), as .xlsx or .csv; recorded in the audit."""
    blob, name = desk().export_complaints(actor(), request.args.get("format", "xlsx"), _lang(),
                                          request.args.get("since"), request.args.get("until"))
    return _download(blob, name)


def _download(blob: bytes, name: str):
    from flask import Response

    from .export import CSV, XLSX
    return Response(blob, mimetype=XLSX if name.endswith(".xlsx") else CSV, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff"})


@bp.get("/kpis")
@staff_required
def kpis():
    """Per-team and per-handler figures: admins see every team, a team lead their own; nobody else."""
    from . import report as rep
    period, choices = _period()
    staff = desk().staff_kpis(actor(), period)
    return render_template("staff/kpis.html", staff=staff, quarter=period.label, quarters=choices,
                           say=lambda key: rep.say(_lang(), key))


@bp.get("/alerts")
@staff_required
def alerts():
    return render_template("staff/alerts.html", alerts=desk().alerts(actor()))


@bp.post("/alerts/<int:alert_id>/acknowledge")
@staff_required
def acknowledge_alert(alert_id: int):
    go_back_to(url_for("workspace.alerts"))
    desk().acknowledge_alert(actor(), alert_id, request.form.get("note", ""))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.alerts"))


@bp.route("/notifications", methods=["GET", "POST"])
@staff_required
def notifications():
    """Each kind of notification on or off, for oneself (with address and language) or, for admins, per team."""
    go_back_to(url_for("workspace.notifications"))
    if request.method == "POST":
        form = request.form
        enabled = {k.removeprefix("kind_") for k in form if k.startswith("kind_")}
        desk().set_notifications(actor(), enabled, email=form.get("email"), language=form.get("language") or None,
                                 team=form.get("team") or None)
        flash(t("saved"), "ok")
        return redirect(url_for("workspace.notifications"))
    return render_template("staff/notifications.html", choices=desk().notification_choices(actor()))


@bp.get("/outbox")
@staff_required
def outbox():
    counts, dead = desk().outbox(actor())
    return render_template("staff/outbox.html", counts=counts, dead=dead)


@bp.post("/outbox/<int:message_id>/resend")
@staff_required
def resend(message_id: int):
    go_back_to(url_for("workspace.outbox"))
    desk().resend(actor(), message_id)
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.outbox"))


@bp.get("/complaints/<number>/report")
@staff_required
def case_report(number: str):
    """The written 《投诉处理报告》, printable (the browser's print makes paper or PDF of it too)."""
    return render_template("staff/case_report.html", report=desk().case_report(actor(), number), number=number)


@bp.get("/complaints/<number>/report.pdf")
@staff_required
def case_report_pdf(number: str):
    from .case_report import pdf
    from .complaints import pdf_response
    report = desk().case_report(actor(), number)
    return pdf_response(pdf(report), report.title)


@bp.get("/tasks")
@staff_required
def tasks():
    page = request.args.get("page", "1")
    result = desk().tasks(actor(), page=int(page) if page.isdigit() and len(page) < 7 else 1)
    return render_template("staff/tasks.html", tasks=result.items, result=result, now=utcnow())


@bp.post("/tasks/<int:task_id>/done")
@staff_required
def task_done(task_id: int):
    go_back_to(url_for("workspace.tasks"))
    desk().finish_task(actor(), task_id, request.form.get("note"))
    flash(t("saved"), "ok")
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/staff/") and not back.startswith("//") else url_for("workspace.tasks"))


@bp.get("/capa")
@staff_required
def capa():
    """Corrective and preventive actions of my teams (admins: all), and the form to decide one."""
    return render_template("staff/capa.html", actions=desk().capa(actor(), open_only=False), now=utcnow(),
                           may_decide=desk().may_decide_capa(actor()), form=request.args)


@bp.post("/capa")
@staff_required
def create_capa():
    go_back_to(url_for("workspace.capa"))
    f = request.form
    desk().create_capa(actor(), f.get("what", ""), f.get("owner_team", ""), f.get("due"), f.get("complaints"),
                       f.get("cluster"))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.capa"))


@bp.post("/capa/<int:capa_id>/done")
@staff_required
def capa_done(capa_id: int):
    go_back_to(url_for("workspace.capa"))
    desk().finish_capa(actor(), capa_id, request.form.get("evidence"))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.capa"))


# -- Staff accounts (admins; the desk refuses everyone else) ------------------------------------------------

@bp.get("/accounts")
@staff_required
def accounts():
    who = actor()
    return render_template("staff/accounts.html", accounts=desk().staff_accounts(who), audit=desk().staff_audit(who),
                           roles=ROLES)


@bp.post("/accounts")
@staff_required
def create_account():
    go_back_to(url_for("workspace.accounts"))
    form = request.form
    if form.get("password", "") != form.get("password2", ""):
        raise Invalid(f"{TEXT['passwords_differ'][0]} · {TEXT['passwords_differ'][1]}",
                      [{"field": "password2", "message": "the two passwords differ"}])
    desk().create_staff(actor(), form.get("username", ""), form.get("password", ""), form.get("role", "handler"),
                        form.getlist("teams"), form.get("name") or None, form.get("department") or None,
                        form.get("email") or None)
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.accounts"))


@bp.post("/accounts/<username>")
@staff_required
def update_account(username: str):
    """The account's form: role, teams, department and e-mail as shown (unticked teams are removed)."""
    go_back_to(url_for("workspace.accounts"))
    form = request.form
    desk().update_staff(actor(), username, role=form.get("role") or None, teams=form.getlist("teams"),
                        department=form.get("department", ""), email=form.get("email", ""))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.accounts"))


@bp.post("/accounts/<username>/active")
@staff_required
def set_active(username: str):
    go_back_to(url_for("workspace.accounts"))
    desk().update_staff(actor(), username, active=request.form.get("active") == "1")
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.accounts"))


@bp.post("/accounts/<username>/password")
@staff_required
def reset_password(username: str):
    go_back_to(url_for("workspace.accounts"))
    form = request.form
    if form.get("password", "") != form.get("password2", ""):
        raise Invalid(f"{TEXT['passwords_differ'][0]} · {TEXT['passwords_differ'][1]}",
                      [{"field": "password2", "message": "the two passwords differ"}])
    desk().reset_password(actor(), username, form.get("password", ""))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.accounts"))


from . import workspace_learning  # noqa: E402,F401  (its pages join this blueprint)
