"""Serve the built static site beside the API (same origin for the form).

Files are looked up per request, so a rebuild that swaps site/ in is served
at once, without a restart. The site search's index files live in a folder
named by their digest (kb_builder/site_search.py): the browser keeps them
for good; the stub that names the folder is revalidated on every page
(ETag), like the pages.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from werkzeug.security import safe_join

from kb_builder.site_search import FOLDER, STUB

YEAR = 365 * 24 * 3600

bp = Blueprint("site", __name__)


def _site_dir() -> Path:
    return current_app.config["KB"].site_dir


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def page(path: str):
    if path in ("api", "staff") or path.startswith(("api/", "staff/")):
        abort(404)  # unknown API routes answer JSON, workspace ones the workspace's page, not the site's 404
    if any(part.startswith(".") for part in path.split("/")):
        abort(404)  # dot files of the build (the CSP hash list) are not pages
    root = _site_dir()
    target = safe_join(str(root), path)
    if target is None:
        abort(404)
    target_path = Path(target)
    if target_path.is_dir():
        path = (path.rstrip("/") + "/index.html").lstrip("/")
    elif not target_path.is_file() and (root / path / "index.html").is_file():
        path = path + "/index.html"
    if not (root / path).is_file():
        not_found = root / "404.html"
        if not_found.is_file():
            return send_from_directory(root, "404.html", max_age=0), 404
        abort(404)
    if path.startswith(FOLDER.as_posix() + "/"):
        # Stored gzip, sent as it is: the worker inflates it (any static server can do the same).
        response = send_from_directory(root, path, max_age=YEAR, mimetype="application/gzip")
        response.cache_control.immutable = True
        return response
    max_age = 0 if path.endswith(".html") or path == STUB.as_posix() else 3600
    return send_from_directory(root, path, max_age=max_age)
