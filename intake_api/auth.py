"""Staff accounts: argon2 password hashes and sessions (Flask-Login); who may see what is the desk's (desk.py)."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask import Flask, abort, has_request_context, jsonify, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import get_session
from .i18n import gettext
from .models import StaffUser
from .workflow import Role

ROLES = tuple(r.value for r in Role)
_hasher = PasswordHasher()
login_manager = LoginManager()
# Spend the same time on unknown users as on wrong passwords (no user enumeration).
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class StaffError(ValueError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_staff(session: Session, username: str, password: str, role: str, teams: list[str],
                 display_name: str | None = None, known_teams: list[str] | None = None,
                 email: str | None = None, department: str | None = None,
                 known_departments: list[str] | None = None) -> StaffUser:
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise StaffError("the password needs at least 10 characters")
    unknown = [t for t in teams if known_teams is not None and t not in known_teams]
    if unknown:
        raise StaffError(f"unknown teams: {', '.join(unknown)} (see process.teams in kb.yml)")
    from .login_guard import normalise_username
    username = normalise_username(username)
    if not username:
        raise StaffError("the username must not be empty")
    if session.scalar(select(StaffUser).where(StaffUser.username == username)):
        raise StaffError(f"a staff account '{username}' already exists")
    if department and known_departments is not None and department not in known_departments:
        raise StaffError(f"unknown department '{department}' (see process.departments in kb.yml: "
                         f"{', '.join(known_departments)})")
    from .schemas import EMAIL
    if email and not EMAIL.fullmatch(email.strip()):
        raise StaffError(f"'{email}' is not an e-mail address (use one like name@example.com)")
    user = StaffUser(username=username, display_name=display_name or username, password_hash=hash_password(password),
                     role=role, teams=list(teams), active=True, email=(email or "").strip() or None,
                     department=department or None)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    from .login_guard import normalise_username
    user = session.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def staff_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)
    return wrapped


def admin_required(view):
    @functools.wraps(view)
    @staff_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def _secret_key(app: Flask) -> str:
    """secrets.secret_key (KB_SECRET_KEY), else a random key kept beside the database (shared by all workers)."""
    import os
    kb = app.config["KB"]
    if kb.secrets.secret_key is not None:
        return kb.secrets.secret_key.get_secret_value()
    path = kb.instance_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


class _SessionInterface(SecureCookieSessionInterface):
    """Staff session cookies are Secure whenever the request came over HTTPS.

    Directly, or through a trusted proxy's X-Forwarded-Proto
    (`server.trusted_proxies`). A fixed SESSION_COOKIE_SECURE would break
    `make run` on plain http://127.0.0.1; this needs no setting.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    app.session_interface = _SessionInterface()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:  # Flask defines the key (None): setdefault did nothing
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    login_manager.init_app(app)
    login_manager.login_view = "workspace.login"

    @login_manager.user_loader
    def load_user(user_id: str):
        from .login_guard import session_is_live
        user = get_session().get(StaffUser, int(user_id))
        if user is None or not user.active or not session_is_live(get_session(), user.id):
            return None  # logged out (the server-side session is gone), deactivated or deleted
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.path.startswith("/api/"):
            return jsonify({"ok": False, "error": gettext("Log in first")}), 401
        return redirect(url_for("workspace.login", next=request.full_path))
