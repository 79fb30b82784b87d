"""``pshell development.ini``: a shell with ``dbsession`` and the models, inside a transaction."""

from __future__ import annotations

from typing import Any

from . import models


def setup(env: dict[str, Any]) -> None:
    request = env["request"]
    # Explicit transaction manager: begin now; ``request.tm.commit()`` saves your changes.
    request.tm.begin()
    env["tm"] = request.tm
    env["dbsession"] = request.dbsession
    env["models"] = models
