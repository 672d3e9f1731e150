"""/api/v1/search and /api/v1/suggest are rate limited per address (issue 25), and typing never reaches the limit."""

import pytest

TEXT = "食堂的饭菜价格上涨了很多而且分量变少希望能够公开成本并且听取员工的意见谢谢处理"  # 40 characters


def _limited(client, path: str, **kwargs) -> int:
    """How many requests pass before the first 429 (at most 500)."""
    for i in range(500):
        res = client.get(path, query_string={"q": f"饭菜 {i}"}, **kwargs)
        if res.status_code == 429:
            return i
        assert res.status_code == 200, res.get_data(as_text=True)
    return 500


def test_typing_fast_stays_under_both_limits(client):
    """Worse than any typist through the debounce: a request for every prefix, in the search box and the form."""
    searches = [client.get("/api/v1/search", query_string={"q": TEXT[:n]}).status_code for n in range(1, 41)]
    suggests = [client.post("/api/v1/suggest", json={"q": TEXT[:n], "limit": 5}).status_code for n in range(1, 41)]
    assert searches == [200] * 40 and suggests == [200] * 40


@pytest.mark.parametrize("path", ["/api/v1/search", "/api/v1/suggest"])
def test_a_flood_gets_429_with_retry_after(client, path):
    assert _limited(client, path) == 120  # rate_limits.search / .suggest: 120/minute
    res = client.get(path, query_string={"q": "饭菜"}, headers={"Accept-Language": "en"})
    assert res.status_code == 429 and res.is_json and res.get_json()["ok"] is False
    body = res.get_json()
    assert body["error"] == "Too many requests from your address (at most 120 per 1 minute): wait a moment and try again"
    assert body["errors"] == [{"field": "_form", "message": "rate limit 120 per 1 minute"}]
    assert 0 < int(res.headers["Retry-After"]) <= 60
    other = "/api/v1/suggest" if path == "/api/v1/search" else "/api/v1/search"
    assert client.get(other, query_string={"q": "饭菜"}).status_code == 200  # each has its own counter


def test_the_limit_is_per_employee_behind_a_trusted_proxy(built_kb, db_url):
    from intake_api import create_app

    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True,
                      "KB_OVERRIDES": {"database_url": db_url, "server.trusted_proxies": 1,
                                       "rate_limits.search": "10/minute"}})
    try:
        client = app.test_client()
        proxy = {"REMOTE_ADDR": "10.0.0.5"}
        first = _limited(client, "/api/v1/search", headers={"X-Forwarded-For": "192.168.1.20"}, environ_base=proxy)
        assert first == 10
        assert client.get("/api/v1/search", query_string={"q": "饭菜"}, headers={"X-Forwarded-For": "192.168.1.21"},
                          environ_base=proxy).status_code == 200
    finally:
        app.extensions["db_engine"].dispose()


def test_a_bad_limit_is_named():
    from pydantic import ValidationError

    from kb_builder.config import RateLimitSettings
    with pytest.raises(ValidationError, match="'fast' is not a rate limit"):
        RateLimitSettings(search="fast")
