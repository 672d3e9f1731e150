"""Property-based fuzzing of every API operation from the generated OpenAPI document: no 5xx."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from conftest import COMPLAINT, PASSWORD


@pytest.fixture
def fuzz_app(built_kb, db_url):
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url},
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        create_staff(get_session(), "fuzz", PASSWORD, "admin", [])
        get_session().commit()
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def staff_headers(fuzz_app):
    """A logged-in admin session, so staff operations are fuzzed past the login check too."""
    client = fuzz_app.test_client()
    client.post("/api/v1/complaints", json=COMPLAINT)
    token = client.post("/api/v1/staff/login", json={"username": "fuzz", "password": PASSWORD}).get_json()["csrf_token"]
    cookie = client.get_cookie("session")
    return {"Cookie": f"session={cookie.value}", "X-CSRFToken": token}


def test_no_server_errors_on_any_operation(fuzz_app, staff_headers):
    """Every operation in /api/openapi.json, 25 generated requests each, public and as staff."""
    from hypothesis import given

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures = []
    for op in operations:
        headers = staff_headers if op.path.startswith("/api/v1/staff/") and "login" not in op.path else {}

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{op.method.upper()} {op.path}: {response.status_code} for {case.body!r}")
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # collect all operations' failures before failing
            failures.append(f"{op.method.upper()} {op.path}: {type(exc).__name__}: {str(exc)[:300]}")
    assert failures == []
