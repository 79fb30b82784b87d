"""Driving the HTML pages through WebTest the way a person uses them: forms and links."""

from __future__ import annotations

from webtest import TestApp, TestResponse

from .factories import TEST_PASSWORD


class Browser:
    """A WebTest client that signs in through the login form and reads counters off pages."""

    def __init__(self, testapp: TestApp) -> None:
        self.app = testapp

    def get(self, path: str, status: int | str = 200) -> TestResponse:
        return self.app.get(path, status=status)

    def sign_in(self, username: str, password: str = TEST_PASSWORD) -> TestResponse:
        form = self.form(self.get("/login"), "/login")
        form["username"] = username
        form["password"] = password
        return form.submit(status=303).follow()

    def form(self, page: TestResponse, action_contains: str, index: int = 0):
        """The ``index``-th POST form on ``page`` whose action contains ``action_contains``."""
        matching = [
            form
            for form in page.forms.values()
            if action_contains in (form.action or "") and form.method.upper() == "POST"
        ]
        if matching and -len(matching) <= index < len(matching):
            return matching[index]
        raise AssertionError(f"no form posting to *{action_contains}* on {page.request.path}")

    def submit(
        self, page: TestResponse, action_contains: str, status: int = 303, index: int = 0, **fields
    ):
        form = self.form(page, action_contains, index)
        for name, value in fields.items():
            form[name] = value
        return form.submit(status=status)

    def post_raw(self, path: str, status: int, **fields) -> TestResponse:
        """A POST built by hand (to leave out or forge the CSRF token)."""
        return self.app.post(path, fields, status=status)

    @staticmethod
    def text(page: TestResponse, selector: str) -> str:
        found = page.html.select_one(selector)
        assert found is not None, f"{selector} not on {page.request.path}"
        return found.get_text(strip=True)

    def thread_counts(self, thread_id: str) -> tuple[int, int]:
        """(words, comments) as the thread page shows them."""
        page = self.get(f"/t/{thread_id}")
        return (
            int(self.text(page, ".counts .word-count")),
            int(self.text(page, ".counts .comment-count")),
        )

    def board_counts(self, slug: str) -> tuple[int, int]:
        """(threads, comments) as the board page shows them."""
        page = self.get(f"/b/{slug}")
        return (
            int(self.text(page, ".counts .thread-count")),
            int(self.text(page, ".counts .comment-count")),
        )
