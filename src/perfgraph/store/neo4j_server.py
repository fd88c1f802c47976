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

No torch import here: this module is used by the CLI and by the test fixture.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from perfgraph.home import perfgraph_home
from perfgraph.store.neo4j_jars import (
    NEO4J_SERIES,
    Neo4jServerError,
    apoc_jars,
    ensure_jars,
    find_java,
    find_lib,
)

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

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
DEFAULT_USER = "neo4j"
HOST = "127.0.0.1"  # never bind or connect anywhere else

# The flags Neo4j 5's own launcher passes (server.jvm.additional defaults of the 5.26
# distribution), minus the ones that only help big production heaps (AlwaysPreTouch...), plus the young
# generation sizing below.
JVM_FLAGS: tuple[str, ...] = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    # Not Neo4j's defaults: a young generation of at least half the heap. Ingest transactions allocate
    # their state in bursts that die at commit; with G1's default young sizing (5-60 %) too much of it
    # survived a young collection and was copied. Zoo ingest, two servers side by side, 10 alternating
    # rounds, three runs: median 41.7 k -> 52.1 k elements/s (9 of 10 rounds faster), 46.7 k -> 55.0 k
    # and 44.6 k -> 50.9 k (heap 2g from the start). Experimental flags: need the unlock just above.
    "-XX:G1NewSizePercent=50",
    "-XX:G1MaxNewSizePercent=75",
    "-XX:+DisableExplicitGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-Dlog4j2.disable.jmx=true",
    "-Dlog4j.layout.jsonTemplate.maxStringLength=32768",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
)

# Memory. The heap is what bulk ingest needs: on the 2-core reference machine the classification zoo
# (183 k nodes + relationships) ingested at about 30 k elements/s with a 512 MB heap and 40-44 k/s with 2 GB,
# the difference being garbage collection; a transaction's memory is also capped at 70 % of the heap.
# The heap starts at its maximum, as Neo4j's operations manual recommends (a growing heap costs collections):
# the zoo, two servers side by side, 16 alternating rounds, twice: median 53.6 k -> 64.0 k and 58.4 k -> 61.1 k
# elements/s after warm-up (21 of 32 rounds faster) with 2g from the start against 512m growing to 2g.
# Linux backs the pages only as the heap touches them. The page cache holds the store files (the zoo: ~0.1 GB).
DEFAULT_HEAP_MAX = "2g"
DEFAULT_PAGE_CACHE = "512m"
_SIZE = re.compile(r"([1-9][0-9]*)([kmg])", re.IGNORECASE)


def parse_size(text: str, what: str = "size") -> int:
    """Bytes in a JVM-style size (``512m``, ``2g``, ``65536k``); Neo4jServerError on anything else."""
    m = _SIZE.fullmatch(str(text).strip())
    if m is None:
        raise Neo4jServerError(f"bad {what} {text!r}: write a size like 512m or 2g")
    n = int(m.group(1)) << {"k": 10, "m": 20, "g": 30}[m.group(2).lower()]
    if n < 64 << 20:
        raise Neo4jServerError(f"{what} {text!r} is too small for Neo4j: give it at least 64m")
    return n


_PID_FILE = "run/neo4j.pid"
_STATE_FILE = "run/server.json"
_PASSWORD_FILE = "password"
_LAST_HOME_FILE = "neo4j-last-home"  # under perfgraph_home(): the home `perfgraph neo4j start` ran last
_CONSOLE_LOG = "logs/console.log"
_NEO4J_LOG = "logs/neo4j.log"

# Popen objects of servers started by this process, so that we can reap them (a dead child
# that is never waited for stays a zombie and would look alive to os.kill(pid, 0)).
_CHILDREN: dict[int, subprocess.Popen] = {}


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


# --------------------------------------------------------------------------- locations


def default_home() -> Path:
    """``$PERFGRAPH_HOME/neo4j`` if set, else ``~/.perfgraph/neo4j``."""
    return perfgraph_home() / "neo4j"


def _home(home: Path | str | None) -> Path:
    return (Path(home).expanduser() if home else default_home()).resolve()


# --------------------------------------------------------------------------- ports


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- process state


def _read_pid(home: Path) -> int | None:
    try:
        return int((home / _PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _read_state(home: Path) -> dict[str, Any]:
    try:
        return json.loads((home / _STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _is_our_server(pid: int, home: Path) -> bool:
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


def _running_pid(home: Path) -> int | None:
    pid = _read_pid(home)
    return pid if pid and _is_our_server(pid, home) else None


def _write_private(path: Path, text: str) -> None:
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
        text = (_home(home) / _PASSWORD_FILE).read_text(encoding="utf-8")
    except OSError:
        return None
    text = text[:-1] if text.endswith("\n") else text  # keep spaces: they may be part of it
    return text or None


def record_started(home: Path | str | None) -> None:
    """Remember ``home`` as the one ``perfgraph neo4j start`` ran last, so that ``ingest`` and ``query``
    find its server without ``--home`` (``$PERFGRAPH_HOME/neo4j-last-home``)."""
    path = perfgraph_home() / _LAST_HOME_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{_home(home)}\n", encoding="utf-8")


def last_started_home() -> Path | None:
    """The home ``perfgraph neo4j start`` ran last (None if never recorded)."""
    try:
        text = (perfgraph_home() / _LAST_HOME_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text) if text else None


def _candidate_homes(home: Path | str | None) -> list[Path]:
    """The given home; without one, the last started home, then the default one."""
    if home:
        return [_home(home)]
    last = last_started_home()
    return list(dict.fromkeys(h for h in (last.resolve() if last else None, _home(None)) if h is not None))


def running_server(home: Path | str | None = None) -> ServerInfo | None:
    """The running server of ``home``; without a home, of the last started home, else of the default home."""
    for h in _candidate_homes(home):
        pid = _running_pid(h)
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
    for h in _candidate_homes(home):
        pid = _running_pid(h)
        if pid is not None:
            info = _info_from_state(h, pid)
            if info.auth and info.bolt_port == port:
                return info.password
    return None


def _restrict_permissions(home: Path) -> None:
    """The store and the server's credentials are readable by their owner only (data/ 0700, auth.ini and
    the password file 0600), whatever the umask, also in homes made before this was enforced."""
    for path, mode in ((home / "data", 0o700), (home / "data" / "dbms" / "auth.ini", 0o600),
                       (home / _PASSWORD_FILE, 0o600)):
        if path.exists():
            os.chmod(path, mode)


def _log_sizes(home: Path) -> dict[str, int]:
    sizes = {}
    for rel in (_CONSOLE_LOG, _NEO4J_LOG):
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


def _log_tail(home: Path, since: dict[str, int], lines: int = 40) -> str:
    parts = []
    for rel in (_CONSOLE_LOG, _NEO4J_LOG):
        new = [ln for ln in _new_log_lines(home, since, rel) if ln.strip()]
        if new:
            parts.append(f"[{home / rel}]\n" + "\n".join(new[-lines:]))
    return "\n".join(parts)


def _first_message(out: str, rc: int) -> str:
    """First line of a Java tool's output that is a message, not a stack frame."""
    for line in out.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "...", "WARNING")):
            return line[:300]
    return f"exit code {rc}"


def _reason_from_logs(home: Path, since: dict[str, int]) -> tuple[str, Path]:
    """The most telling line of this start's logs, and the log it is from.

    neo4j.log: the deepest 'Caused by' of the last error, else the last ERROR line.
    console.log (JVM launcher / uncaught errors): the first error-looking line.
    """
    lines = _new_log_lines(home, since, _NEO4J_LOG)
    for pat in (r"^Caused by: ", r"\bERROR\b"):
        hits = [ln.strip() for ln in lines if re.search(pat, ln)]
        if hits:
            return re.sub(r"^Caused by: ", "", hits[-1])[:300], home / _NEO4J_LOG
    console = [ln.strip() for ln in _new_log_lines(home, since, _CONSOLE_LOG) if ln.strip()]
    for ln in console:
        if re.search(r"error|exception|unrecognized|invalid|could not", ln, re.I):
            return ln[:300], home / _CONSOLE_LOG
    if console:
        return console[-1][:300], home / _CONSOLE_LOG
    return "no error in the logs", home / _NEO4J_LOG


# --------------------------------------------------------------------------- config


def _render_conf(
    home: Path, bolt_port: int, http_port: int, auth: bool, apoc: bool, heap: str, page_cache: str,
    extra: dict[str, str] | None = None,
) -> str:
    lines = [
        "# Generated by perfgraph (perfgraph.store.neo4j_server) on every start; edits are lost.",
        f"server.directories.data={home / 'data'}",
        f"server.directories.logs={home / 'logs'}",
        f"server.directories.run={home / 'run'}",
        f"server.directories.import={home / 'import'}",
        f"server.directories.plugins={home / 'plugins'}",
        "",
        "# loopback only",
        f"server.default_listen_address={HOST}",
        f"server.default_advertised_address={HOST}",
        "server.bolt.enabled=true",
        f"server.bolt.listen_address={HOST}:{bolt_port}",
        f"server.bolt.advertised_address={HOST}:{bolt_port}",
        "server.http.enabled=true",
        f"server.http.listen_address={HOST}:{http_port}",
        f"server.http.advertised_address={HOST}:{http_port}",
        "server.https.enabled=false",
        "",
        "dbms.usage_report.enabled=false",
        "client.allow_telemetry=false",
        f"dbms.security.auth_enabled={'true' if auth else 'false'}",
        "",
        "# small footprint (the JVM heap itself is set with -Xms/-Xmx on the java command line)",
        f"server.memory.heap.initial_size={heap}",
        f"server.memory.heap.max_size={heap}",
        f"server.memory.pagecache.size={page_cache}",
        "db.tx_log.rotation.retention_policy=100M size",
        "",
        "# stop in ~1s instead of ~11s (Bolt's event loops idle 5s each before shutting down)",
        "internal.dbms.bolt.netty_server_shutdown_quiet_period=0",
    ]
    if apoc:
        lines += ["", "# APOC core", "dbms.security.procedures.unrestricted=apoc.*"]
    if extra:
        lines += ["", "# extra settings from the caller"] + [f"{k}={v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _link_plugins(home: Path, jars: list[Path]) -> None:
    plugins = home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    for old in plugins.glob("apoc-*.jar"):
        old.unlink()
    for jar in jars:
        dst = plugins / jar.name
        try:
            dst.symlink_to(jar)
        except OSError:
            shutil.copy2(jar, dst)


def _classpath(home: Path, lib: Path) -> str:
    return os.pathsep.join([str(home / "plugins" / "*"), str(lib / "*")])


def _set_initial_password(java: str, lib: Path, home: Path, password: str) -> None:
    argfile = home / "run" / "initial-password.args"
    quoted = '"' + password.replace("\\", "\\\\").replace('"', '\\"') + '"'
    _write_private(argfile, "--\n" + quoted + "\n")  # "--": the password may start with "-"
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
            f"setting the initial Neo4j password failed: {_first_message(out, proc.returncode)}",
            log_tail=out,
        )


# --------------------------------------------------------------------------- bolt check


def _bolt_check(port: int, auth: tuple[str, str] | None, timeout: float = 5.0) -> str | None:
    """None if ``RETURN 1`` works over Bolt, else the error text."""
    from neo4j import GraphDatabase  # lazy: keeps `import perfgraph...` cheap

    try:
        with GraphDatabase.driver(
            f"bolt://{HOST}:{port}", auth=auth, connection_timeout=timeout,
            connection_acquisition_timeout=timeout, max_connection_pool_size=1,
        ) as driver:
            with driver.session() as session:
                value = session.run("RETURN 1 AS x").single()["x"]
        return None if value == 1 else f"unexpected RETURN 1 result {value!r}"
    except Exception as exc:  # noqa: BLE001 - any failure is "not answering"
        return f"{type(exc).__name__}: {exc}"


def _is_auth_error(msg: str) -> bool:
    return "AuthError" in msg or "Unauthorized" in msg or "authentication failure" in msg


def _change_password(port: int, old: str, new: str) -> None:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(f"bolt://{HOST}:{port}", auth=(DEFAULT_USER, old)) as driver:
        with driver.session(database="system") as session:
            session.run(
                "ALTER CURRENT USER SET PASSWORD FROM $old TO $new", old=old, new=new
            ).consume()


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
    e.g. ``-XX:TieredStopAtLevel=1`` starts ~30% faster for throw-away test servers.
    ``lib`` names the jar directory (else see ``neo4j_jars.candidate_dirs``); ``fetch`` fetches missing jars.
    ``extra_conf`` adds settings to the generated neo4j.conf (e.g. ``browser.post_connect_cmd``).
    Sizes are JVM-style (``512m``, ``2g``); the heap starts at ``heap_max`` (see DEFAULT_HEAP_MAX).
    """
    parse_size(heap_max, "heap")
    parse_size(page_cache, "page cache")
    heap_max, page_cache = (str(x).strip().lower() for x in (heap_max, page_cache))
    home = _home(home)
    if password is not None and len(password) < 8:
        raise Neo4jServerError("the Neo4j password must be at least 8 characters long")

    pid = _running_pid(home)
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
    _restrict_permissions(home)
    (home / "conf" / "neo4j.conf").write_text(
        _render_conf(home, bolt_port, http_port, auth, bool(plugin_jars), heap_max, page_cache, extra_conf)
    )
    _link_plugins(home, plugin_jars)

    # Password: set it before the very first start (even with auth off, so that turning auth on
    # later has a known password); afterwards the stored one is what the server has.
    initialised = (home / "data" / "databases" / "system").exists()
    stored = read_password(home)
    change_to: str | None = None
    if not initialised:
        effective = password or stored or secrets.token_urlsafe(18)
        _set_initial_password(java, lib, home, effective)
        _write_private(home / _PASSWORD_FILE, effective + "\n")
    elif auth and password is not None and stored is not None and password != stored:
        effective, change_to = stored, password  # changed with ALTER USER once it runs
    else:
        effective = password or stored  # may be None: home initialised elsewhere
    if auth and effective is None:
        raise Neo4jServerError(
            f"{home} holds a database whose neo4j password is unknown (no {home / _PASSWORD_FILE}); "
            "pass the password, or use a fresh --home"
        )
    if effective is not None and not (home / _PASSWORD_FILE).exists():
        _write_private(home / _PASSWORD_FILE, effective + "\n")
    _restrict_permissions(home)  # set-initial-password wrote data/dbms/auth.ini under the umask

    extra = os.environ.get("PERFGRAPH_NEO4J_JAVA_OPTS", "").split()
    cmd = [
        java, f"-Xms{heap_max}", f"-Xmx{heap_max}", *JVM_FLAGS, *java_opts, *extra,
        "-cp", _classpath(home, lib), ENTRY_POINT,
        f"--home-dir={home}", f"--config-dir={home / 'conf'}",
    ]
    env = dict(os.environ, NEO4J_HOME=str(home), NEO4J_CONF=str(home / "conf"))
    env.pop("JAVA_TOOL_OPTIONS", None)
    t0 = time.monotonic()
    since = _log_sizes(home)
    with open(home / _CONSOLE_LOG, "ab") as console:
        console.write(f"\n=== perfgraph start {time.strftime('%Y-%m-%d %H:%M:%S')} ===\n".encode())
        console.flush()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
            cwd=home, env=env, start_new_session=True, close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    (home / _PID_FILE).write_text(f"{proc.pid}\n")
    state = {
        "pid": proc.pid, "bolt_port": bolt_port, "http_port": http_port, "auth": auth,
        "user": DEFAULT_USER, "lib": str(lib), "apoc": bool(plugin_jars),
        "started_at": time.time(),
    }
    (home / _STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")

    creds = (DEFAULT_USER, effective) if auth and effective else None
    deadline = t0 + wait_s
    last_err = "Bolt port not open yet"
    while True:
        rc = proc.poll()
        if rc is not None:
            _cleanup_state(home)
            _CHILDREN.pop(proc.pid, None)
            reason, log = _reason_from_logs(home, since)
            raise Neo4jServerError(
                f"Neo4j exited during startup (exit code {rc}): {reason} (log: {log})",
                log_tail=_log_tail(home, since),
            )
        if _port_open(bolt_port):
            err = _bolt_check(bolt_port, creds, timeout=3.0)
            if err is None:
                break
            last_err = err
            if auth and _is_auth_error(err):
                _terminate(home, proc.pid)
                raise Neo4jServerError(
                    f"Neo4j started but refused the password of user neo4j "
                    f"({home / _PASSWORD_FILE}); pass the right password or use a fresh --home"
                )
        if time.monotonic() > deadline:
            tail = _log_tail(home, since)
            _terminate(home, proc.pid)
            raise Neo4jServerError(
                f"Neo4j did not answer on Bolt {HOST}:{bolt_port} within {wait_s:.0f}s "
                f"({last_err}); log: {home / _NEO4J_LOG}",
                log_tail=tail,
            )
        time.sleep(0.25)

    if change_to is not None:
        try:
            _change_password(bolt_port, effective, change_to)
        except Exception as exc:  # noqa: BLE001
            raise Neo4jServerError(f"Neo4j is running but changing the password failed: {exc}")
        effective = change_to
        _write_private(home / _PASSWORD_FILE, effective + "\n")

    _restrict_permissions(home)  # whatever the server created at its first start
    info = _info_from_state(home, proc.pid)
    info.password = effective if auth else None
    info.startup_s = round(time.monotonic() - t0, 2)
    return info


def _info_from_state(home: Path, pid: int, already_running: bool = False) -> ServerInfo:
    st = _read_state(home)
    auth = bool(st.get("auth", True))
    pw_file = home / _PASSWORD_FILE
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


def _cleanup_state(home: Path) -> None:
    for rel in (_PID_FILE, _STATE_FILE):
        (home / rel).unlink(missing_ok=True)


def _terminate(home: Path, pid: int, timeout: float = 60.0) -> bool:
    """SIGTERM the server's process group, SIGKILL after ``timeout``. True if it was running."""
    if not _is_our_server(pid, home):
        _CHILDREN.pop(pid, None)
        _cleanup_state(home)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while _is_our_server(pid, home) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _is_our_server(pid, home):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        end = time.monotonic() + 10
        while _is_our_server(pid, home) and time.monotonic() < end:
            time.sleep(0.1)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    _cleanup_state(home)
    return True


def stop(home: Path | str | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Stop the server of ``home`` (SIGTERM, then SIGKILL after ``timeout`` s)."""
    home = _home(home)
    pid = _read_pid(home)
    if pid is None:
        _cleanup_state(home)
        return {"home": str(home), "was_running": False, "pid": None}
    t0 = time.monotonic()
    was = _terminate(home, pid, timeout=timeout)
    return {"home": str(home), "was_running": was, "pid": pid,
            "stop_s": round(time.monotonic() - t0, 2)}


def status(home: Path | str | None = None, check_bolt: bool = True) -> dict[str, Any]:
    """State of the server of ``home``: running, pid, URIs, auth, and whether Bolt answers."""
    home = _home(home)
    pid = _running_pid(home)
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
        err = _bolt_check(info.bolt_port, info.auth_tuple, timeout=3.0)
        out["bolt_ok"] = err is None
        if err:
            out["bolt_error"] = err
    return out
