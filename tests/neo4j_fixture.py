"""Session fixture ``neo4j_conn``: a real Neo4j for the integration tests (never skipped).

Use it from ``tests/conftest.py``::

    from neo4j_fixture import neo4j_conn  # noqa: F401

It reaches Neo4j in this order and uses the first that works:

  (a) ``env``            NEO4J_URI (+ NEO4J_USER, default ``neo4j``, and NEO4J_PASSWORD; no
                         password = no auth; NEO4J_BROWSER_URL, default http://<host>:7474/browser/).
                         If NEO4J_URI is set but does not answer, the fixture FAILS (it does
                         not fall back: you asked for that server).
  (b) ``testcontainers`` ``neo4j:5.26-community`` (+ APOC), only if a Docker daemon answers a
                         ping. ``PERFGRAPH_NEO4J_SKIP_DOCKER=1`` skips this step.
  (c) ``local-jars``     a throw-away server from the Maven Central jars (found as ``perfgraph
                         neo4j start`` finds them, e.g. the checkout's ``neo4j/lib``; fetched there
                         if missing) in a pytest tmp dir, on free
                         127.0.0.1 ports, auth on with a generated password; stopped at the end.

If none works the fixture calls ``pytest.fail`` with the reasons (CI must run these tests).

How Neo4j was reached is shown in the pytest output: the fixture writes a ``[neo4j] ...`` line
through the terminal reporter when it first connects, and ``describe()`` returns the same text
for a summary hook, e.g. in conftest.py::

    from neo4j_fixture import describe as _neo4j_describe
    def pytest_terminal_summary(terminalreporter):
        terminalreporter.write_line(_neo4j_describe())

(``pytest_report_header`` runs before any fixture, so it can only show the plan; describe()
says "not used in this session" until the fixture ran.)
"""

from __future__ import annotations

import atexit
import os
import secrets
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT / "src") not in sys.path:  # allow running without an editable install
    sys.path.insert(0, str(_ROOT / "src"))

IMAGE = "neo4j:5.26-community"
_reached: list[str] = []


@dataclass
class Neo4jConn:
    uri: str
    auth: tuple[str, str] | None
    how: str  # "env" | "testcontainers" | "local-jars"
    version: str | None = None
    browser_url: str | None = None
    home: Path | None = None  # local-jars only
    notes: list[str] = field(default_factory=list)  # why earlier routes were not used

    def driver(self, **kwargs):
        """A new ``neo4j.Driver`` for this server (close it, or use it as a context manager)."""
        from neo4j import GraphDatabase

        return GraphDatabase.driver(self.uri, auth=self.auth, **kwargs)

    def describe(self) -> str:
        ver = f"Neo4j {self.version}" if self.version else "Neo4j"
        return f"neo4j: {ver} via {self.how} at {self.uri}"


def describe() -> str:
    """One line saying how Neo4j was reached in this session (for pytest summary hooks)."""
    return _reached[-1] if _reached else "neo4j: not used in this session"


def _server_version(uri: str, auth) -> str:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(uri, auth=auth, connection_timeout=10) as drv:
        with drv.session() as s:
            assert s.run("RETURN 1 AS x").single()["x"] == 1
            rec = s.run("CALL dbms.components() YIELD versions RETURN versions[0] AS v").single()
            return rec["v"]


def _announce(request, conn: Neo4jConn) -> None:
    line = conn.describe()
    _reached.append(line)
    pm = request.config.pluginmanager
    tr = pm.get_plugin("terminalreporter")
    capman = pm.get_plugin("capturemanager")
    if tr is None:
        print(f"[{line}]", file=sys.stderr)
        return
    if capman is not None:  # write past output capturing, so it shows in every run
        with capman.global_and_fixture_disabled():
            tr.ensure_newline()
            tr.write_line(f"[{line}]")
    else:
        tr.ensure_newline()
        tr.write_line(f"[{line}]")


# ------------------------------------------------------------------ (a) environment


def _from_env() -> Neo4jConn | None:
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        return None
    pw = os.environ.get("NEO4J_PASSWORD")
    auth = (os.environ.get("NEO4J_USER", "neo4j"), pw) if pw else None
    try:
        version = _server_version(uri, auth)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"NEO4J_URI={uri} is set but Neo4j does not answer there: "
                    f"{type(exc).__name__}: {exc}", pytrace=False)
    browser = os.environ.get("NEO4J_BROWSER_URL") or _guess_browser_url(uri)
    return Neo4jConn(uri=uri, auth=auth, how="env", version=version, browser_url=browser)


def _guess_browser_url(uri: str) -> str:
    """http://<bolt host>:7474/browser/ (set NEO4J_BROWSER_URL when that is not right)."""
    from urllib.parse import urlsplit

    host = urlsplit(uri).hostname or "127.0.0.1"
    return f"http://{host}:7474/browser/"


# ------------------------------------------------------------------ (b) docker


def _docker_answers() -> tuple[bool, str]:
    if os.environ.get("PERFGRAPH_NEO4J_SKIP_DOCKER") == "1":
        return False, "docker skipped (PERFGRAPH_NEO4J_SKIP_DOCKER=1)"
    sockets = ["/var/run/docker.sock", str(Path.home() / ".docker/run/docker.sock"),
               str(Path.home() / ".colima/default/docker.sock")]
    if not os.environ.get("DOCKER_HOST") and not any(os.path.exists(s) for s in sockets):
        return False, "no Docker daemon (no DOCKER_HOST, no docker.sock)"
    try:
        import docker

        client = docker.from_env(timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001
        return False, f"Docker daemon does not answer ({type(exc).__name__}: {exc})"
    return True, ""


def _from_testcontainers(request, notes: list[str]) -> Neo4jConn | None:
    ok, why = _docker_answers()
    if not ok:
        notes.append(why)
        return None
    container = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                from testcontainers.community.neo4j import Neo4jContainer
            except ImportError:
                from testcontainers.neo4j import Neo4jContainer
        from perfgraph.store.neo4j_server import free_port

        password = secrets.token_urlsafe(16)
        container = Neo4jContainer(IMAGE, password=password, username="neo4j")
        container.with_env("NEO4J_PLUGINS", '["apoc"]')
        container.with_env("NEO4J_dbms_usage__report_enabled", "false")
        container.with_env("NEO4J_server_memory_pagecache_size", "128m")
        container.with_env("NEO4J_server_memory_heap_max__size", "512m")
        local = (os.environ.get("DOCKER_HOST", "unix://").startswith("unix://")
                 and not os.path.exists("/.dockerenv"))
        if local:  # publish on loopback only (docker-py takes (host_ip, host_port) tuples)
            container.ports["7687"] = ("127.0.0.1", free_port())
            container.ports["7474"] = ("127.0.0.1", free_port())
        else:
            container.with_exposed_ports(7474)
        t0 = time.monotonic()
        container.start()
        host = "127.0.0.1" if local else container.get_container_host_ip()
        uri = f"bolt://{host}:{container.get_exposed_port(7687)}"
        auth = ("neo4j", password)
        version = _server_version(uri, auth)
        browser = f"http://{host}:{container.get_exposed_port(7474)}/browser/"
    except Exception as exc:  # noqa: BLE001
        notes.append(f"testcontainers failed ({type(exc).__name__}: {exc})")
        if container is not None:
            try:
                container.stop()
            except Exception:  # noqa: BLE001
                pass
        return None
    request.addfinalizer(container.stop)
    notes.append(f"container started in {time.monotonic() - t0:.1f}s")
    return Neo4jConn(uri=uri, auth=auth, how="testcontainers", version=version,
                     browser_url=browser, notes=notes)


# ------------------------------------------------------------------ (c) local jars


def _from_local_jars(request, tmp_path_factory, notes: list[str]) -> Neo4jConn:
    from perfgraph.store import neo4j_server as ns

    home = tmp_path_factory.mktemp("neo4j-home")
    try:
        info = ns.start(home, bolt_port=0, auth=True, wait_s=240,
                        java_opts=("-XX:TieredStopAtLevel=1",))
    except ns.Neo4jServerError as exc:
        failure = f"could not reach Neo4j: {'; '.join(notes)}; local jars: {exc.detail()}"
    else:
        failure = None
    if failure:
        pytest.fail(failure, pytrace=False)
    atexit.register(ns.stop, home)  # also on Ctrl-C / crashes before the finalizer
    request.addfinalizer(lambda: ns.stop(home))
    version = _server_version(info.bolt_uri, info.auth_tuple)
    notes.append(f"local server started in {info.startup_s}s (home {home})")
    return Neo4jConn(uri=info.bolt_uri, auth=info.auth_tuple, how="local-jars", version=version,
                     browser_url=info.browser_url, home=home, notes=notes)


@pytest.fixture(scope="session")
def neo4j_conn(request, tmp_path_factory) -> Neo4jConn:
    """A reachable Neo4j: env NEO4J_URI, else Docker (testcontainers), else local jars."""
    conn = _from_env()
    if conn is None:
        notes: list[str] = []
        conn = _from_testcontainers(request, notes) or _from_local_jars(
            request, tmp_path_factory, notes
        )
    _announce(request, conn)
    return conn


def cli_env(conn) -> dict:
    """The environment a `perfgraph` command needs to reach the fixture's server."""
    env = {"NEO4J_URI": conn.uri}
    if conn.auth:
        env.update(NEO4J_USER=conn.auth[0], NEO4J_PASSWORD=conn.auth[1])
    return env


def java_only_path(tmp_path, monkeypatch):
    """PATH = a fresh `tmp_path/bin` holding only a link to java (no mvn), JAVA_HOME unset; returns the bin dir
    (tests drop a fake `mvn` there when they want one)."""
    import shutil

    import pytest

    java = shutil.which("java")
    if java is None:
        pytest.fail("java is needed for the Neo4j tests")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "java").symlink_to(os.path.realpath(java))
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    return bindir
