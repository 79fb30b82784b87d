"""Another port without editing the ini file: FORUM_PORT, or pserve's http_port."""

from __future__ import annotations

import pytest

from forum.server import port_override, with_port


def test_no_override_keeps_the_ini_address():
    assert port_override({}, {}) is None


def test_the_environment_wins_over_pserves_variable():
    assert port_override({"http_port": "7000"}, {"FORUM_PORT": "8080"}) == "8080"
    assert port_override({"http_port": "7000"}, {}) == "7000"


@pytest.mark.parametrize("bad", ["http", "0", "70000", "-1", "80 80"])
def test_a_bad_port_stops_start_up_in_one_line(bad, capsys):
    with pytest.raises(SystemExit) as raised:
        port_override({}, {"FORUM_PORT": bad})
    assert raised.value.code == 2
    assert capsys.readouterr().err == (
        f"forum: FORUM_PORT = {bad!r} is not a port number (1 to 65535)\n"
    )


def test_only_the_port_changes():
    assert with_port("127.0.0.1:6543", "8080") == "127.0.0.1:8080"
    assert with_port("127.0.0.1:6543 [::1]:6543", "8080") == "127.0.0.1:8080 [::1]:8080"
