"""The staff side holds even if a page of the site does not.

The site, the public API and the staff desk share one origin (`make run`
serves them all), so a script that ever ran on a site page would run with
the staff cookie. Three rules keep staff data out of its reach:

- every staff API request, reads included, carries the session's CSRF token
  in `X-CSRFToken`; the token is handed out only by the JSON login and by the
  workspace pages, never to a site page;
- workspace pages are only ever served to a top-level navigation: a fetch,
  an <iframe> or an <object> gets 403 (Fetch Metadata), so a script cannot
  read a workspace page, and the token in it, as data;
- staff responses send a different Cross-Origin-Opener-Policy from site
  pages (headers.py), so a workspace window opened from a site page is cut
  off from its opener.

Browsers without Fetch Metadata (none current) are only covered by the
first rule and the Content-Security-Policy that keeps scripts off the site.
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from .i18n import gettext

STAFF_API = "/api/v1/staff/"
WORKSPACE = "/staff"
# The two routes a staff member reaches before any token exists.
_OPEN = {"/api/v1/staff/login"}
_NAVIGATION_DESTS = {"document", ""}


def _denied(message: str):
    if request.path.startswith("/api/"):
        return jsonify({"ok": False, "error": message}), 403
    return message, 403, {"Content-Type": "text/plain; charset=utf-8"}


def init_app(app: Flask) -> None:
    @app.before_request
    def _staff_boundary():
        path = request.path
        if path.startswith(STAFF_API) and path not in _OPEN:
            if not current_user.is_authenticated:
                return None  # the view answers 401
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except ValidationError:
                return _denied("每个员工接口请求都要带 X-CSRFToken（登录时返回）· "
                               "Every staff API request needs the X-CSRFToken header the login returned")
            return None
        if path == WORKSPACE or path.startswith(WORKSPACE + "/"):
            mode = request.headers.get("Sec-Fetch-Mode")
            dest = request.headers.get("Sec-Fetch-Dest", "")
            if mode is not None and (mode != "navigate" or dest not in _NAVIGATION_DESTS):
                return _denied(gettext("Workspace pages open only as a page of their own"))
        return None
