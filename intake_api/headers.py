"""Security headers on every response: CSP, framing, content sniffing, referrer; HSTS over HTTPS."""

from __future__ import annotations

from flask import Flask, request

# The API and the workspace run no inline script at all.
STRICT_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# Material's pages carry small inline scripts (theme, search config); nothing from elsewhere.
SITE_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'self'")


def init_app(app: Flask) -> None:
    @app.after_request
    def _secure(response):
        is_app = request.path.startswith(("/api/", "/staff"))
        response.headers.setdefault("Content-Security-Policy", STRICT_CSP if is_app else SITE_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if is_app:
            response.headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:  # directly or via a trusted proxy (server.trusted_proxies); ignored over http anyway
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
