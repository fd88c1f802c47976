"""Issue #19 item 4, an installable package: the built wheel, installed outside the checkout, is a working tool.

The wheel is built from a copy of the project (pyproject.toml, README.md, src/), so no build/ lands in the
checkout, with the test venv's setuptools (no build isolation: nothing is downloaded). It is installed into
a fresh venv whose only link to the test venv is a .pth line naming that venv's site-packages: torch and the
other dependencies are reused, while that line does not run the test venv's own .pth files, so the editable
install (the checkout's src/) is not on the path. Every command runs from a directory outside the checkout
with PERFGRAPH_HOME in a temporary directory: `perfgraph neo4j install`, `perfgraph neo4j start`,
`perfgraph ingest resnet18`, `perfgraph neo4j stop` -- the README's "Install as a package" commands.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESNET18_ID = "resnet18:b1:3x224x224:fp32"
RESNET18_KERNELS = 21  # conv+bn+relu, conv+bn+add+relu, ... as in the README's `perfgraph analyze resnet18`


def _pinned_neo4j_version() -> str:
    """Read from the pom itself (the data the wheel ships), not through perfgraph."""
    pom = (ROOT / "src" / "perfgraph" / "store" / "data" / "pom.xml").read_text()
    return re.search(r"<neo4j\.version>([^<]+)</neo4j\.version>", pom).group(1)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("project")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out), str(tree)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = list(out.glob("perfgraph-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    reused = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site) / "reuse_test_venv.pth").write_text("".join(f"{p}\n" for p in reused))
    # --ignore-installed: the test venv's editable perfgraph is visible to pip and must not be "upgraded"
    proc = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q",
                           str(wheel)], capture_output=True, text=True, timeout=300, cwd=venv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv


def _env(perfgraph_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NEO4J_", "PERFGRAPH_", "PYTHON")) and k != "VIRTUAL_ENV"}
    env.update(PERFGRAPH_HOME=str(perfgraph_home), PYTHONWARNINGS="ignore")
    return env


def _run(venv: Path, args: list[str], cwd: Path, perfgraph_home: Path, timeout: float = 300):
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], capture_output=True, text=True,
                          cwd=cwd, env=_env(perfgraph_home), timeout=timeout)


def test_the_installed_package_runs_from_its_own_files(venv, tmp_path):
    """perfgraph, its pom and its Browser guide come from the venv, and it does not see the checkout."""
    code = ("import json, perfgraph\n"
            "from perfgraph.store import browser_guide as bg, neo4j_jars as j\n"
            "print(json.dumps({'package': perfgraph.__file__, 'pom': str(j.POM), 'guide': str(bg.browser_dir()),\n"
            "                  'checkout': j.checkout_root() and str(j.checkout_root()),\n"
            "                  'queries': len(bg.queries())}))")
    proc = _run(venv, ["python", "-c", code], tmp_path, tmp_path / "pg")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for key in ("package", "pom", "guide"):
        assert Path(got[key]).is_relative_to(venv), (key, got[key])
        assert not Path(got[key]).is_relative_to(ROOT), (key, got[key])
    assert got["checkout"] is None
    assert got["queries"] == len(list((ROOT / "src/perfgraph/store/data/browser/queries").glob("*.cypher"))) == 7


def test_install_start_ingest_stop_outside_the_checkout(venv, tmp_path):
    work, pg, home = tmp_path / "work", tmp_path / "pg", tmp_path / "server"
    work.mkdir()
    version = _pinned_neo4j_version()

    # Before `install`: no jars anywhere this tool looks (not the checkout's), and the error says what to run.
    proc = _run(venv, ["perfgraph", "neo4j", "start", "--home", str(home), "--bolt-port", "0"], work, pg)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert f"Neo4j {version} jars not found in {home / 'lib'}, {pg / 'neo4j' / 'lib'}; " \
           "run `perfgraph neo4j install`" in last, last
    assert "fetch-neo4j" not in last

    proc = _run(venv, ["perfgraph", "neo4j", "install", "--json"], work, pg)
    assert proc.returncode == 0, proc.stderr
    installed = json.loads(proc.stdout)
    lib = pg / "neo4j" / "lib"
    assert installed["lib"] == str(lib) and installed["version"] == version
    assert (lib / f"neo4j-{version}.jar").is_file() and (lib / f"neo4j-server-{version}.jar").is_file()
    assert sorted(p.name.rsplit("-", 1)[0] for p in (lib / "plugins").glob("*.jar")) == ["apoc-common", "apoc-core"]
    assert installed["plugin_jars"] == 2 and installed["jars"] == len(list(lib.glob("*.jar")))

    proc = _run(venv, ["perfgraph", "neo4j", "install"], work, pg)  # idempotent: nothing fetched
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("(already installed)"), proc.stdout

    proc = _run(venv, ["perfgraph", "neo4j", "start", "--home", str(home), "--bolt-port", "0", "--json"], work, pg)
    try:
        assert proc.returncode == 0, proc.stderr
        server = json.loads(proc.stdout)
        assert json.loads((home / "run" / "server.json").read_text())["lib"] == str(lib)
        with urllib.request.urlopen(server["guide_url"], timeout=10) as resp:  # the packaged guide
            guide = resp.read().decode()
        assert "<slide" in guide and "{{" not in guide and "MATCH" in guide

        proc = _run(venv, ["perfgraph", "ingest", "resnet18"], work, pg, timeout=600)
        assert proc.returncode == 0, proc.stderr
        from neo4j import GraphDatabase

        auth = ("neo4j", (home / "password").read_text().rstrip("\n"))
        with GraphDatabase.driver(server["bolt_uri"], auth=auth) as driver:
            rows, _, _ = driver.execute_query(
                "MATCH (m:Model {id: $id})-[:HAS]->(s:Subgraph) RETURN count(s) AS kernels", id=RESNET18_ID)
        assert rows[0]["kernels"] == RESNET18_KERNELS
    finally:
        stop = _run(venv, ["perfgraph", "neo4j", "stop", "--home", str(home), "--json"], work, pg)
    assert stop.returncode == 0, stop.stderr
    assert json.loads(stop.stdout)["was_running"] is True
