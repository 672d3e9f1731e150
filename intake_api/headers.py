"""Security headers on every response: CSP, framing, content sniffing, referrer; HSTS over HTTPS."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, request

from kb_builder.site import CSP_FILE, read_policy

# The API and the workspace run no script at all.
STRICT_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# Site pages: scripts from the site itself and the theme's own inline scripts,
# allowed one by one by hash (kb build lists them); never 'unsafe-inline'.
SITE_CSP = ("default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'{api}; worker-src 'self' blob:; object-src 'none'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'self'")
# Different values on purpose (boundary.py): a workspace window opened by a
# site page lands in another browsing-context group, out of its opener's reach.
STAFF_COOP = "same-origin"
SITE_COOP = "same-origin-allow-popups"

_cache: dict[str, tuple[int, str]] = {}


def site_csp(site_dir: Path, api_base_url: str = "") -> str:
    """The site's policy, re-read when a build swaps a new site in."""
    try:
        stamp = (site_dir / CSP_FILE).stat().st_mtime_ns
    except OSError:
        stamp = -1
    key = f"{site_dir}|{api_base_url}"
    cached = _cache.get(key)
    if cached is None or cached[0] != stamp:
        parts = urlsplit(api_base_url)
        api = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
        hashes = " ".join(read_policy(site_dir)) or "'none'"
        policy = SITE_CSP.format(hashes=hashes, api=api).replace("'self' 'none'", "'self'")
        cached = _cache[key] = (stamp, policy)
    return cached[1]


def init_app(app: Flask) -> None:
    @app.after_request
    def _secure(response):
        is_app = request.path.startswith(("/api/", "/staff"))
        if is_app:
            csp = STRICT_CSP
        else:
            csp = site_csp(current_app.config["KB"].site_dir, current_app.config["KB"].site.api_base_url)
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", STAFF_COOP if is_app else SITE_COOP)
        if is_app:
            response.headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:  # directly or via a trusted proxy (server.trusted_proxies); ignored over http anyway
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
