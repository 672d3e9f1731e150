"""The review and the complaint list as Excel (openpyxl) and CSV.

Excel: one sheet per table, typed cells (numbers as numbers, shares as percentages, dates as dates in the
organisation's zone), frozen header rows. Every text cell is defused against formula injection: an
employee's text that starts with = + - @ (or a tab or carriage return) is prefixed with an apostrophe, in
the workbook and in the CSV, so a spreadsheet shows it and never runs it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from .queue import LIMITS
from .report import _limit_name, limit_label, say

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def defuse(value: Any) -> Any:
    """A cell value safe to open in a spreadsheet: text that could start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


Table = tuple[str, list[str], list[list[Any]]]  # sheet name, header, rows


def review_tables(data: dict, lang: str = "zh") -> list[Table]:
    """The review's tables, each a sheet: the same figures report.markdown shows (groups under k stay merged)."""
    def pick(pair):
        return pair[0] if lang == "zh" else pair[1]

    def h(key: str) -> str:
        return say(lang, key)

    k = data["min_group_size"]
    s = data["sla"]
    tables: list[Table] = [
        (h("highlights"), [h("title"), data["period"]],
         [[h("complaints"), s["total"]], [h("resolved_n"), s["resolved"]], [h("late"), data["breach_total"]],
          [h("deflections"), data["deflection"]["deflections"]],
          [h("self_rated"), data["satisfaction"]["average"]],
          [h("staff_recorded"), data["satisfaction"]["staff_recorded"]["average"]]]),
    ]
    for key, rows in (("category", data["by_category"]), ("level", data["by_level"]), ("channel", data["by_channel"]),
                      ("department", data["by_department"])):
        tables.append((h(key), [h(key), h("count")], [[pick(label), n if n else f"<{k}"] for label, n in rows]))
    months = list(data["deflection"]["trend"])
    tables.append((h("trend"), [h("department"), *months],
                   [[pick(label), *[f"<{k}" if m.get(x, 0) is None else m.get(x, 0) for x in months]]
                    for label, m in data["department_trend"]]))
    tables.append((h("dept_sla"), [h("department"), h("count"), h("due"), h("in_time"), h("late"), h("on_time_share"),
                                   h("satisfaction")],
                   [[pick(r["label"]), r["complaints"] or f"<{k}", r["due"], r["in_time"], r["late"], r["on_time"],
                     r["rating_average"]] for r in data["department_sla"]]))
    tables.append((h("limits"), [h("limit"), h("due"), h("in_time"), h("late"), h("running"), h("on_time_share"),
                                 h("median"), h("p90")],
                   [[_limit_name(r, lang), r["due"], r["in_time"], r["late"], r["running"], r["on_time"],
                     r["median_hours"], r["p90_hours"]] for r in s["limits"]]))
    zone = ZoneInfo(data["zone"])
    tables.append((h("breaches"), [h("number"), h("limit"), h("level"), h("team"), h("department"), h("due_at"),
                                   h("done_at"), h("late_by")],
                   [[b["number"], limit_label(b["kind"], lang), b["level"], b["team"], b["about"],
                     _local(b["due"], zone), _local(b["done"], zone) if b["done"] else h("unmet"), b["late_hours"]]
                    for b in data["breaches"]]))
    if data["staff"] is not None:
        head = [h("complaints"), h("open"), h("response_h"), h("resolution_h"), h("on_time_share"), h("resolution_rate"),
                h("reopen_rate"), h("self_rated"), h("self_rated") + " n", h("staff_recorded"), h("staff_recorded") + " n"]

        def kpis(r: dict) -> list[Any]:
            return [r["complaints"], r["open"], r["median_response_hours"], r["median_resolution_hours"], r["on_time"],
                    r["resolution_rate"], r["reopen_rate"], r["rating_average"], r["rating_count"],
                    r["recorded_average"], r["recorded_count"]]
        tables.append((h("team"), [h("team"), *head], [[pick(r["team"]), *kpis(r)] for r in data["staff"]["teams"]]))
        tables.append((h("handler"), [h("handler"), h("team"), *head],
                       [[r["handler"], pick(r["team"]), *kpis(r)] for r in data["staff"]["handlers"]]))
    tables.append((h("capa"), [h("quarter"), h("capa_what"), h("team"), h("due_at"), h("status"), h("capa_evidence"),
                               h("number")],
                   [[block["period"], a["what"], pick(tuple(data["team_names"].get(a["team"], (a["team"],) * 2))),
                     _local(a["due"], zone), h("capa_" + a["status"]), a["evidence"],
                     ", ".join(a["complaints"]) or a["cluster"]] for block in data["capa"] for a in block["actions"]]))
    tables.append((h("recognition"), [h("department"), h("headcount"), h("count"), h("per_100"), h("on_time_share"),
                                      h("satisfaction")],
                   [[pick(r["label"]), r["headcount"], r["complaints"] or f"<{k}",
                     f"<{r['per_100']}" if r["small"] else r["per_100"], r["on_time"], r["rating_average"]]
                    for r in data["recognition"]]))
    tables.append((h("articles"), [h("article"), h("solved_clicks"), h("false_deflections"), h("led_to"), h("led_past"),
                                   h("votes"), h("helpful")],
                   [[a["title"], a["deflections"], a["false_deflections"], a["led_to"], a["led_past"], a["votes"],
                     a["helpful"]] for a in data["articles"]]))
    tables.append((h("gaps"), [h("gap_searches"), h("count")], [[q, n] for q, n in data["gaps"]["searches"]]))
    tables.append((h("gap_complaints"), [h("category"), h("count")],
                   [[pick(label), n or f"<{k}"] for label, n in data["gaps"]["complaints_without_match"]]))
    tables.append((h("recurring"), [h("category"), h("department"), h("count"), h("number")],
                   [[pick(g["category"]), pick(g["department"]), g["count"], ", ".join(g["complaints"])]
                    for g in data["recurring"]]))
    return tables


def _local(moment: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    """A moment as the organisation's wall-clock time, without a zone (Excel dates carry none)."""
    return moment.astimezone(zone).replace(tzinfo=None) if moment is not None else None


SHARE_COLUMNS = ("on_time_share", "resolution_rate", "reopen_rate")


def xlsx(tables: Iterable[Table], lang: str = "zh") -> bytes:
    """A workbook: one sheet per table, header row frozen and bold, shares as %, dates as dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    shares = {say(lang, key) for key in SHARE_COLUMNS}
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for name, head, rows in tables:
        title = _sheet_name(name, used)
        sheet = book.create_sheet(title)
        sheet.append([defuse(h) for h in head])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([defuse(v) for v in row])
        for i, h in enumerate(head, start=1):
            letter = get_column_letter(i)
            fmt = "0%" if h in shares else None
            for cell in sheet[letter][1:]:
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif fmt and isinstance(cell.value, float):
                    cell.number_format = fmt
            sheet.column_dimensions[letter].width = max(10, min(40, len(str(h)) * 2 + 2))
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the book."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:28] or "sheet"
    title, n = clean, 2
    while title in used:
        title, n = f"{clean[:26]} {n}", n + 1
    used.add(title)
    return title


def csv_bytes(tables: Iterable[Table], titles: bool = True) -> bytes:
    """One CSV (UTF-8 with a BOM, which Excel needs for Chinese); titles: each table under a line with its name
    and a blank line after it (the review's many tables), else the header and rows only (one list)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    for name, head, rows in tables:
        if titles:
            writer.writerow([defuse(name)])
        writer.writerow([defuse(h) for h in head])
        for row in rows:
            writer.writerow([defuse(_csv_value(v)) for v in row])
        if titles:
            writer.writerow([])
    return out.getvalue().encode("utf-8")


def _csv_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else value


# The complaint list's columns, each with its label key in report.TEXT (the due times: queue.DEADLINE_LABELS).
COMPLAINT_COLUMNS = ("number", "received_at", "category", "level", "status", "channel", "team", "handler",
                     "department", "about_role", "rating")
IDENTITY_COLUMNS = ("disclosure", "name", "own_department", "position", "contact")


def complaint_header(lang: str, identity: bool) -> list[str]:
    dues = [limit_label(kind, lang) for kind, _, _ in LIMITS]
    return [*(say(lang, c) for c in COMPLAINT_COLUMNS), *dues, *(say(lang, c) for c in IDENTITY_COLUMNS if identity)]


def complaint_row(row: dict, ident: dict | None, identity: bool, zone: ZoneInfo) -> list[Any]:
    """One complaint as a row; identity cells only when the reader's role may export identity at all, and
    then only what Desk.identity_for lets this reader see of this complaint (confidential: hidden)."""
    cells = [_local(v, zone) if isinstance(v, dt.datetime) else v for v in (row[c] for c in COMPLAINT_COLUMNS)]
    cells += [_local(d, zone) for d in row["dues"]]
    if identity:
        shown = ident if ident and not ident.get("hidden") else {}
        cells += [row["disclosure"], *(shown.get(f) for f in ("name", "department", "position", "contact"))]
    return cells
