"""Issue #20 "Hardening", the store / Neo4j / security items: each test fails without its fix.

1, 2: concurrent `perfgraph ingest M [--replace]` of one model; 3: the local server's stored password goes
to that server only; 4: the server home's permissions; 5: connection timeout and URI schemes; 6: Neo4j
out-of-memory errors; 17: one named-query parameter validation for both stores; 20: `ingest` / `query` find
the server of `perfgraph neo4j start --home X`; 22: query output says which store answered.

Commands run the installed `perfgraph` entry point in a subprocess, with PERFGRAPH_HOME in a temporary
directory (a server record never lands in the user's home) and no NEO4J_* variables unless a test sets them.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from perfgraph.store import neo4j_server as ns

ROOT = Path(__file__).resolve().parents[1]
PERFGRAPH = [str(Path(sys.executable).parent / "perfgraph")]
MODEL = "synthetic:mlp"  # 12 ops, 4 kernels: small enough to trace four times at once


def _run(args: list[str], perfgraph_home: Path, env: dict[str, str] | None = None,
         timeout: float = 180) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_") and k != "PERFGRAPH_DEBUG"}
    full.update({"PYTHONWARNINGS": "ignore", "PERFGRAPH_HOME": str(perfgraph_home), **(env or {})})
    return subprocess.run(PERFGRAPH + args, capture_output=True, text=True, env=full, timeout=timeout, cwd=ROOT)


def _invoke(args: list[str], perfgraph_home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The same command in-process (click's CliRunner: no interpreter start), as a CompletedProcess."""
    from click.testing import CliRunner

    from perfgraph.cli.main import cli

    full: dict[str, str | None] = {k: None for k in os.environ if k.startswith("NEO4J_")}  # None: unset
    full.update({"PERFGRAPH_HOME": str(perfgraph_home), "PERFGRAPH_DEBUG": None, **(env or {})})
    res = CliRunner().invoke(cli, args, env=full)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return subprocess.CompletedProcess(args, res.exit_code, res.stdout, res.stderr)


def _error_lines(stderr: str) -> list[str]:
    """stderr without progress lines (`[1/1] ingesting x`); never a traceback."""
    assert "Traceback" not in stderr, stderr
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("[")]


def _auth_env(neo4j_conn) -> dict[str, str]:
    env = {"NEO4J_URI": neo4j_conn.uri}
    if neo4j_conn.auth:
        env.update(NEO4J_USER=neo4j_conn.auth[0], NEO4J_PASSWORD=neo4j_conn.auth[1])
    return env


# -- a local server started by perfgraph (items 3, 4, 20) ------------------------------------------------------
@pytest.fixture(scope="module")
def local_server(neo4j_conn, tmp_path_factory):
    """{home, uri, password} of a running server that `perfgraph neo4j start` manages: the session's
    throw-away server when the fixture started one from the local jars, else one started here."""
    if neo4j_conn.how == "local-jars":
        home = Path(neo4j_conn.home).resolve()
        yield {"home": home, "uri": neo4j_conn.uri, "password": ns.read_password(home)}
        return
    home = tmp_path_factory.mktemp("hardening-server")
    started = _run(["neo4j", "start", "--home", str(home), "--bolt-port", "0", "--no-guide", "--heap", "512m",
                    "--page-cache", "64m", "--json", "--show-password"], tmp_path_factory.mktemp("pg"),
                   env={"PERFGRAPH_NEO4J_JAVA_OPTS": "-XX:TieredStopAtLevel=1"}, timeout=300)
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    try:
        yield {"home": home.resolve(), "uri": info["bolt_uri"], "password": info["password"]}
    finally:
        ns.stop(home)


# -- 1, 2: concurrent ingests of one model ---------------------------------------------------------------------
RACER = textwrap.dedent("""
    # `perfgraph ingest MODEL [--replace] --json`, run by four processes at once, twice: plain, then --replace.
    # All four reach the store in the same instant (a file barrier just before the write), and each write
    # transaction is held open one second longer, so their transactions always overlap.
    import sys, time
    from pathlib import Path
    from perfgraph.cli.main import cli
    from perfgraph.store import neo4j_store

    sync, me, model = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    phase = "plain"

    def barrier():
        (sync / f"{phase}-{me}").touch()
        while len(list(sync.glob(f"{phase}-*"))) < 4:
            time.sleep(0.02)

    real_ingest_many, real_stages = neo4j_store.Neo4jStore.ingest_many, neo4j_store._stages_and_paths

    def ingest_many(self, *args, **kwargs):
        barrier()
        return real_ingest_many(self, *args, **kwargs)

    def slow_stages(*args, **kwargs):
        time.sleep(1.0)  # inside the write transaction, after the model's nodes are written
        return real_stages(*args, **kwargs)

    neo4j_store.Neo4jStore.ingest_many, neo4j_store._stages_and_paths = ingest_many, slow_stages
    for phase, extra in (("plain", []), ("replace", ["--replace"])):
        try:
            cli.main(["ingest", model, "--json", *extra], prog_name="perfgraph")
        except SystemExit as exc:
            print(f"=== {phase} exit {exc.code or 0}", flush=True)
            print(f"=== {phase} exit {exc.code or 0}", file=sys.stderr, flush=True)
""")


@pytest.fixture(scope="module")
def concurrent_ingests(neo4j_conn, store, tmp_path_factory):
    """Four processes: `perfgraph ingest synthetic:mlp` at once, then `... --replace` at once.
    Returns ({phase: [(exit code, JSON summary, stderr)]}, the model's graph)."""
    from perfgraph.analysis import analyze_graph

    mg = analyze_graph(MODEL)
    store.delete_model(mg.info.id)
    sync = tmp_path_factory.mktemp("race")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.update(_auth_env(neo4j_conn), PYTHONWARNINGS="ignore", PERFGRAPH_HOME=str(tmp_path_factory.mktemp("pg")))
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(sync), str(k), MODEL], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT) for k in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    phases: dict[str, list] = {"plain": [], "replace": []}
    for out, err in outs:
        out_parts, err_parts = out.split("=== "), err.split("=== ")
        assert len(out_parts) == 3, (out, err)  # two phases ran
        for k, phase in enumerate(("plain", "replace")):
            text, marker = out_parts[k], out_parts[k + 1].splitlines()[0]
            code = int(marker.rsplit(" ", 1)[1])
            summary = json.loads(text[text.index("{"):]) if "{" in text else None
            phases[phase].append((code, summary, err_parts[k]))
    return phases, mg


def _stored(store, model_id: str) -> dict[str, int]:
    return store.run_cypher(
        "MATCH (o:Op {model_id: $id}) WITH count(o) AS ops, count(DISTINCT o.uid) AS uids "
        "OPTIONAL MATCH (s:Subgraph {model_id: $id}) WITH ops, uids, count(s) AS subgraphs "
        "OPTIONAL MATCH (m:Model {id: $id}) WITH ops, uids, subgraphs, count(m) AS models "
        "OPTIONAL MATCH (l:ModelWriteLock) RETURN ops, uids, subgraphs, models, count(l) AS locks", id=model_id)[0]


@pytest.mark.neo4j
def test_concurrent_plain_ingests_store_the_model_once_and_all_exit_0(concurrent_ingests, store):
    phases, mg = concurrent_ingests
    for code, summary, err in phases["plain"]:
        assert code == 0, err
        assert "ConstraintValidationFailed" not in err and summary["failed"] == [], err
    assert sorted(s["ingested"][0]["result"] for _, s, _ in phases["plain"]) == ["created", "exists", "exists",
                                                                                   "exists"]


@pytest.mark.neo4j
def test_concurrent_replace_never_duplicates_ops(concurrent_ingests, store):
    phases, mg = concurrent_ingests
    for code, summary, err in phases["replace"]:
        assert code == 0, err
        assert [r["result"] for r in summary["ingested"]] == ["replaced"], summary
    # synthetic:mlp (depth 4): 4 layers of t + addmm + relu = 12 ops in 4 kernels, each stored once
    assert (len(mg.ops), len(mg.subgraphs)) == (12, 4)
    assert _stored(store, mg.info.id) == {"ops": 12, "uids": 12, "subgraphs": 4, "models": 1, "locks": 0}
    assert store.counts(mg.info.id)["op_edges"] == len(mg.op_edges)


# -- 3: the stored password goes to its own server only ----------------------------------------------------------
class FakeBolt:
    """A Bolt listener on 127.0.0.1 that answers the handshake with version 5.0 (whose HELLO carries the
    credentials) and records every byte it receives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(3)
            try:
                self.received += conn.recv(20)  # magic + four version proposals
                conn.sendall(bytes([0, 0, 0, 5]))
                while chunk := conn.recv(65536):
                    self.received += chunk
            except OSError:
                pass
            finally:
                conn.close()

    def close(self):
        self.sock.close()


@pytest.mark.neo4j
@pytest.mark.parametrize("how", ["--uri", "NEO4J_URI"])
def test_the_local_servers_password_is_never_sent_to_another_uri(local_server, tmp_path, how):
    # The local server is the default one of this PERFGRAPH_HOME, and the last one started.
    pg = tmp_path / "pg"
    pg.mkdir()
    (pg / "neo4j").symlink_to(local_server["home"])
    fake = FakeBolt()
    try:
        uri = f"bolt://127.0.0.1:{fake.port}"
        args, env = (["query", "rank_models", "--uri", uri], {}) if how == "--uri" else \
            (["query", "rank_models"], {"NEO4J_URI": uri})
        proc = _run(args, pg, env=env, timeout=60)
    finally:
        fake.close()
    assert fake.connections >= 1 and len(fake.received) > 20, "the CLI never talked to the fake server"
    leaked = local_server["password"].encode() in bytes(fake.received)
    assert not leaked, "the local server's stored password reached another server"
    assert proc.returncode == 1 and len(_error_lines(proc.stderr)) == 1, proc.stderr
    # Its own URI still gets it: no --password needed for the local server.
    own = _run(["query", "rank_models", "--uri", local_server["uri"], "--json"], pg)
    assert own.returncode == 0, own.stderr


@pytest.mark.neo4j
def test_no_password_sent_says_what_to_pass(local_server, tmp_path):
    """The local server's URI reached as `localhost`: no stored password is sent (it may resolve to another
    listener), and the error says so instead of "refused the credentials"."""
    port = local_server["uri"].rsplit(":", 1)[1]
    proc = _run(["query", "rank_models", "--uri", f"bolt://localhost:{port}"], tmp_path)
    lines = _error_lines(proc.stderr)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "none was sent: pass --password or set NEO4J_PASSWORD" in lines[0] and "--home DIR" in lines[0]


# -- 4: permissions of the server home ----------------------------------------------------------------------------
@pytest.mark.neo4j
def test_server_home_is_private(local_server):
    home = local_server["home"]
    assert stat.S_IMODE((home / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "data" / "dbms" / "auth.ini").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "password").stat().st_mode) == 0o600


# -- 5: connection timeout, URI schemes -----------------------------------------------------------------------------
def test_a_silent_port_fails_within_seconds(tmp_path):
    silent = socket.socket()  # accepts connections (the kernel's backlog) but never answers the handshake
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    uri = f"bolt://127.0.0.1:{silent.getsockname()[1]}"
    try:
        t0 = time.monotonic()
        proc = _run(["query", "rank_models", "--uri", uri, "--password", "not-sent-anywhere"], tmp_path, timeout=40)
        elapsed = time.monotonic() - t0
    finally:
        silent.close()
    lines = _error_lines(proc.stderr)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0] == f"error: cannot reach Neo4j at {uri}: no Bolt answer within 5 s (is it a Neo4j Bolt port? " \
                       "Neo4j's HTTP port 7474 is not)"
    assert elapsed < 20, elapsed


@pytest.mark.parametrize("uri", ["http://127.0.0.1:7474", "https://user:pw@example.org", "127.0.0.1:7687"])
@pytest.mark.parametrize("command", [["query", "rank_models"], ["ingest", MODEL]])
def test_unsupported_schemes_name_the_accepted_ones(tmp_path, uri, command):
    proc = _invoke([*command, "--uri", uri], tmp_path)
    lines = _error_lines(proc.stderr)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: unsupported Neo4j URI")
    assert "bolt, bolt+s, bolt+ssc, neo4j, neo4j+s, neo4j+ssc" in lines[0]
    assert "aiohttp" not in lines[0] and "pw@" not in lines[0]


# -- 6: out of memory -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_memory_server(tmp_path_factory):
    """A throw-away server whose transactions may use 10 MiB (db.memory.transaction.max)."""
    home = tmp_path_factory.mktemp("oom-server")
    info = ns.start(home, bolt_port=0, heap_max="256m", page_cache="64m", wait_s=240,
                    java_opts=("-XX:TieredStopAtLevel=1",), extra_conf={"db.memory.transaction.max": "10m"})
    try:
        yield info
    finally:
        ns.stop(home)


@pytest.mark.neo4j
def test_out_of_memory_is_whole_and_says_how_to_give_more(small_memory_server, tmp_path):
    info = small_memory_server
    # 400 layers: one transaction needs more than 10 MiB
    proc = _run(["ingest", MODEL, "-p", "depth=400", "--uri", info.bolt_uri], tmp_path,
                env={"NEO4J_PASSWORD": info.password}, timeout=240)
    lines = _error_lines(proc.stderr)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith(f"failed {MODEL}: Neo4j at {info.bolt_uri} ran out of memory "
                           "(Neo.TransientError.General.MemoryPoolOutOfMemoryError): The allocation of an extra"), line
    assert "db.memory.transaction.max threshold reached. Give it more" in line  # Neo4j's message, to its end
    assert "perfgraph neo4j start --heap" in line and info.password not in proc.stdout + proc.stderr


# -- 17: one parameter validation for both stores ----------------------------------------------------------------
@pytest.mark.neo4j
@pytest.mark.parametrize("param, expect", [("n=-1", "parameter n must be an integer >= 1, got '-1'"),
                                           ("n=2.5", "parameter n must be an integer >= 1, got '2.5'"),
                                           ("n=0", "parameter n must be an integer >= 1, got '0'")])
def test_both_stores_reject_the_same_parameters(neo4j_conn, store, tmp_path, param, expect):
    from perfgraph.analysis import analyze_graph

    mg = analyze_graph(MODEL)
    store.ingest(mg)
    embedded = _invoke(["query", "top_intensity", "-m", MODEL, "-p", param, "--store", "embedded"], tmp_path)
    neo = _invoke(["query", "top_intensity", "-m", mg.info.id, "-p", param], tmp_path, env=_auth_env(neo4j_conn))
    for proc in (embedded, neo):
        assert proc.returncode == 1 and _error_lines(proc.stderr) == [f"error: {expect}"], proc.stderr


def test_one_validation_function_serves_both_stores(monkeypatch):
    """Both entry points go through `named.validate_params` (a store without it would answer -1)."""
    from perfgraph.queries import named

    seen = []
    real = named.validate_params
    monkeypatch.setattr(named, "validate_params", lambda q, p: seen.append(q.name) or real(q, p))
    for run in (lambda: named.run_embedded("top_intensity", [], "x", n="-1"),
                lambda: named.run_neo4j("top_intensity", object(), "x", n="-1")):
        with pytest.raises(ValueError, match="parameter n must be an integer >= 1"):
            run()
    assert seen == ["top_intensity", "top_intensity"]


# -- 20: ingest / query find the server of `perfgraph neo4j start --home X` ----------------------------------------
@pytest.mark.neo4j
def test_ingest_and_query_find_the_server_started_with_home(local_server, store, tmp_path):
    home = local_server["home"]
    pg = tmp_path / "pg"  # its default home is empty: only --home and the record of the last start lead to X
    started = _invoke(["neo4j", "start", "--home", str(home), "--no-guide", "--json"], pg)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["bolt_uri"] == local_server["uri"]

    mg_id = json.loads(_invoke(["ingest", MODEL, "--home", str(home), "--json"], pg).stdout)["ingested"][0]["id"]
    assert store.has_model(mg_id)
    depth = _invoke(["query", "depth", "-m", mg_id, "--home", str(home), "--json"], pg)
    assert depth.returncode == 0 and json.loads(depth.stdout)[0]["depth"] == 4, depth.stderr

    # Without --home: the server `perfgraph neo4j start` ran last, named on stderr.
    again = _invoke(["ingest", MODEL, "--json"], pg)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["ingested"][0]["result"] == "exists"
    assert f"Neo4j: {local_server['uri']} (the local server of {home})" in again.stderr

    # A home whose server is not running: exactly what to run.
    idle = tmp_path / "idle"
    proc = _invoke(["ingest", MODEL, "--home", str(idle)], pg)
    assert proc.returncode == 1 and _error_lines(proc.stderr) == [
        f"error: no Neo4j server runs for --home {idle}: start it with `perfgraph neo4j start --home {idle}`, "
        "or pass --uri"], proc.stderr
    # Nothing started at all: what to pass.
    none = _invoke(["ingest", MODEL], tmp_path / "empty")
    assert none.returncode == 1 and "pass --uri or set NEO4J_URI" in none.stderr and "--home DIR" in none.stderr


# -- 22: which store answered ------------------------------------------------------------------------------------
@pytest.mark.neo4j
def test_query_output_names_the_store_that_answered(neo4j_conn, store, tmp_path):
    from perfgraph.analysis import analyze_graph

    mg = analyze_graph(MODEL)
    store.ingest(mg)
    env = _auth_env(neo4j_conn)
    table = _invoke(["query", "depth", "-m", mg.info.id], tmp_path, env=env)
    assert table.returncode == 0 and table.stdout.splitlines()[0] == f"depth -- answered by Neo4j at {neo4j_conn.uri}"
    as_json = _invoke(["query", "depth", "-m", mg.info.id, "--json"], tmp_path, env=env)
    assert json.loads(as_json.stdout) == [{"depth": 4, "widest_stage": 0, "width": 1}]  # the shape is unchanged
    assert as_json.stderr.strip() == f"answered by Neo4j at {neo4j_conn.uri}"

    embedded = _invoke(["query", "depth", "-m", MODEL, "--store", "embedded", "--json"], tmp_path)
    assert json.loads(embedded.stdout) == json.loads(as_json.stdout)
    assert embedded.stderr.strip() == "answered by the embedded store (in-process)"
    emb_table = _invoke(["query", "depth", "-m", MODEL, "--store", "embedded", "--csv"], tmp_path)
    assert emb_table.stdout.splitlines()[0] == "depth,widest_stage,width"
    assert emb_table.stderr.strip() == "answered by the embedded store (in-process)"
