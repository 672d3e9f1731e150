"""The README a newcomer reads: short, and its endpoint table is the app's URL map."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
# Served by the app but not API or workspace routes: the built site, static files, the OpenAPI browsers.
NOT_LISTED = re.compile(r"^/(<path:path>)?$|^/static/|^/api/doc/")


def readme_endpoints(text: str) -> set[tuple[str, str]]:
    """(method, path) of every `METHOD /path` in the first column of the table under '## Endpoints'."""
    section = text.split("\n## Endpoints\n", 1)[1].split("\n## ", 1)[0]
    found = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            for methods, path in re.findall(r"`([A-Z, ]+) (/[^`]*)`", line.split(" | ")[0]):
                found |= {(m.strip(), path) for m in methods.split(",")}
    return found


def test_readme_endpoints_are_parsed():
    text = "# Title\n\n## Endpoints\n\n| endpoint | what |\n| --- | --- |\n| `GET, POST /a/<x>`, `POST /b` | `GET /c` |\n\n## More\n"
    assert readme_endpoints(text) == {("GET", "/a/<x>"), ("POST", "/a/<x>"), ("POST", "/b")}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the URL map does not depend on the database
def test_readme_endpoint_table_is_the_url_map(app):
    routes = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule))
              for rule in app.url_map.iter_rules() if not NOT_LISTED.search(rule.rule)
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = readme_endpoints(README.read_text(encoding="utf-8"))
    fix = "Fix: make the table under '## Endpoints' in README.md list exactly the app's routes"
    assert not listed - routes, f"README.md lists routes the app does not have: {sorted(listed - routes)}. {fix}"
    assert not routes - listed, f"README.md does not list these routes: {sorted(routes - listed)}. {fix}"


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= 160, f"README.md has {lines} lines; keep it near 150 and move detail to operations/"
