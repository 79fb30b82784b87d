"""What the benchmark ran on: the machine, the software versions, the settings."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

from sqlalchemy import Engine, text

PACKAGES = (
    "SQLAlchemy",
    "psycopg2-binary",
    "pyramid",
    "zope.sqlalchemy",
    "alembic",
    "APScheduler",
    "celery",
    "matplotlib",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def describe(engine: Engine) -> dict:
    with engine.connect() as connection:
        server = connection.scalar(text("SHOW server_version"))
        settings = {
            name: connection.scalar(text(f"SHOW {name}"))
            for name in ("shared_buffers", "work_mem", "synchronous_commit", "fsync")
        }
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": server,
        "postgresql_settings": settings,
        "packages": versions,
    }
