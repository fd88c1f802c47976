"""Why a server start failed, from the lines its logs gained during that start."""

from __future__ import annotations

import re
from pathlib import Path

from perfgraph.store.server_home import CONSOLE_LOG, NEO4J_LOG


def log_sizes(home: Path) -> dict[str, int]:
    sizes = {}
    for rel in (CONSOLE_LOG, NEO4J_LOG):
        try:
            sizes[rel] = (home / rel).stat().st_size
        except OSError:
            sizes[rel] = 0
    return sizes


def _new_log_lines(home: Path, since: dict[str, int], rel: str) -> list[str]:
    """Lines written to ``home/rel`` after it had ``since[rel]`` bytes (this start only)."""
    try:
        with open(home / rel, "rb") as f:
            f.seek(since.get(rel, 0))
            return f.read().decode(errors="replace").splitlines()
    except OSError:
        return []


def log_tail(home: Path, since: dict[str, int], lines: int = 40) -> str:
    parts = []
    for rel in (CONSOLE_LOG, NEO4J_LOG):
        new = [ln for ln in _new_log_lines(home, since, rel) if ln.strip()]
        if new:
            parts.append(f"[{home / rel}]\n" + "\n".join(new[-lines:]))
    return "\n".join(parts)


def first_message(out: str, rc: int) -> str:
    """First line of a Java tool's output that is a message, not a stack frame."""
    for line in out.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "...", "WARNING")):
            return line[:300]
    return f"exit code {rc}"


def reason_from_logs(home: Path, since: dict[str, int]) -> tuple[str, Path]:
    """The most telling line of this start's logs, and the log it is from.

    neo4j.log: the deepest 'Caused by' of the last error, else the last ERROR line.
    console.log (JVM launcher / uncaught errors): the first error-looking line.
    """
    lines = _new_log_lines(home, since, NEO4J_LOG)
    for pat in (r"^Caused by: ", r"\bERROR\b"):
        hits = [ln.strip() for ln in lines if re.search(pat, ln)]
        if hits:
            return re.sub(r"^Caused by: ", "", hits[-1])[:300], home / NEO4J_LOG
    console = [ln.strip() for ln in _new_log_lines(home, since, CONSOLE_LOG) if ln.strip()]
    for ln in console:
        if re.search(r"error|exception|unrecognized|invalid|could not", ln, re.I):
            return ln[:300], home / CONSOLE_LOG
    if console:
        return console[-1][:300], home / CONSOLE_LOG
    return "no error in the logs", home / NEO4J_LOG
