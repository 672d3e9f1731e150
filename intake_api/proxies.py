"""Which request headers say where a request came from, and redirects that never name a host.

`server.trusted_proxies` is the one setting: with 0 (nothing in front),
X-Forwarded-For/-Proto/-Host are ignored, here and in gunicorn (serve.py
sets its forwarded_allow_ips to nobody), so a client cannot claim HTTPS or
another address; with N, Werkzeug's ProxyFix takes the last N entries of
each, the ones the proxies wrote.

The Host header is the client's to choose whatever is in front, so no
redirect is built from it: Werkzeug's trailing-slash redirects (`/staff` ->
`/staff/`) are absolute URLs on the request's host, and a link to
`http://our-server/staff` sent with `Host: evil.example` would redirect to
evil.example. Locations on the request's own host are made relative
(RFC 9110 allows it); the browser resolves them against the address it
really asked.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, request


def init_app(app: Flask) -> None:
    hops = app.config["KB"].server.trusted_proxies
    if hops:
        # Behind a proxy every request comes from the proxy's address: without
        # this, all employees would share one rate-limit counter.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.after_request
    def _relative_location(response):
        location = response.headers.get("Location")
        if location:
            response.headers["Location"] = relative_location(location, request.host)
        return response


def relative_location(location: str, host: str) -> str:
    """location without scheme and host when it points at host (the request's own)."""
    parts = urlsplit(location)
    if parts.netloc and parts.netloc.lower() == host.lower():
        path = parts.path or "/"
        if path.startswith("//"):  # would read as a host of its own
            path = "/" + path.lstrip("/")
        return urlunsplit(("", "", path, parts.query, parts.fragment))
    return location
