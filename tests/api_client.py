"""A small JSON API client over WebTest that signs in and carries the CSRF token."""

from __future__ import annotations

from typing import Any

from webtest import TestApp, TestResponse

from .factories import TEST_PASSWORD


class ApiClient:
    def __init__(self, testapp: TestApp) -> None:
        self.app = testapp
        self.csrf_token: str | None = None

    def sign_in(self, username: str, password: str = TEST_PASSWORD) -> dict[str, Any]:
        response = self.app.post_json(
            "/api/session", {"username": username, "password": password}, status=200
        )
        self.csrf_token = response.json["csrf_token"]
        return response.json

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = {"X-CSRF-Token": self.csrf_token} if self.csrf_token else {}
        merged.update(headers or {})
        return merged

    def get(self, path: str, status: int = 200, **params: Any) -> TestResponse:
        return self.app.get(path, params=params, status=status)

    def post(self, path: str, body: Any, status: int = 201, headers=None) -> TestResponse:
        return self.app.post_json(path, body, headers=self._headers(headers), status=status)

    def patch(self, path: str, body: Any, status: int = 200, headers=None) -> TestResponse:
        return self.app.patch_json(path, body, headers=self._headers(headers), status=status)

    def delete(self, path: str, status: int = 204, headers=None) -> TestResponse:
        return self.app.delete(path, headers=self._headers(headers), status=status)
