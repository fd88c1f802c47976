"""A server home's files: where the home is, the pid and state of its server, its stored password, and
the home `perfgraph neo4j start` ran last (layout in `perfgraph.store.neo4j_server`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from perfgraph.home import perfgraph_home


PID_FILE = "run/neo4j.pid"
STATE_FILE = "run/server.json"
PASSWORD_FILE = "password"
_LAST_HOME_FILE = "neo4j-last-home"  # under perfgraph_home(): the home `perfgraph neo4j start` ran last
CONSOLE_LOG = "logs/console.log"
NEO4J_LOG = "logs/neo4j.log"


def default_home() -> Path:
    """``$PERFGRAPH_HOME/neo4j`` if set, else ``~/.perfgraph/neo4j``."""
    return perfgraph_home() / "neo4j"


def home_dir(home: Path | str | None) -> Path:
    return (Path(home).expanduser() if home else default_home()).resolve()


def read_pid(home: Path) -> int | None:
    try:
        return int((home / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def read_state(home: Path) -> dict[str, Any]:
    try:
        return json.loads((home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def read_password(home: Path | str | None = None) -> str | None:
    """The stored password of the ``neo4j`` user for this home (None if none stored)."""
    try:
        text = (home_dir(home) / PASSWORD_FILE).read_text(encoding="utf-8")
    except OSError:
        return None
    text = text[:-1] if text.endswith("\n") else text  # keep spaces: they may be part of it
    return text or None


def record_started(home: Path | str | None) -> None:
    """Remember ``home`` as the one ``perfgraph neo4j start`` ran last, so that ``ingest`` and ``query``
    find its server without ``--home`` (``$PERFGRAPH_HOME/neo4j-last-home``)."""
    path = perfgraph_home() / _LAST_HOME_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{home_dir(home)}\n", encoding="utf-8")


def last_started_home() -> Path | None:
    """The home ``perfgraph neo4j start`` ran last (None if never recorded)."""
    try:
        text = (perfgraph_home() / _LAST_HOME_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text) if text else None


def candidate_homes(home: Path | str | None) -> list[Path]:
    """The given home; without one, the last started home, then the default one."""
    if home:
        return [home_dir(home)]
    last = last_started_home()
    return list(dict.fromkeys(h for h in (last.resolve() if last else None, home_dir(None)) if h is not None))


def restrict_permissions(home: Path) -> None:
    """The store and the server's credentials are readable by their owner only (data/ 0700, auth.ini and
    the password file 0600), whatever the umask, also in homes made before this was enforced."""
    for path, mode in ((home / "data", 0o700), (home / "data" / "dbms" / "auth.ini", 0o600),
                       (home / PASSWORD_FILE, 0o600)):
        if path.exists():
            os.chmod(path, mode)


def cleanup_state(home: Path) -> None:
    for rel in (PID_FILE, STATE_FILE):
        (home / rel).unlink(missing_ok=True)
