"""The site's own search box in Debian's chromium: bytes shipped, time to the first result, tab memory.

    python benchmarks/site_search.py                       # 60, 1,000 and 10,000 generated articles
    python benchmarks/site_search.py --sizes 60 1000 --work /tmp/site-search

For each size it generates a knowledge base (benchmarks/generate_kb.py),
builds it (`kb build`), and searches twice: the static path (the site under
a plain static web server, no API: the static index fetched by prefix) and
the API path (`kb serve`: /api/v1/search). `measure` is imported by
benchmarks/scale.py.

What is measured, per search, in a fresh browser profile (nothing cached):
- bytes_shipped: everything the search needed over the wire (the stub,
  the worker, the index files or the API's answer), compressed as sent;
- first_result_s: from the query typed (right after the page's load event:
  the person types at once) to the first result on screen;
- first_result_quarter_core_s: the same with the browser held to a quarter
  of a core (CDP Emulation.setCPUThrottlingRate, rate 4);
- next_page_s: on a second page in the same tab, the same search again
  (what the browser kept: the index files are cached, nothing is rebuilt);
- tab_mb: memory (PSS) of the tab's renderer process (page and search
  worker) after the first result, from /proc/<pid>/smaps_rollup.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
QUERIES = ["饮水机坏了", "飲水機壞了", "wifi not working"]
SEARCH_URLS = ("/search/", "kb-search-worker.js", "/api/v1/search", "/workers/search.")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def static_server(site_dir: Path):
    """The built site under Python's static web server: a site served without the API."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def kb_serve(kb_yml: Path):
    """`kb serve` (2 workers, no notification worker) over a throw-away SQLite database."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="site-search-db-"))
    env = dict(os.environ, KB_CONFIG=str(kb_yml), KB_DATABASE_URL=f"sqlite:///{folder / 'kb.db'}")
    kb = Path(sys.executable).with_name("kb")
    proc = subprocess.Popen([str(kb), "serve", "--port", str(port), "--workers", "2", "--no-notifications"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/api/v1/search?q=warm", timeout=30)  # index and encoder loaded
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("kb serve did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def renderer_mb() -> float:
    """Memory (PSS) of the tab: the largest renderer process this process's chromium runs.

    A dedicated worker runs in its page's renderer, so the page and the
    search worker are both in it; the browser's own web-UI renderer and a
    spare one are left out.
    """
    tree, sizes, todo = _children(), [0], [os.getpid()]
    while todo:
        pid = todo.pop()
        todo += tree.get(pid, [])
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"--type=renderer" not in cmdline or b"--top-chrome-webui" in cmdline:
                continue
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        # Proportional set size: pages shared with other processes count by their share.
        sizes.append(next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")))
    return round(max(sizes) / 1024, 1)


def _search(page, url: str, query: str, throttle: int = 1) -> tuple[float, int]:
    """Open url, type the query at once, wait for the first result: (seconds, bytes of the search's requests)."""
    from playwright.sync_api import expect
    sizes: list[int] = []

    def finished(request) -> None:
        if any(part in request.url for part in SEARCH_URLS):
            s = request.sizes()
            sizes.append(s["responseBodySize"] + s["responseHeadersSize"])
    page.on("requestfinished", finished)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    page.goto(url, wait_until="load")
    box = page.locator("input.md-search__input")
    box.click()
    start = time.perf_counter()
    box.fill(query)
    box.press("End")
    expect(page.locator(".md-search-result__item").first).to_be_visible(timeout=300_000)
    seconds = time.perf_counter() - start
    page.wait_for_load_state("networkidle")
    page.remove_listener("requestfinished", finished)
    cdp.detach()
    return seconds, sum(sizes)


def measure(site_dir: Path, query: str, api: bool, kb_yml: Path | None = None) -> dict:
    """One search on the built site in site_dir: {bytes_shipped, first_result_s, first_result_quarter_core_s,
    next_page_s, tab_mb}.

    api=False serves site_dir with a plain static web server (the static
    index); api=True runs `kb serve` with kb_yml (default: the kb.yml beside
    site_dir). Each figure comes from a fresh browser profile.
    """
    from playwright.sync_api import sync_playwright
    site_dir = Path(site_dir)
    server = kb_serve(kb_yml or site_dir.parent / "kb.yml") if api else static_server(site_dir)
    with server as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            out: dict = {}
            for throttle, key in ((1, "first_result_s"), (4, "first_result_quarter_core_s")):
                context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
                page = context.new_page()
                seconds, shipped = _search(page, url + "/", query, throttle)
                out[key] = round(seconds, 3)
                if throttle == 1:
                    out["bytes_shipped"] = shipped
                    out["tab_mb"] = renderer_mb()
                    # A second page in the same tab: the index files come from the browser's cache.
                    out["next_page_s"] = round(_search(page, url + "/complaint/", query)[0], 3)
                context.close()
            return out
        finally:
            browser.close()


def reference_loop() -> float:
    start = time.time()
    sum(range(10**8))
    return round(time.time() - start, 2)


def build_generated(work: Path, articles: int) -> tuple[Path, float]:
    """A generated knowledge base of `articles` cases, built: (its kb.yml, build seconds)."""
    target = work / f"kb{articles}"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate_kb.py"), str(target),
                    "--articles", str(articles)], check=True, stdout=subprocess.DEVNULL)
    notices = target / "content" / "notifications"
    if not notices.exists():  # `kb serve` checks HR's message templates at start, even with notifications off
        shutil.copytree(ROOT / "content" / "notifications", notices)
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("kb")), "--config", str(target / "kb.yml"), "build"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return target / "kb.yml", time.perf_counter() - start


def index_size(site_dir: Path) -> tuple[int, int]:
    """(files, bytes) of the site search's static index and stub."""
    files = [p for p in (site_dir / "search").rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[60, 1000, 10_000])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kb-site-search")
    ap.add_argument("--queries", nargs="+", default=QUERIES)
    ap.add_argument("--reuse", action="store_true", help="measure the knowledge bases already built in --work")
    args = ap.parse_args()
    print(f"reference loop sum(range(10**8)): {reference_loop()} s")
    print("| articles | path | query | bytes shipped | first result | at 1/4 core | next page | tab MB |")
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for size in args.sizes:
        if args.reuse and (args.work / f"kb{size}" / "site").is_dir():
            kb_yml, seconds = args.work / f"kb{size}" / "kb.yml", float("nan")
        else:
            kb_yml, seconds = build_generated(args.work, size)
        site = kb_yml.parent / "site"
        files, size_bytes = index_size(site)
        print(f"<!-- {size} articles: build {seconds:.0f} s; static index {files} files, {size_bytes / 1e6:.1f} MB -->")
        for api in (False, True):
            for query in args.queries:
                r = measure(site, query, api, kb_yml)
                print(f"| {size:,} | {'API' if api else 'static'} | {query} | {r['bytes_shipped'] / 1024:.1f} KB "
                      f"| {r['first_result_s']:.2f} s | {r['first_result_quarter_core_s']:.2f} s "
                      f"| {r['next_page_s']:.2f} s | {r['tab_mb']:.0f} |", flush=True)
    print(f"reference loop sum(range(10**8)): {reference_loop()} s")


if __name__ == "__main__":
    main()
