"""Run a local Neo4j Community 5.26 server from Maven Central jars (no Docker needed).

Layout of a server home (default ``$PERFGRAPH_HOME/neo4j`` or ``~/.perfgraph/neo4j``)::

    conf/neo4j.conf     generated on every start (127.0.0.1 only, https off, usage reports off)
    data/  logs/        database files; logs/neo4j.log, logs/debug.log, logs/console.log
    plugins/            links to the APOC jars found in <lib>/plugins (when fetched)
    run/neo4j.pid       pid of the server JVM (its own process group)
    run/server.json     ports / auth of the running server (for ``status`` and ``stop``)
    password            the ``neo4j`` user's password, mode 0600

The jars are found (and fetched by ``perfgraph neo4j install``) by ``perfgraph.store.neo4j_jars``:
``--lib``/``PERFGRAPH_NEO4J_LIB``, ``<home>/lib``, ``$PERFGRAPH_HOME/neo4j/lib``, a checkout's ``neo4j/lib``.
The server is started as
``java -cp '<home>/plugins/*:<lib>/*' <JVM_FLAGS> org.neo4j.server.CommunityEntryPoint
--home-dir=<home> --config-dir=<home>/conf``. On a fresh home the initial password is set with
``org.neo4j.cli.AdminTool dbms set-initial-password @<argfile>`` (what ``neo4j-admin dbms
set-initial-password`` runs; the password goes through a 0600 argument file, never argv).

The parts live beside this module: ``server_config`` (JVM flags, sizes, neo4j.conf), ``server_home`` (the
home's files), ``server_process`` (the JVMs), ``server_bolt`` (ports, Bolt checks), ``server_logs`` (why a
start failed). No torch import here: this module is used by the CLI and by the test fixture.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from perfgraph.store.neo4j_jars import (  # noqa: F401 - NEO4J_SERIES: importable from here as before
    NEO4J_SERIES,
    Neo4jServerError,
    apoc_jars,
    ensure_jars,
    find_java,
    find_lib,
)
from perfgraph.store.server_bolt import bolt_check, change_password, free_port, is_auth_error, port_free, port_open
from perfgraph.store.server_config import (
    DEFAULT_HEAP_MAX,
    DEFAULT_PAGE_CACHE,
    DEFAULT_USER,
    ENTRY_POINT,
    HOST,
    JVM_FLAGS,
    link_plugins,
    parse_size,
    render_conf,
)
from perfgraph.store.server_home import (
    NEO4J_LOG,
    PASSWORD_FILE,
    STATE_FILE,
    candidate_homes,
    cleanup_state,
    default_home,
    home_dir,
    last_started_home,
    read_pid,
    read_password,
    read_state,
    record_started,
    restrict_permissions,
    write_private,
)
from perfgraph.store.server_logs import log_sizes, log_tail, reason_from_logs
from perfgraph.store.server_process import forget, launch, running_pid, set_initial_password, terminate

__all__ = [
    "Neo4jServerError",
    "ServerInfo",
    "JVM_FLAGS",
    "ENTRY_POINT",
    "default_home",
    "find_lib",
    "ensure_jars",
    "find_java",
    "free_port",
    "start",
    "stop",
    "status",
    "read_password",
    "record_started",
    "last_started_home",
    "running_server",
    "password_for",
]


@dataclass
class ServerInfo:
    home: Path
    pid: int
    bolt_port: int
    http_port: int
    user: str | None
    password: str | None
    auth: bool
    password_file: Path | None
    already_running: bool = False
    apoc: bool = False
    startup_s: float | None = None

    @property
    def bolt_uri(self) -> str:
        return f"bolt://{HOST}:{self.bolt_port}"

    @property
    def browser_url(self) -> str:
        return f"http://{HOST}:{self.http_port}/browser/"

    @property
    def auth_tuple(self) -> tuple[str, str] | None:
        return (self.user, self.password) if self.auth and self.user and self.password else None

    def as_dict(self, show_password: bool = False) -> dict[str, Any]:
        d = asdict(self)
        d["home"] = str(self.home)
        d["password_file"] = str(self.password_file) if self.password_file else None
        d["bolt_uri"] = self.bolt_uri
        d["browser_url"] = self.browser_url
        if not show_password:
            d.pop("password")
        return d


def running_server(home: Path | str | None = None) -> ServerInfo | None:
    """The running server of ``home``; without a home, of the last started home, else of the default home."""
    for h in candidate_homes(home):
        pid = running_pid(h)
        if pid is not None:
            return _info_from_state(h, pid, already_running=True)
    return None


def password_for(uri: str, home: Path | str | None = None) -> str | None:
    """The stored password of the running local server (``running_server``'s homes) whose Bolt address
    ``uri`` is -- bolt:// or neo4j:// on exactly 127.0.0.1 and that server's port -- else None: a stored
    password is never sent to any other server (another host, port, or a ``localhost`` that may resolve
    to an address the server does not listen on)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri)
        port = parts.port or 7687
    except ValueError:
        return None
    if parts.scheme not in ("bolt", "neo4j") or parts.hostname != HOST or parts.username is not None:
        return None
    for h in candidate_homes(home):
        pid = running_pid(h)
        if pid is not None:
            info = _info_from_state(h, pid)
            if info.auth and info.bolt_port == port:
                return info.password
    return None


# --------------------------------------------------------------------------- start / stop


def start(
    home: Path | str | None = None,
    bolt_port: int = 7687,
    http_port: int | None = None,
    password: str | None = None,
    auth: bool = True,
    wait_s: float = 120,
    *,
    fetch: bool = True,
    lib: Path | str | None = None,
    heap_max: str = DEFAULT_HEAP_MAX,
    page_cache: str = DEFAULT_PAGE_CACHE,
    java_opts: Sequence[str] = (),
    extra_conf: dict[str, str] | None = None,
) -> ServerInfo:
    """Start a Neo4j server for ``home`` (idempotent: returns the running one if any).

    ``bolt_port=0`` picks free loopback ports (Bolt, and HTTP unless ``http_port`` is given);
    ``http_port=None`` means 7474, or a free port when ``bolt_port=0``. ``http_port=0`` is a
    free port too. With ``auth`` a fresh home gets ``password`` (generated if None) as the
    initial password of user ``neo4j``; it is stored in ``<home>/password`` (0600). A home that
    was initialised before keeps its password unless a different ``password`` is given, which
    is then set with ``ALTER CURRENT USER``. Waits until Bolt answers ``RETURN 1``.
    ``java_opts`` (and ``$PERFGRAPH_NEO4J_JAVA_OPTS``, split on spaces) are extra JVM options,
    e.g. ``-XX:TieredStopAtLevel=1`` starts faster for throw-away test servers.
    ``lib`` names the jar directory (else see ``neo4j_jars.candidate_dirs``); ``fetch`` fetches missing jars.
    ``extra_conf`` adds settings to the generated neo4j.conf (e.g. ``browser.post_connect_cmd``).
    Sizes are JVM-style (``512m``, ``2g``); the heap starts at ``heap_max`` (see DEFAULT_HEAP_MAX).
    """
    parse_size(heap_max, "heap")
    parse_size(page_cache, "page cache")
    heap_max, page_cache = (str(x).strip().lower() for x in (heap_max, page_cache))
    home = home_dir(home)
    if password is not None and len(password) < 8:
        raise Neo4jServerError("the Neo4j password must be at least 8 characters long")

    pid = running_pid(home)
    if pid is not None:
        return _info_from_state(home, pid, already_running=True)

    java = find_java()
    lib = ensure_jars(fetch=fetch, home=home, lib=lib)
    plugin_jars = apoc_jars(lib)

    if http_port is None:
        http_port = 0 if bolt_port == 0 else 7474
    if bolt_port == 0:
        bolt_port = free_port()
    if http_port == 0:
        http_port = free_port()
        while http_port == bolt_port:
            http_port = free_port()
    if bolt_port == http_port:
        raise Neo4jServerError(f"Bolt and HTTP ports must differ (both {bolt_port})")
    for name, port in (("Bolt", bolt_port), ("HTTP", http_port)):
        if not port_free(port):
            raise Neo4jServerError(
                f"{name} port {HOST}:{port} is already in use (another Neo4j?); "
                "stop it or pick another port (0 = any free port)"
            )

    for sub in ("conf", "data", "logs", "run", "import", "plugins"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    restrict_permissions(home)
    (home / "conf" / "neo4j.conf").write_text(
        render_conf(home, bolt_port, http_port, auth, bool(plugin_jars), heap_max, page_cache, extra_conf)
    )
    link_plugins(home, plugin_jars)

    # Password: set it before the very first start (even with auth off, so that turning auth on
    # later has a known password); afterwards the stored one is what the server has.
    initialised = (home / "data" / "databases" / "system").exists()
    stored = read_password(home)
    change_to: str | None = None
    if not initialised:
        effective = password or stored or secrets.token_urlsafe(18)
        set_initial_password(java, lib, home, effective)
        write_private(home / PASSWORD_FILE, effective + "\n")
    elif auth and password is not None and stored is not None and password != stored:
        effective, change_to = stored, password  # changed with ALTER USER once it runs
    else:
        effective = password or stored  # may be None: home initialised elsewhere
    if auth and effective is None:
        raise Neo4jServerError(
            f"{home} holds a database whose neo4j password is unknown (no {home / PASSWORD_FILE}); "
            "pass the password, or use a fresh --home"
        )
    if effective is not None and not (home / PASSWORD_FILE).exists():
        write_private(home / PASSWORD_FILE, effective + "\n")
    restrict_permissions(home)  # set-initial-password wrote data/dbms/auth.ini under the umask

    t0 = time.monotonic()
    since = log_sizes(home)
    proc = launch(java, lib, home, heap_max, java_opts)
    state = {
        "pid": proc.pid, "bolt_port": bolt_port, "http_port": http_port, "auth": auth,
        "user": DEFAULT_USER, "lib": str(lib), "apoc": bool(plugin_jars),
        "started_at": time.time(),
    }
    (home / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")

    creds = (DEFAULT_USER, effective) if auth and effective else None
    deadline = t0 + wait_s
    last_err = "Bolt port not open yet"
    while True:
        rc = proc.poll()
        if rc is not None:
            cleanup_state(home)
            forget(proc.pid)
            reason, log = reason_from_logs(home, since)
            raise Neo4jServerError(
                f"Neo4j exited during startup (exit code {rc}): {reason} (log: {log})",
                log_tail=log_tail(home, since),
            )
        if port_open(bolt_port):
            err = bolt_check(bolt_port, creds, timeout=3.0)
            if err is None:
                break
            last_err = err
            if auth and is_auth_error(err):
                terminate(home, proc.pid)
                raise Neo4jServerError(
                    f"Neo4j started but refused the password of user neo4j "
                    f"({home / PASSWORD_FILE}); pass the right password or use a fresh --home"
                )
        if time.monotonic() > deadline:
            tail = log_tail(home, since)
            terminate(home, proc.pid)
            raise Neo4jServerError(
                f"Neo4j did not answer on Bolt {HOST}:{bolt_port} within {wait_s:.0f}s "
                f"({last_err}); log: {home / NEO4J_LOG}",
                log_tail=tail,
            )
        time.sleep(0.25)

    if change_to is not None:
        try:
            change_password(bolt_port, effective, change_to)
        except Exception as exc:  # noqa: BLE001
            raise Neo4jServerError(f"Neo4j is running but changing the password failed: {exc}")
        effective = change_to
        write_private(home / PASSWORD_FILE, effective + "\n")

    restrict_permissions(home)  # whatever the server created at its first start
    info = _info_from_state(home, proc.pid)
    info.password = effective if auth else None
    info.startup_s = round(time.monotonic() - t0, 2)
    return info


def _info_from_state(home: Path, pid: int, already_running: bool = False) -> ServerInfo:
    st = read_state(home)
    auth = bool(st.get("auth", True))
    pw_file = home / PASSWORD_FILE
    return ServerInfo(
        home=home,
        pid=pid,
        bolt_port=int(st.get("bolt_port", 7687)),
        http_port=int(st.get("http_port", 7474)),
        user=st.get("user", DEFAULT_USER) if auth else None,
        password=read_password(home) if auth else None,
        auth=auth,
        password_file=pw_file if pw_file.exists() else None,
        already_running=already_running,
        apoc=bool(st.get("apoc", False)),
    )


def stop(home: Path | str | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Stop the server of ``home`` (SIGTERM, then SIGKILL after ``timeout`` s)."""
    home = home_dir(home)
    pid = read_pid(home)
    if pid is None:
        cleanup_state(home)
        return {"home": str(home), "was_running": False, "pid": None}
    t0 = time.monotonic()
    was = terminate(home, pid, timeout=timeout)
    return {"home": str(home), "was_running": was, "pid": pid,
            "stop_s": round(time.monotonic() - t0, 2)}


def status(home: Path | str | None = None, check_bolt: bool = True) -> dict[str, Any]:
    """State of the server of ``home``: running, pid, URIs, auth, and whether Bolt answers."""
    home = home_dir(home)
    pid = running_pid(home)
    out: dict[str, Any] = {"home": str(home), "running": pid is not None, "pid": pid}
    if pid is None:
        out.update(bolt_uri=None, browser_url=None, bolt_ok=False)
        return out
    info = _info_from_state(home, pid)
    out.update(
        bolt_uri=info.bolt_uri, browser_url=info.browser_url, bolt_port=info.bolt_port,
        http_port=info.http_port, auth=info.auth, user=info.user,
        password_file=str(info.password_file) if info.password_file else None,
        apoc=info.apoc,
    )
    if check_bolt:
        err = bolt_check(info.bolt_port, info.auth_tuple, timeout=3.0)
        out["bolt_ok"] = err is None
        if err:
            out["bolt_error"] = err
    return out
