"""Markdown pieces both forum-bench reports use: a table, and the machine it ran on."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table, then a blank line."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def machine_section(result: dict) -> list[str]:
    """ "Machine, versions and settings": what a reader needs to compare two runs."""
    machine = result["machine"]
    settings = ", ".join(f"{k}={v}" for k, v in machine["postgresql_settings"].items())
    return [
        "## Machine, versions and settings",
        "",
        *table(
            ["what", "value"],
            [
                ["CPU", f"{machine['cpu']} ({machine['cores']} cores)"],
                ["memory", f"{machine['memory_gib']} GiB"],
                ["system", machine["os"]],
                ["Python", machine["python"]],
                ["PostgreSQL", f"{machine['postgresql']}, {settings}"],
                ["packages", ", ".join(f"{k} {v}" for k, v in machine["packages"].items())],
                ["scale", ", ".join(f"{k}={v}" for k, v in result["scale"].items())],
            ],
        ),
    ]
