"""The server's JVM processes: launch it, tell whether a pid is still this home's server, stop it, and run
Neo4j's admin tool for the initial password (argument file 0600, never argv)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

from perfgraph.store.neo4j_jars import Neo4jServerError
from perfgraph.store.server_config import ADMIN_TOOL, ENTRY_POINT, JVM_FLAGS, classpath
from perfgraph.store.server_home import CONSOLE_LOG, PID_FILE, cleanup_state, read_pid, write_private
from perfgraph.store.server_logs import first_message

# Popen objects of servers started by this process, so that we can reap them (a dead child
# that is never waited for stays a zombie and would look alive to os.kill(pid, 0)).
_CHILDREN: dict[int, subprocess.Popen] = {}


def is_our_server(pid: int, home: Path) -> bool:
    """Is ``pid`` alive and (where /proc exists) a Neo4j JVM for this home?"""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process re-using the pid
    proc = Path(f"/proc/{pid}")
    if proc.exists():
        try:
            stat = (proc / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return False
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        args = [c.decode(errors="replace") for c in cmd]
        return ENTRY_POINT in args and f"--home-dir={home}" in args
    return True


def running_pid(home: Path) -> int | None:
    pid = read_pid(home)
    return pid if pid and is_our_server(pid, home) else None


def launch(java: str, lib: Path, home: Path, heap_max: str, java_opts: Sequence[str] = ()) -> subprocess.Popen:
    """Start the server JVM of ``home`` in its own process group, its output appended to logs/console.log,
    and record its pid (run/neo4j.pid). ``$PERFGRAPH_NEO4J_JAVA_OPTS`` (split on spaces) adds JVM options."""
    extra = os.environ.get("PERFGRAPH_NEO4J_JAVA_OPTS", "").split()
    cmd = [
        java, f"-Xms{heap_max}", f"-Xmx{heap_max}", *JVM_FLAGS, *java_opts, *extra,
        "-cp", classpath(home, lib), ENTRY_POINT,
        f"--home-dir={home}", f"--config-dir={home / 'conf'}",
    ]
    env = dict(os.environ, NEO4J_HOME=str(home), NEO4J_CONF=str(home / "conf"))
    env.pop("JAVA_TOOL_OPTIONS", None)
    with open(home / CONSOLE_LOG, "ab") as console:
        console.write(f"\n=== perfgraph start {time.strftime('%Y-%m-%d %H:%M:%S')} ===\n".encode())
        console.flush()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
            cwd=home, env=env, start_new_session=True, close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    (home / PID_FILE).write_text(f"{proc.pid}\n")
    return proc


def forget(pid: int) -> None:
    """Drop a server this process started that has exited (its Popen already reaped it)."""
    _CHILDREN.pop(pid, None)


def set_initial_password(java: str, lib: Path, home: Path, password: str) -> None:
    argfile = home / "run" / "initial-password.args"
    quoted = '"' + password.replace("\\", "\\\\").replace('"', '\\"') + '"'
    write_private(argfile, "--\n" + quoted + "\n")  # "--": the password may start with "-"
    env = dict(os.environ, NEO4J_HOME=str(home), NEO4J_CONF=str(home / "conf"))
    env.pop("JAVA_TOOL_OPTIONS", None)
    try:
        proc = subprocess.run(
            [java, "-Xmx128m", "-XX:+UseSerialGC", "-Dfile.encoding=UTF-8",
             "-cp", str(lib / "*"), ADMIN_TOOL, "dbms", "set-initial-password", f"@{argfile}"],
            capture_output=True, text=True, env=env, cwd=home, timeout=180,
        )
    finally:
        argfile.unlink(missing_ok=True)
    if proc.returncode != 0:
        out = "\n".join(x for x in (proc.stdout.strip(), proc.stderr.strip()) if x)
        raise Neo4jServerError(
            f"setting the initial Neo4j password failed: {first_message(out, proc.returncode)}",
            log_tail=out,
        )


def terminate(home: Path, pid: int, timeout: float = 60.0) -> bool:
    """SIGTERM the server's process group, SIGKILL after ``timeout``. True if it was running."""
    if not is_our_server(pid, home):
        _CHILDREN.pop(pid, None)
        cleanup_state(home)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while is_our_server(pid, home) and time.monotonic() < deadline:
        time.sleep(0.2)
    if is_our_server(pid, home):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        end = time.monotonic() + 10
        while is_our_server(pid, home) and time.monotonic() < end:
            time.sleep(0.1)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    cleanup_state(home)
    return True
