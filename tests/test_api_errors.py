"""Every refusal of the API: its status, its error body, and that nothing changed.

Each case names the input. After each refused request the whole database
(rows and counters) must be exactly as before.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from .api_client import ApiClient
from .factories import TEST_PASSWORD, add_comment, make_board, make_thread, make_user

MISSING = object()
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def snapshot(connection: Connection) -> list:
    """Every row that matters, counters included."""
    return [
        connection.execute(text(query)).all()
        for query in (
            "SELECT id, username, role FROM users ORDER BY id",
            "SELECT id, slug, thread_count, comment_count FROM boards ORDER BY id",
            "SELECT id, board_id, title, word_count, comment_count FROM threads ORDER BY id",
            "SELECT id, thread_id, message, version FROM comments ORDER BY id",
        )
    ]


@pytest.fixture
def ids(dbsession: Session) -> dict[str, str]:
    alice = make_user(dbsession, "alice")
    bob = make_user(dbsession, "bob")
    make_user(dbsession, "mod", role="moderator")
    board = make_board(dbsession, "general")
    thread = make_thread(dbsession, board, alice, "hello there", title="Hello")
    other = make_thread(dbsession, board, bob, "other thread", title="Other")
    alices = add_comment(dbsession, thread, alice, "alice wrote this")
    dbsession.commit()
    return {"thread": str(thread.id), "other": str(other.id), "comment": str(alices.id)}


@pytest.fixture
def api(testapp) -> ApiClient:
    return ApiClient(testapp)


def refused(
    api: ApiClient,
    connection: Connection,
    method: str,
    path: str,
    body=MISSING,
    *,
    status: int,
    code: str,
    mentions: str = "",
    headers: dict | None = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
):
    """Make the request; check its status, error code and message; check nothing changed."""
    before = snapshot(connection)
    request_headers = {"X-CSRF-Token": api.csrf_token} if api.csrf_token else {}
    request_headers.update(headers or {})
    if body is not MISSING:
        raw = json.dumps(body).encode()
    if raw is not None:
        request_headers["Content-Type"] = content_type
    response = api.app.request(
        path, method=method, body=raw or b"", headers=request_headers, expect_errors=True
    )
    assert response.status_int == status, response.text
    assert response.content_type == "application/json"
    error = response.json["error"]
    assert error["code"] == code, error
    assert mentions.lower() in error["message"].lower(), error
    assert snapshot(connection) == before
    return response


# --- accounts -------------------------------------------------------------------------

USER_CASES = [
    ("missing username", {"password": TEST_PASSWORD}, 422, "invalid", "username"),
    ("missing password", {"username": "carol"}, 422, "invalid", "password"),
    (
        "username not a string",
        {"username": 7, "password": TEST_PASSWORD},
        422,
        "invalid",
        "username",
    ),
    (
        "username too short",
        {"username": "ab", "password": TEST_PASSWORD},
        422,
        "invalid",
        "username",
    ),
    (
        "username with spaces",
        {"username": "a b c", "password": TEST_PASSWORD},
        422,
        "invalid",
        "username",
    ),
    (
        "username with NUL",
        {"username": "car\x00ol", "password": TEST_PASSWORD},
        422,
        "invalid",
        "username",
    ),
    (
        "username 33 characters",
        {"username": "a" * 33, "password": TEST_PASSWORD},
        422,
        "invalid",
        "username",
    ),
    ("password too short", {"username": "carol", "password": "short"}, 422, "invalid", "password"),
    ("password not a string", {"username": "carol", "password": ["x"]}, 422, "invalid", "password"),
    (
        "password with NUL",
        {"username": "carol", "password": "long enough\x00"},
        422,
        "invalid",
        "password",
    ),
    (
        "password too long",
        {"username": "carol", "password": "x" * 1025},
        422,
        "invalid",
        "password",
    ),
    ("username taken", {"username": "alice", "password": TEST_PASSWORD}, 409, "conflict", "taken"),
    (
        "username taken, other case",
        {"username": "ALICE", "password": TEST_PASSWORD},
        409,
        "conflict",
        "taken",
    ),
    ("body is a list", ["carol"], 400, "malformed", "object"),
    ("body is null", None, 400, "malformed", "object"),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "code", "mentions"), USER_CASES, ids=[c[0] for c in USER_CASES]
)
def test_register_refused(api, ids, connection, case, body, status, code, mentions):
    refused(
        api, connection, "POST", "/api/users", body, status=status, code=code, mentions=mentions
    )


@pytest.mark.parametrize(
    ("case", "raw", "content_type", "status", "code"),
    [
        ("malformed JSON", b'{"username": "carol",', "application/json", 400, "malformed"),
        ("not UTF-8", b'{"username": "\xff\xfe"}', "application/json", 400, "malformed"),
        ("deeply nested", b"[" * 20000 + b"]" * 20000, "application/json", 400, "malformed"),
        (
            "form encoded",
            b"username=carol&password=x",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        ("plain text", b'{"username": "carol"}', "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_register_malformed_body(api, ids, connection, case, raw, content_type, status, code):
    refused(
        api,
        connection,
        "POST",
        "/api/users",
        raw=raw,
        content_type=content_type,
        status=status,
        code=code,
    )


def test_register_body_too_large(api, ids, connection, app):
    size = app.registry.settings["forum.settings"].max_message_chars * 4 + 16 * 1024 + 1
    refused(api, connection, "POST", "/api/users", raw=b" " * size, status=413, code="too_large")


@pytest.mark.parametrize(
    ("case", "body", "status", "code"),
    [
        (
            "wrong password",
            {"username": "alice", "password": "not the password"},
            401,
            "bad_credentials",
        ),
        ("unknown user", {"username": "nobody", "password": TEST_PASSWORD}, 401, "bad_credentials"),
        ("missing password", {"username": "alice"}, 422, "invalid"),
        ("password not a string", {"username": "alice", "password": 12345678901}, 422, "invalid"),
        ("body is a string", "alice", 400, "malformed"),
    ],
)
def test_sign_in_refused(api, ids, connection, case, body, status, code):
    refused(api, connection, "POST", "/api/session", body, status=status, code=code)
    assert api.get("/api/session").json["user"] is None


def test_sign_in_form_encoded_refused(api, ids, connection):
    refused(
        api,
        connection,
        "POST",
        "/api/session",
        raw=b"username=alice&password=x",
        content_type="application/x-www-form-urlencoded",
        status=415,
        code="unsupported_media_type",
    )


def test_sign_out_needs_the_csrf_token(api, ids, connection):
    api.sign_in("alice")
    refused(
        api,
        connection,
        "DELETE",
        "/api/session",
        status=403,
        code="csrf",
        headers={"X-CSRF-Token": "wrong"},
    )
    assert api.get("/api/session").json["user"]["username"] == "alice"


# --- writes: not signed in, CSRF --------------------------------------------------------

WRITES = [
    ("POST", "/api/boards/general/threads", {"title": "t", "message": "m"}),
    ("POST", "/api/threads/{thread}/comments", {"message": "m"}),
    ("PATCH", "/api/comments/{comment}", {"message": "m"}),
    ("DELETE", "/api/comments/{comment}", MISSING),
    ("DELETE", "/api/threads/{thread}", MISSING),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_writes_need_sign_in(api, ids, connection, method, path, body):
    refused(api, connection, method, path.format(**ids), body, status=401, code="not_signed_in")


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_writes_need_the_csrf_token(api, ids, connection, method, path, body, token):
    api.sign_in("mod")
    headers = {"X-CSRF-Token": "" if token == "missing" else "not-the-token"}
    refused(
        api, connection, method, path.format(**ids), body, status=403, code="csrf", headers=headers
    )


# --- validation of writes ---------------------------------------------------------------

LONG = "x" * 20001

THREAD_CASES = [
    ("title missing", {"message": "m"}, 422, "title"),
    ("title empty", {"title": "", "message": "m"}, 422, "title"),
    ("title whitespace only", {"title": " \t ", "message": "m"}, 422, "title"),
    ("title not a string", {"title": 5, "message": "m"}, 422, "title"),
    ("title two lines", {"title": "a\nb", "message": "m"}, 422, "title"),
    ("title too long", {"title": "t" * 201, "message": "m"}, 422, "title"),
    ("title with NUL", {"title": "a\x00b", "message": "m"}, 422, "title"),
    ("message missing", {"title": "t"}, 422, "message"),
    ("message empty", {"title": "t", "message": ""}, 422, "message"),
    ("message whitespace only", {"title": "t", "message": "\n \u2003 "}, 422, "message"),
    ("message too long", {"title": "t", "message": LONG}, 422, "message"),
    ("message with NUL", {"title": "t", "message": "a\x00b"}, 422, "message"),
    ("message not a string", {"title": "t", "message": {"text": "m"}}, 422, "message"),
    ("message null", {"title": "t", "message": None}, 422, "message"),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "mentions"), THREAD_CASES, ids=[c[0] for c in THREAD_CASES]
)
def test_create_thread_refused(api, ids, connection, case, body, status, mentions):
    api.sign_in("bob")
    refused(
        api,
        connection,
        "POST",
        "/api/boards/general/threads",
        body,
        status=status,
        code="invalid",
        mentions=mentions,
    )


MESSAGE_CASES = [c for c in THREAD_CASES if c[0].startswith("message")]


@pytest.mark.parametrize(
    ("case", "body", "status", "mentions"), MESSAGE_CASES, ids=[c[0] for c in MESSAGE_CASES]
)
def test_reply_refused(api, ids, connection, case, body, status, mentions):
    api.sign_in("bob")
    body = {k: v for k, v in body.items() if k != "title"}
    refused(
        api,
        connection,
        "POST",
        f"/api/threads/{ids['thread']}/comments",
        body,
        status=status,
        code="invalid",
        mentions=mentions,
    )


EDIT_CASES = [
    (
        case,
        body if body != {"title": "t"} else {},
        status,
        "give message" if body == {"title": "t"} else mentions,
    )
    for case, body, status, mentions in MESSAGE_CASES
]


@pytest.mark.parametrize(
    ("case", "body", "status", "mentions"), EDIT_CASES, ids=[c[0] for c in EDIT_CASES]
)
def test_edit_refused(api, ids, connection, case, body, status, mentions):
    api.sign_in("alice")
    body = {k: v for k, v in body.items() if k != "title"}
    refused(
        api,
        connection,
        "PATCH",
        f"/api/comments/{ids['comment']}",
        body,
        status=status,
        code="invalid",
        mentions=mentions,
    )


@pytest.mark.parametrize(
    ("case", "body", "mentions"),
    [
        ("unknown thread", {"thread_id": UNKNOWN_ID}, "no thread"),
        ("malformed thread id", {"thread_id": "not-a-uuid"}, "no thread"),
        ("thread id not a string", {"thread_id": 42}, "thread_id"),
        ("unknown field", {"author": "mod"}, "cannot change author"),
        ("nothing to change", {}, "give message"),
    ],
)
def test_move_refused(api, ids, connection, case, body, mentions):
    api.sign_in("mod")
    refused(
        api,
        connection,
        "PATCH",
        f"/api/comments/{ids['comment']}",
        body,
        status=422,
        code="invalid",
        mentions=mentions,
    )


# --- authorization ----------------------------------------------------------------------


def test_members_may_not_edit_or_delete_others_comments(api, ids, connection):
    api.sign_in("bob")
    path = f"/api/comments/{ids['comment']}"
    refused(api, connection, "PATCH", path, {"message": "mine now"}, status=403, code="forbidden")
    refused(api, connection, "DELETE", path, status=403, code="forbidden")


def test_only_moderators_move_comments(api, ids, connection):
    api.sign_in("alice")  # the author, but not a moderator
    refused(
        api,
        connection,
        "PATCH",
        f"/api/comments/{ids['comment']}",
        {"thread_id": ids["other"]},
        status=403,
        code="forbidden",
        mentions="moderators",
    )


def test_only_moderators_delete_threads(api, ids, connection):
    api.sign_in("alice")  # the thread's author, but not a moderator
    refused(
        api,
        connection,
        "DELETE",
        f"/api/threads/{ids['thread']}",
        status=403,
        code="forbidden",
        mentions="moderators",
    )


# --- unknown and malformed ids, paging, methods -----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/boards/nope",
        "/api/boards/nope/threads",
        f"/api/threads/{UNKNOWN_ID}",
        "/api/threads/not-a-uuid",
        "/api/threads/1%27%3B--",
        f"/api/threads/{UNKNOWN_ID}/comments",
        "/api/threads/xyz/comments",
        f"/api/comments/{UNKNOWN_ID}",
        "/api/comments/123",
        "/api/nothing-here",
    ],
)
def test_unknown_or_malformed_ids_are_404(api, ids, connection, path):
    refused(api, connection, "GET", path, status=404, code="not_found")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"/api/threads/{UNKNOWN_ID}/comments", {"message": "m"}),
        ("PATCH", f"/api/comments/{UNKNOWN_ID}", {"message": "m"}),
        ("DELETE", "/api/comments/not-a-uuid", MISSING),
        ("DELETE", f"/api/threads/{UNKNOWN_ID}", MISSING),
        ("POST", "/api/boards/nope/threads", {"title": "t", "message": "m"}),
    ],
)
def test_writes_to_unknown_ids_are_404(api, ids, connection, method, path, body):
    api.sign_in("mod")
    refused(api, connection, method, path, body, status=404, code="not_found")


@pytest.mark.parametrize(
    ("query", "status", "code", "mentions"),
    [
        ("limit=0", 422, "invalid", "limit"),
        ("limit=-1", 422, "invalid", "limit"),
        ("limit=ten", 422, "invalid", "limit"),
        ("after=not-a-cursor", 400, "malformed", "after"),
        ("after=W10", 400, "malformed", "after"),
        ("after=WyJ4IiwieSJd", 400, "malformed", "after"),
    ],
)
def test_bad_paging_parameters(api, ids, connection, query, status, code, mentions):
    refused(
        api,
        connection,
        "GET",
        f"/api/threads/{ids['thread']}/comments?{query}",
        status=status,
        code=code,
        mentions=mentions,
    )
    refused(
        api,
        connection,
        "GET",
        f"/api/boards/general/threads?{query}",
        status=status,
        code=code,
        mentions=mentions,
    )


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/boards", "GET"),
        ("DELETE", "/api/users", "POST"),
        ("PUT", "/api/comments/{comment}", "GET, PATCH, DELETE"),
        ("POST", "/api/threads/{thread}", "GET, DELETE"),
    ],
)
def test_wrong_method_is_405(api, ids, connection, method, path, allowed):
    response = refused(
        api, connection, method, path.format(**ids), status=405, code="method_not_allowed"
    )
    assert response.headers["Allow"] == allowed


def test_deleting_twice_is_404_the_second_time(api, ids, connection):
    api.sign_in("alice")
    api.delete(f"/api/comments/{ids['comment']}")
    refused(
        api, connection, "DELETE", f"/api/comments/{ids['comment']}", status=404, code="not_found"
    )
