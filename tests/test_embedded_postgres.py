"""The embedded server works wherever the checkout lives, even in a very deep folder."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from forum.embedded_postgres import server_url, socket_directory, stop

UNIX_SOCKET_PATH_LIMIT = 107  # sun_path is 108 bytes on Linux, including the final NUL


def test_socket_path_stays_short_for_a_deep_checkout(tmp_path: Path):
    pgdata = tmp_path / ("a-long-folder-name-for-a-checkout-" * 4) / "var" / "postgres"
    assert len(str(pgdata / ".s.PGSQL.5432")) > UNIX_SOCKET_PATH_LIMIT
    pgdata.parent.mkdir(parents=True)
    url = server_url(pgdata)
    try:
        socket = socket_directory(url) / ".s.PGSQL.5432"
        assert len(str(socket)) <= UNIX_SOCKET_PATH_LIMIT
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_setting('data_directory')")) == str(
                pgdata.resolve()
            )
        engine.dispose()
    finally:
        stop(pgdata, delete=True)
    assert not pgdata.exists()
