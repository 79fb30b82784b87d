"""Every kind of response carries the security headers: a page, the API, a 404, a static file."""

from __future__ import annotations

from pathlib import Path

import pytest
from plaster import get_settings

from forum import main
from forum.security_headers import CONTENT_SECURITY_POLICY

from .harness import TEST_SETTINGS

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/api/boards", 200),
        ("/no/such/page", 404),
        ("/api/no/such/thing", 404),
        ("/static/forum.css", 200),
        ("/t/not-a-thread", 404),
    ],
)
def test_each_header_on_each_kind_of_response(testapp, path, status):
    response = testapp.get(path, status=status)
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    assert "Strict-Transport-Security" not in response.headers  # development and tests


def test_the_policy_forbids_inline_script_style_and_framing():
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_no_template_carries_inline_script_or_style():
    for template in (ROOT / "forum" / "templates").glob("*.jinja2"):
        text = template.read_text().lower()
        for banned in ("<script>", "<style", " style=", " onclick=", " onsubmit=", "javascript:"):
            assert banned not in text, f"{template.name}: {banned}"


def test_production_ini_sends_strict_transport_security(database_url):
    value = get_settings(str(ROOT / "production.ini"), "app:main")[
        "forum.strict_transport_security"
    ]
    assert value.startswith("max-age=")
    from webtest import TestApp

    app = TestApp(main({}, **TEST_SETTINGS, **{"forum.strict_transport_security": value}))
    for path, status in (("/api/boards", 200), ("/static/forum.css", 200), ("/nope", 404)):
        response = app.get(path, status=status)
        assert response.headers["Strict-Transport-Security"] == value
