"""Where the Neo4j jars are looked for, and `perfgraph neo4j install` (issue #19 item 4), without the network:
a stand-in `mvn` on PATH writes empty jars named as Maven would (the real download runs in test_wheel.py)."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfgraph.cli.neo4j_cmd import neo4j as neo4j_cli
from perfgraph.store import neo4j_jars as nj

from neo4j_fixture import java_only_path

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.search(r"<neo4j\.version>([^<]+)<",
                    (ROOT / "src/perfgraph/store/data/pom.xml").read_text()).group(1)

FAKE_MVN = """#!/bin/sh
# What `mvn dependency:copy-dependencies -DoutputDirectory=DIR` leaves: jars, APOC loose among them.
for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#-DoutputDirectory=}" ;; esac; done
echo "[INFO] Downloaded from central: https://repo.maven.apache.org/x.jar (1 kB)"
echo "[INFO] Downloaded from central: https://repo.maven.apache.org/y.jar (1 kB)"
mkdir -p "$out"
for j in neo4j-VERSION neo4j-server-VERSION caffeine-3.1.8 apoc-core-5.26.19 apoc-common-5.26.19; do
  : > "$out/$j.jar"
done
"""

FAILING_MVN = """#!/bin/sh
echo "[INFO] Scanning for projects..."
echo "[ERROR] Failed to execute goal on project perfgraph-neo4j-server: Could not resolve dependencies"
echo "[ERROR] -> [Help 1]"
exit 1
"""


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """PERFGRAPH_HOME in tmp_path, no PERFGRAPH_NEO4J_LIB, and a PATH with java plus a bin/ for a fake mvn."""
    java_only_path(tmp_path, monkeypatch)
    monkeypatch.delenv("PERFGRAPH_NEO4J_LIB", raising=False)
    monkeypatch.setenv("PERFGRAPH_HOME", str(tmp_path / "pg"))
    return tmp_path


def _fake_mvn(bindir: Path, script: str) -> None:
    mvn = bindir / "mvn"
    mvn.write_text(script.replace("VERSION", VERSION))
    mvn.chmod(mvn.stat().st_mode | stat.S_IXUSR)


def _fake_jars(lib: Path) -> None:
    lib.mkdir(parents=True)
    for name in (f"neo4j-{VERSION}.jar", f"neo4j-server-{VERSION}.jar"):
        (lib / name).touch()


def test_lookup_order_home_then_perfgraph_home_then_checkout(isolated):
    home = isolated / "server"
    default = isolated / "pg" / "neo4j" / "lib"
    assert nj.candidate_dirs(home) == [home / "lib", default, ROOT / "neo4j" / "lib"]
    assert nj.candidate_dirs() == [default, ROOT / "neo4j" / "lib"]
    _fake_jars(default)
    assert nj.find_lib(home) == default
    _fake_jars(home / "lib")
    assert nj.find_lib(home) == home / "lib"


def test_an_explicit_lib_is_the_only_place_looked_at(isolated, monkeypatch):
    _fake_jars(isolated / "pg" / "neo4j" / "lib")
    assert nj.candidate_dirs(lib=isolated / "mine") == [isolated / "mine"]
    assert nj.find_lib(lib=isolated / "mine") is None
    monkeypatch.setenv("PERFGRAPH_NEO4J_LIB", str(isolated / "env"))
    assert nj.candidate_dirs(isolated / "server") == [isolated / "env"]


def test_no_jars_says_to_run_install(isolated):
    with pytest.raises(nj.Neo4jServerError) as err:
        nj.ensure_jars(fetch=False, lib=isolated / "nolib")
    assert str(err.value).startswith(f"Neo4j {VERSION} jars not found in {isolated / 'nolib'}; "
                                     "run `perfgraph neo4j install`")


def test_install_fetches_moves_apoc_to_plugins_and_is_idempotent(isolated):
    _fake_mvn(isolated / "bin", FAKE_MVN)
    lib = isolated / "lib"
    (lib / "plugins").mkdir(parents=True)
    (lib / "neo4j-5.26.0.jar").touch()  # another version's jar: must not stay on the classpath
    seen: list[int] = []
    result = nj.install(lib, progress=seen.append)
    assert (result.version, result.jars, result.plugin_jars, result.fetched) == (VERSION, 3, 2, True)
    assert sorted(p.name for p in lib.glob("*.jar")) == sorted(
        [f"neo4j-{VERSION}.jar", f"neo4j-server-{VERSION}.jar", "caffeine-3.1.8.jar"])
    assert sorted(p.name for p in (lib / "plugins").glob("*.jar")) == [
        "apoc-common-5.26.19.jar", "apoc-core-5.26.19.jar"]
    assert seen == [1, 2]
    (isolated / "bin" / "mvn").unlink()  # a second install needs no Maven
    again = nj.install(lib)
    assert (again.fetched, again.jars, again.plugin_jars) == (False, 3, 2)
    assert again.summary() == f"Neo4j {VERSION}: 3 jars and 2 plugin jars in {lib} (already installed)"


def test_maven_failure_is_one_line_naming_the_log(isolated):
    _fake_mvn(isolated / "bin", FAILING_MVN)
    lib = isolated / "lib"
    with pytest.raises(nj.Neo4jServerError) as err:
        nj.install(lib)
    assert str(err.value) == (
        "Maven failed to fetch the Neo4j jars (is Maven Central reachable?): Failed to execute goal on project "
        f"perfgraph-neo4j-server: Could not resolve dependencies (Maven's output: {lib / 'maven.log'})")
    assert "[ERROR] -> [Help 1]" in (lib / "maven.log").read_text()


def test_install_without_maven_or_java_says_which(isolated, monkeypatch):
    with pytest.raises(nj.Neo4jServerError, match=r"^Maven \(mvn\) is not on PATH; install Maven 3"):
        nj.install(isolated / "lib")
    _fake_mvn(isolated / "bin", FAKE_MVN)
    (isolated / "bin" / "java").unlink()
    with pytest.raises(nj.Neo4jServerError, match=r"^java not found"):
        nj.install(isolated / "lib")


def test_cli_install_home_puts_the_jars_in_home_lib_and_start_finds_them(isolated):
    _fake_mvn(isolated / "bin", FAKE_MVN)
    home = isolated / "server"
    res = CliRunner().invoke(neo4j_cli, ["install", "--home", str(home), "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert (got["lib"], got["jars"], got["plugin_jars"], got["fetched"]) == (str(home / "lib"), 3, 2, True)
    assert nj.find_lib(home) == home / "lib"


def test_cli_start_without_jars_is_one_line_naming_install(isolated):
    res = CliRunner().invoke(neo4j_cli, ["start", "--home", str(isolated / "server"), "--bolt-port", "0",
                                         "--lib", str(isolated / "nolib")])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines()[-1].startswith(
        f"Error: Neo4j {VERSION} jars not found in {isolated / 'nolib'}; run `perfgraph neo4j install`")
    assert not (isolated / "nolib").exists()  # start never fetches
