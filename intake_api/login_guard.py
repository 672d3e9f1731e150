"""Staff logins: limits that hold across workers and forms, and sessions the server can end.

Limits. The workspace form and the JSON login both call `check_attempt`
before a password is verified. Each attempt is written to the database
first and then counted, per address and per username as the login
normalises it (`normalise_username`), so every worker and node sees the same
count whatever the rate-limit store, and two attempts racing each other
are both counted. Keys are HMACs (no address or typed name is stored) and
rows older than the longest window are deleted as attempts come in.

Sessions. A login creates a server-side row whose random token the signed
session cookie carries; every request checks it, and logout deletes it, so
an old copy of the cookie, and the CSRF token inside it, stops working.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata

from flask import current_app
from flask import session as cookie
from limits import parse
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .errors import ApiError
from .i18n import gettext
from .models import LoginAttempt, StaffSession, StaffUser, utcnow

SESSION_KEY = "kb_sid"


def normalise_username(name: str) -> str:
    """One spelling per account: Unicode compatibility forms folded (full-width ｗａｎｇ is wang), case folded, no spaces."""
    return "".join(unicodedata.normalize("NFKC", name or "").split()).casefold()


class TooManyAttempts(ApiError):
    status = 429


def _key(kind: str, value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def check_attempt(session: Session, username: str, address: str | None) -> None:
    """Count this attempt; raise TooManyAttempts when the address or the username is over its limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    limits = current_app.config["KB"].rate_limits
    checks = [(_key("user", normalise_username(username)), parse(limits.login_user))]
    if address:
        checks.append((_key("addr", address), parse(limits.login)))
    now = utcnow()
    longest = max(item.get_expiry() for _, item in checks)
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(seconds=longest)))
    rows = [LoginAttempt(key_hash=key, at=now) for key, _ in checks]
    session.add_all(rows)
    session.commit()
    for (key, item), row in zip(checks, rows):
        since = now - dt.timedelta(seconds=item.get_expiry())
        count = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.key_hash == key, LoginAttempt.at >= since, LoginAttempt.id <= row.id))
        if (count or 0) > item.amount:
            raise TooManyAttempts(gettext("Too many login attempts: wait a minute and try again"))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: StaffUser) -> None:
    """After a successful login: a fresh cookie session bound to a new server-side row."""
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=_token_hash(token), user_id=user.id))
    session.commit()
    cookie.clear()  # a new CSRF token too: nothing from before the login carries over
    cookie[SESSION_KEY] = token


def session_is_live(session: Session, user_id: int) -> bool:
    token = cookie.get(SESSION_KEY)
    if not token:
        return False
    row = session.get(StaffSession, _token_hash(token))
    return row is not None and row.user_id == user_id


def end_session(session: Session) -> None:
    token = cookie.get(SESSION_KEY)
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
        session.commit()
    cookie.clear()


class WrongPassword(ApiError):
    status = 401


def log_in(session: Session, username: str, password: str, address: str | None) -> StaffUser:
    """The one login both the JSON API and the workspace form use: counted, verified, a fresh session."""
    from flask_login import login_user

    from .auth import authenticate
    check_attempt(session, username, address)
    user = authenticate(session, username, password)
    if user is None:
        session.rollback()
        raise WrongPassword(gettext("Wrong username or password"))
    session.commit()  # a rehashed password is kept
    start_session(session, user)
    login_user(user)
    return user


def log_out(session: Session) -> None:
    from flask_login import logout_user
    end_session(session)
    logout_user()


def end_all_sessions(session: Session, user_id: int) -> None:
    """For a deactivated account or a password reset: every login of that person ends."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
