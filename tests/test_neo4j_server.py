"""Neo4j reachability (through the ``neo4j_conn`` fixture) and the local server manager."""

from __future__ import annotations

import json
import socket
import stat
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfgraph.cli.neo4j_cmd import neo4j as neo4j_cli
from perfgraph.store import neo4j_server as ns

from neo4j_fixture import java_only_path

FAST_JVM = ("-XX:TieredStopAtLevel=1",)


# --------------------------------------------------------------------------- via the fixture


@pytest.mark.neo4j
def test_fixture_return_1(neo4j_conn):
    with neo4j_conn.driver() as drv:
        records, _, _ = drv.execute_query("RETURN 1 AS x")
    assert records[0]["x"] == 1
    assert neo4j_conn.how in ("env", "testcontainers", "local-jars")


@pytest.mark.neo4j
def test_fixture_server_is_5_26(neo4j_conn):
    with neo4j_conn.driver() as drv:
        records, _, _ = drv.execute_query(
            "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition"
        )
    kernel = next(r for r in records if r["name"] == "Neo4j Kernel")
    assert kernel["versions"][0].startswith("5.26."), kernel["versions"]


# --------------------------------------------------------------------------- helpers


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a LISTEN socket on ``port`` (Linux /proc/net/tcp*)."""
    out = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, st = parts[1], parts[3]
            addr, p = local.rsplit(":", 1)
            if st == "0A" and int(p, 16) == port:
                out.add(addr)
    return out


def _auth_refused(uri: str, auth) -> bool:
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError

    try:
        with GraphDatabase.driver(uri, auth=auth) as drv:
            drv.verify_connectivity()
    except AuthError:
        return True
    return False


# --------------------------------------------------------------------------- the module


@pytest.mark.neo4j
def test_start_status_stop_local_server(tmp_path):
    home = tmp_path / "home"
    try:
        # the heap starts at its maximum (Neo4j's recommendation: a growing heap costs collections)
        info = ns.start(home, bolt_port=0, auth=True, wait_s=240, java_opts=FAST_JVM, heap_max=" 384M",
                        page_cache="96m")
        try:
            assert info.bolt_port != 7687 and info.http_port != 7474
            cmdline = Path(f"/proc/{info.pid}/cmdline")
            if cmdline.exists():  # Linux: the JVM runs with the sizes asked for
                args = cmdline.read_bytes().split(b"\0")
                assert b"-Xmx384m" in args and b"-Xms384m" in args, args[:4]
                # the young-generation sizing (experimental flags: a JVM without the unlock would not start)
                assert b"-XX:G1NewSizePercent=50" in args and b"-XX:+UnlockExperimentalVMOptions" in args
            assert info.bolt_uri == f"bolt://127.0.0.1:{info.bolt_port}"
            assert info.browser_url == f"http://127.0.0.1:{info.http_port}/browser/"
            assert info.user == "neo4j" and info.password and len(info.password) >= 16
            pw_file = home / "password"
            assert info.password_file == pw_file
            assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
            assert pw_file.read_text().strip() == info.password
            assert (home / "run" / "neo4j.pid").read_text().strip() == str(info.pid)

            # generated config: loopback only, no https, no usage reports
            conf = (home / "conf" / "neo4j.conf").read_text()
            assert f"server.bolt.listen_address=127.0.0.1:{info.bolt_port}" in conf
            assert f"server.http.listen_address=127.0.0.1:{info.http_port}" in conf
            assert "server.https.enabled=false" in conf
            assert "dbms.usage_report.enabled=false" in conf
            assert "server.memory.heap.max_size=384m" in conf and "server.memory.heap.initial_size=384m" in conf
            assert "server.memory.pagecache.size=96m" in conf
            for port in (info.bolt_port, info.http_port):
                addrs = _listening_addresses(port)
                if addrs:  # Linux: only 127.0.0.1 (plain, or IPv4-mapped on a Java v6 socket)
                    assert addrs <= {"0100007F", "0000000000000000FFFF00000100007F"}, (port, addrs)

            st = ns.status(home)
            assert st["running"] and st["bolt_ok"] and st["pid"] == info.pid
            assert st["bolt_uri"] == info.bolt_uri and st["browser_url"] == info.browser_url
            assert "password" not in st

            # the right password works, a wrong one is refused
            from neo4j import GraphDatabase

            with GraphDatabase.driver(info.bolt_uri, auth=("neo4j", info.password)) as drv:
                records, _, _ = drv.execute_query("RETURN 1 AS x")
                assert records[0]["x"] == 1
                if info.apoc:
                    records, _, _ = drv.execute_query("RETURN apoc.version() AS v")
                    assert records[0]["v"].startswith("5.26.")
            assert _auth_refused(info.bolt_uri, ("neo4j", "not-the-password"))

            # Neo4j Browser is served
            with urllib.request.urlopen(info.browser_url, timeout=30) as resp:
                assert resp.status == 200
                assert b"Neo4j Browser" in resp.read()

            # a second start of the same home is a no-op returning the running server
            again = ns.start(home, bolt_port=0)
            assert again.already_running and again.pid == info.pid
            assert again.bolt_port == info.bolt_port and again.password == info.password
        finally:
            res = ns.stop(home)
        assert res["was_running"] and res["pid"] == info.pid
        assert ns.status(home) == {
            "home": str(home.resolve()), "running": False, "pid": None,
            "bolt_uri": None, "browser_url": None, "bolt_ok": False,
        }
        assert not (home / "run" / "neo4j.pid").exists()

        # restart with a new password: it is changed on the server and stored
        info2 = ns.start(home, bolt_port=0, password="a-new-password-42", wait_s=240,
                         java_opts=FAST_JVM)
        try:
            assert info2.password == "a-new-password-42"
            assert (home / "password").read_text().strip() == "a-new-password-42"
            assert ns.status(home)["bolt_ok"]
            assert _auth_refused(info2.bolt_uri, ("neo4j", info.password))
        finally:
            ns.stop(home)
    finally:
        ns.stop(home)


@pytest.mark.neo4j
def test_browser_url_answers_200(neo4j_conn):
    assert neo4j_conn.browser_url
    if neo4j_conn.how == "local-jars":
        assert neo4j_conn.browser_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(neo4j_conn.browser_url, timeout=30) as resp:
        assert resp.status == 200


# --------------------------------------------------------------------------- errors (no server)


def test_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ns.Neo4jServerError, match=rf"127\.0\.0\.1:{port} is already in use"):
            ns.start(tmp_path / "h", bolt_port=port, http_port=0)
    assert not (tmp_path / "h" / "run" / "neo4j.pid").exists()


def test_java_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no java here
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ns.Neo4jServerError, match=r"^java not found"):
        ns.start(tmp_path / "h", bolt_port=0)


def test_jars_missing_and_no_maven_is_a_clear_error(tmp_path, monkeypatch):
    java_only_path(tmp_path, monkeypatch)  # java yes, mvn no
    monkeypatch.setenv("PERFGRAPH_NEO4J_LIB", str(tmp_path / "nolib"))
    with pytest.raises(ns.Neo4jServerError, match=r"jars not found in .*Maven \(mvn\) is not on PATH"):
        ns.start(tmp_path / "h", bolt_port=0)
    with pytest.raises(ns.Neo4jServerError, match=r"jars not found in .*fetch-neo4j"):
        ns.ensure_jars(fetch=False)


def test_parse_size():
    assert ns.parse_size("512m") == 512 * 2**20
    assert ns.parse_size("2G") == 2 * 2**30
    assert ns.parse_size(" 65536k ") == 64 * 2**20
    for bad in ("lots", "2", "2gb", "-1g", "0g", "1.5g", "", "2g; rm -rf /"):
        with pytest.raises(ns.Neo4jServerError, match="write a size like 512m or 2g"):
            ns.parse_size(bad, "heap")
    with pytest.raises(ns.Neo4jServerError, match="at least 64m"):
        ns.parse_size("32m", "page cache")


def test_bad_sizes_are_refused_before_anything_starts(tmp_path):
    home = tmp_path / "h"
    with pytest.raises(ns.Neo4jServerError, match=r"bad heap '4 GB'"):
        ns.start(home, bolt_port=0, heap_max="4 GB")
    with pytest.raises(ns.Neo4jServerError, match=r"bad page cache 'big'"):
        ns.start(home, bolt_port=0, page_cache="big")
    assert not home.exists()


def test_short_password_is_refused(tmp_path):
    with pytest.raises(ns.Neo4jServerError, match="at least 8 characters"):
        ns.start(tmp_path / "h", bolt_port=0, password="short")


@pytest.mark.neo4j
def test_server_exiting_early_is_a_clear_error(tmp_path):
    home = tmp_path / "h"
    with pytest.raises(ns.Neo4jServerError, match=r"^Neo4j exited during startup \(exit code 1\)") as ei:
        ns.start(home, bolt_port=0, java_opts=("-XX:+NoSuchJvmFlagForPerfgraphTest",))
    assert "NoSuchJvmFlagForPerfgraphTest" in str(ei.value)
    assert "\n" not in str(ei.value)
    assert ei.value.log_tail
    assert ns.status(home)["running"] is False


# --------------------------------------------------------------------------- CLI


def test_cli_help_has_examples():
    runner = CliRunner()
    for args in ([], ["start"], ["stop"], ["status"]):
        res = runner.invoke(neo4j_cli, [*args, "--help"])
        assert res.exit_code == 0, res.output
        assert "Example" in res.output


def test_cli_status_and_stop_when_not_running(tmp_path):
    runner = CliRunner()
    res = runner.invoke(neo4j_cli, ["status", "--home", str(tmp_path), "--json"])
    assert res.exit_code == 1
    assert json.loads(res.output)["running"] is False
    res = runner.invoke(neo4j_cli, ["stop", "--home", str(tmp_path)])
    assert res.exit_code == 0 and "not running" in res.output


def test_cli_error_is_a_one_line_click_exception(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = CliRunner().invoke(neo4j_cli, ["start", "--home", str(tmp_path), "--bolt-port",
                                             str(port), "--http-port", "0"])
    assert res.exit_code == 1
    err_lines = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(err_lines) == 1 and "already in use" in err_lines[0]


def test_cli_bad_heap_is_one_line_and_starts_nothing(tmp_path):
    home = tmp_path / "h"
    res = CliRunner().invoke(neo4j_cli, ["start", "--home", str(home), "--heap", "2gb"])
    assert res.exit_code == 1
    assert res.output.strip() == "Error: bad --heap '2gb': write a size like 512m or 2g"
    assert not home.exists()
