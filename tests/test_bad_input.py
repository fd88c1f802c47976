"""Bad input, through the real CLI: every case ends in ONE clear line (`error: ...`), a non-zero exit, no
traceback, and never a password in the output.

Model and chip errors run in-process (click's CliRunner, fast); the Neo4j ones run the `perfgraph` entry
point in a subprocess, so the driver's own logging would show if it leaked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfgraph.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
PERFGRAPH = [str(Path(sys.executable).parent / "perfgraph")]  # the installed entry point
SECRET = "S3cret-Never-Printed-42"


def _one_error_line(stderr: str, *, starts: str = "error: ") -> str:
    """The single error line of a failed command (progress lines such as `[1/1] ingesting x` aside)."""
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("[")]
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    assert lines[0].startswith(starts), lines[0]
    return lines[0]


def _cli(args: list[str], env: dict[str, str] | None = None):
    res = CliRunner().invoke(cli, args, env=env)
    assert res.exit_code != 0, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)  # handled, not crashed
    assert "Traceback" not in res.output
    return res, _one_error_line(res.stderr)


def _run(args: list[str], env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    for var in ("NEO4J_URI", "NEO4J_PASSWORD", "NEO4J_USER", "PERFGRAPH_DEBUG"):
        if env is None or var not in env:
            full_env.pop(var, None)
    return subprocess.run(PERFGRAPH + args, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT)


# -- models --------------------------------------------------------------------------------------------------
def test_unknown_model():
    res, line = _cli(["analyze", "no_such_net"])
    assert res.exit_code == 1 and "unknown model 'no_such_net'" in line


UNTRACEABLE = textwrap.dedent("""
    import torch

    class Refuses(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)

        def forward(self, x):
            raise RuntimeError("this model cannot run\\nsecond line of the error")

    def make():
        return Refuses()
""")


def test_untraceable_model(tmp_path):
    (tmp_path / "refuses.py").write_text(UNTRACEABLE)
    res, line = _cli(["analyze", f"{tmp_path / 'refuses.py'}:make", "--input-shape", "1,4"])
    assert res.exit_code == 1 and "cannot trace" in line and "this model cannot run" in line
    assert "second line" not in res.output


@pytest.mark.parametrize("shape, expect", [
    ("1,3,abc", "bad input shape '1,3,abc'"),
    ("1,3,0,224", "every dimension must be a positive integer"),
    ("1,3,-5,224", "every dimension must be a positive integer"),
    ("1,5,224,224", "cannot trace resnet18"),  # a shape the model cannot take: 5 channels into a 3-channel conv
])
def test_bad_input_shape(shape, expect):
    res, line = _cli(["analyze", "resnet18", "--input-shape", shape])
    assert res.exit_code == 1 and expect in line


@pytest.mark.parametrize("command", [["analyze", "resnet18"], ["report", "resnet18"], ["export", "resnet18"],
                                     ["ingest", "resnet18"]])
@pytest.mark.parametrize("batch", ["0", "-3"])
def test_zero_or_negative_batch(command, batch):
    res, line = _cli([*command, "--batch", batch])
    assert res.exit_code == 2 and "--batch" in line and batch in line and "--help" in line


def test_zero_batch_in_the_python_api():
    import perfgraph
    from perfgraph.ingest.model_source import ModelSourceError

    with pytest.raises(ModelSourceError, match="batch must be a positive integer"):
        perfgraph.analyze("resnet18", batch=0)


# -- chips -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["report", "resnet18", "--hardware", "h100-sxm,no-such-chip"],
                                     ["analyze", "resnet18", "--hardware", "no-such-chip"]])
def test_unknown_chip(command):
    res, line = _cli(command)
    assert res.exit_code == 1 and "unknown hardware 'no-such-chip'" in line


@pytest.mark.parametrize("text, expect", [
    ("id: broken\nname: [unclosed\n  kind: GPU\n", "malformed YAML at line 3"),
    ("- just\n- a list\n", "broken.yaml"),
    ("id: broken\nname: Broken chip\nkind: GPU\n", "missing field"),
])
def test_malformed_chip_yaml(tmp_path, text, expect):
    (tmp_path / "broken.yaml").write_text(text)
    res, line = _cli(["report", "resnet18", "--hardware", "h100-sxm"],
                     env={"PERFGRAPH_HARDWARE_PATH": str(tmp_path)})
    assert res.exit_code == 1 and expect in line and "broken.yaml" in line


# -- Neo4j -----------------------------------------------------------------------------------------------------
def _free_port() -> int:
    from perfgraph.store.neo4j_server import free_port

    return free_port()


@pytest.mark.parametrize("args", [["query", "depth", "-m", "resnet18"], ["ingest", "synthetic:mlp"]])
def test_unreachable_neo4j(args):
    uri = f"bolt://127.0.0.1:{_free_port()}"
    t0 = time.monotonic()
    proc = _run([*args, "--uri", uri, "--password", SECRET])
    assert proc.returncode == 1, proc.stderr
    line = _one_error_line(proc.stderr)
    assert f"cannot reach Neo4j at {uri}" in line and "Connection refused" in line
    assert SECRET not in proc.stdout + proc.stderr
    assert time.monotonic() - t0 < 60  # fails at once, not after the driver's retries


def test_unreachable_neo4j_from_the_environment():
    uri = f"bolt://127.0.0.1:{_free_port()}"
    proc = _run(["query", "rank_models"], env={"NEO4J_URI": uri, "NEO4J_PASSWORD": SECRET})
    assert proc.returncode == 1 and "cannot reach Neo4j" in _one_error_line(proc.stderr)
    assert SECRET not in proc.stdout + proc.stderr


@pytest.mark.neo4j
def test_wrong_password(neo4j_conn):
    if not neo4j_conn.auth:
        pytest.skip("this Neo4j runs without authentication")  # only with NEO4J_URI pointing at one
    for how in ("flag", "env"):
        args = ["query", "rank_models"] + (["--uri", neo4j_conn.uri, "--password", SECRET] if how == "flag" else [])
        env = {"NEO4J_URI": neo4j_conn.uri, "NEO4J_PASSWORD": SECRET} if how == "env" else None
        proc = _run(args, env=env)
        assert proc.returncode == 1, proc.stderr
        line = _one_error_line(proc.stderr)
        assert "refused the credentials for user 'neo4j'" in line
        assert SECRET not in proc.stdout + proc.stderr
        assert neo4j_conn.auth[1] not in proc.stdout + proc.stderr


@pytest.mark.neo4j
def test_neo4j_stopped_mid_query(tmp_path_factory):
    """A throw-away server (started and stopped through the CLI): a query that is running -- blocked on a
    lock another transaction holds -- when the server stops ends in one line."""
    from neo4j import GraphDatabase

    from perfgraph.analysis import analyze_graph
    from perfgraph.store.neo4j_store import Neo4jStore

    home = tmp_path_factory.mktemp("stop-mid-query")
    env = {"PERFGRAPH_NEO4J_PASSWORD": SECRET, "PERFGRAPH_NEO4J_JAVA_OPTS": "-XX:TieredStopAtLevel=1"}
    started = _run(["neo4j", "start", "--home", str(home), "--bolt-port", "0", "--json"], env=env, timeout=300)
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    try:
        assert SECRET not in started.stdout + started.stderr
        # `neo4j start` also serves the Browser guide and opens it after connecting
        assert info["guide_url"].startswith("http://localhost:")
        import urllib.request

        with urllib.request.urlopen(info["guide_url"], timeout=10) as r:
            assert r.status == 200 and b"<slide" in r.read()
        conf = (home / "conf" / "neo4j.conf").read_text()
        assert f"browser.post_connect_cmd=guide {info['guide_url']}" in conf

        uri, auth = info["bolt_uri"], ("neo4j", SECRET)
        mg = analyze_graph("resnet18")
        with Neo4jStore(uri, *auth) as store:
            store.ingest(mg)
        driver = GraphDatabase.driver(uri, auth=auth)
        session = driver.session()
        locker = session.begin_transaction()  # holds a write lock on one kernel until the server dies
        locker.run("MATCH (s:Subgraph {model_id: $id, index: 0}) SET s._locked_by_test = true",
                   id=mg.info.id).consume()
        query = subprocess.Popen(
            PERFGRAPH + ["query", "critical_path", "-m", mg.info.id, "-p", "weight=bytes", "--uri", uri],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}, "NEO4J_PASSWORD": SECRET})
        try:
            with GraphDatabase.driver(uri, auth=auth) as watcher:
                deadline = time.monotonic() + 120
                while True:  # wait until the CLI's transaction is running and blocked on our lock
                    rows = watcher.execute_query("SHOW TRANSACTIONS YIELD status, currentQuery "
                                                 "WHERE status STARTS WITH 'Blocked' RETURN count(*) AS n")
                    if rows.records[0]["n"] > 0:
                        break
                    assert query.poll() is None, query.communicate()
                    assert time.monotonic() < deadline, "the CLI's query never reached the server"
                    time.sleep(0.2)
            stopped = _run(["neo4j", "stop", "--home", str(home), "--json"])
            assert stopped.returncode == 0, stopped.stderr
            assert json.loads(stopped.stdout)["guide_was_running"] is True
            out, err = query.communicate(timeout=120)
        finally:
            query.kill()
            for close in (locker.close, session.close, driver.close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - the server is gone
                    pass
        assert query.returncode == 1, (out, err)
        line = _one_error_line(err)
        print("stopped mid-query:", line)
        assert "Neo4j" in line and uri in line, line
        assert SECRET not in out + err
    finally:
        _run(["neo4j", "stop", "--home", str(home)])
