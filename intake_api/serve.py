"""`kb serve`: the site and the API on one port, under gunicorn (not Flask's dev server)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def _post_fork(server, worker):
    # Connections opened in the master (migrations) must not be shared by workers.
    engine = server.app.application.extensions.get("db_engine")
    if engine is not None:
        engine.dispose(close=False)


def _post_worker_init(worker):
    # This worker's own index files and vectors, opened before its first request.
    worker.app.application.extensions["kb_searcher"].open()


def run(app, host: str = "127.0.0.1", port: int = 8000, workers: int = 2, timeout: int = 30) -> None:
    """Serve app with `workers` processes; the app is loaded once (jieba's dictionary and the encoder shared)."""
    from .buffered_worker import BufferedThreadWorker
    from .server_log import PrivateLogger
    from .web import UPLOAD_OVERHEAD

    server = app.config["KB"].server
    app.extensions["kb_searcher"].preload()
    # Read by the workers forked from this process.
    BufferedThreadWorker.request_timeout = server.request_timeout
    BufferedThreadWorker.upload_timeout = server.upload_timeout
    BufferedThreadWorker.upload_buffered = app.config["KB"].attachments.max_bytes + UPLOAD_OVERHEAD
    _Gunicorn(app, {
        "bind": f"{host}:{port}",
        "workers": workers,
        # Slow and idle clients cost no thread: see buffered_worker.py.
        "worker_class": BufferedThreadWorker,
        "threads": server.threads,
        # gunicorn believes X-Forwarded-Proto (and friends) from 127.0.0.1 by
        # default, so anyone on this machine could claim HTTPS. The app
        # trusts forwarded headers only as server.trusted_proxies says
        # (Werkzeug's ProxyFix, intake_api/proxies.py); gunicorn trusts none.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        "logger_class": PrivateLogger,
        "preload_app": True,
        "timeout": timeout,
        "post_fork": _post_fork,
        "post_worker_init": _post_worker_init,
        # No access log: it would record the IP address of anonymous complainants.
        "accesslog": None,
        # No control socket (gunicorn 25.1+): nothing here uses it, every instance on a
        # machine would claim the same file in $HOME, and where $HOME is read-only
        # (a container) each start would log an error.
        "control_socket_disable": True,
        "errorlog": "-",
        "loglevel": "info",
    }).run()
