"""Markdown pieces every forum-bench report uses: a table, the machine it ran on, the
line that says how it was made, and writing the report's two files."""

from __future__ import annotations

import json
from pathlib import Path


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


def made_by(result: dict, note: str = "") -> str:
    """The line that says which command made a report, when, at which scale, how long."""
    made = (
        f"Made by `{result['command']}` on {result['generated_at']} "
        f"({result['scale']['name']} scale, {result['seconds']:.0f} s)."
    )
    return f"{made} {note}" if note else made


def load_lines(data: dict, what: str) -> list[str]:
    """The machine's load average when ``what`` began and ended, if it was recorded."""
    load = data.get("load_average")
    if not load:
        return []
    return [
        f"Load average of the machine (1 min) when {what} began and ended: "
        f"{load[0]:.2f} and {load[1]:.2f}, on {data.get('cores', '?')} cores.",
        "",
    ]


def write_report_files(out: Path, stem: str, result: dict, lines: list[str]) -> list[Path]:
    """``<stem>.json`` (the whole result) and ``<stem>.md`` (``lines``) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    json_file, markdown_file = out / f"{stem}.json", out / f"{stem}.md"
    json_file.write_text(json.dumps(result, indent=2, default=str))
    markdown_file.write_text("\n".join(lines) + "\n")
    return [json_file, markdown_file]
