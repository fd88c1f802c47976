"""The on-disk graph cache (perfgraph.graph_cache): hits, misses, bypasses, corruption, bounds, and that a hit
never imports torch. conftest.py turns the cache off for the session; the `cache_on` fixture turns it on
under a throw-away PERFGRAPH_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfgraph import analysis, graph_cache
from perfgraph.cli.main import cli

MLP = "synthetic:mlp"
SMALL = {"width": "32", "depth": "2", "in_features": "16"}
SMALL_ARGS = ["-p", "width=32", "-p", "depth=2", "-p", "in_features=16"]


@pytest.fixture
def cache_on(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFGRAPH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PERFGRAPH_NO_CACHE", raising=False)
    graph_cache.reset()
    yield tmp_path / "home" / "graphs"
    graph_cache.reset()


@pytest.fixture
def traces(monkeypatch):
    """Counts the times a model is really traced (the cache's miss path)."""
    calls: list[str] = []
    real = analysis.trace_graph

    def counting(spec, **kw):
        calls.append(spec)
        return real(spec, **kw)

    monkeypatch.setattr(analysis, "trace_graph", counting)
    return calls


def _entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.pkl")) if directory.is_dir() else []


def test_second_analyze_is_a_hit_and_returns_an_equal_graph(cache_on, traces):
    first = analysis.analyze_graph(MLP, batch=2, params=SMALL)
    second = analysis.analyze_graph(MLP, batch=2, params=SMALL)
    assert traces == [MLP]  # traced once
    assert second == first and second is not first
    assert second.info.batch == 2 and len(second.subgraphs) == len(first.subgraphs) > 0
    assert len(_entries(cache_on)) == 1
    assert oct(cache_on.stat().st_mode & 0o777) == oct(0o700)


@pytest.mark.parametrize("change", [
    {"batch": 3},
    {"params": {**SMALL, "width": "48"}},
    {"dtype": "fp16"},
    {"tracers": ("real",)},
])
def test_a_different_spec_is_a_miss(cache_on, traces, change):
    base = {"batch": 2, "params": SMALL}
    analysis.analyze_graph(MLP, **base)
    other = analysis.analyze_graph(MLP, **{**base, **change})
    assert traces == [MLP, MLP]
    assert len(_entries(cache_on)) == 2
    if "batch" in change:
        assert other.info.batch == 3


@pytest.mark.parametrize("package", ["perfgraph", "perfgraph_source", "torch", "torchvision", "transformers"])
def test_a_changed_version_is_a_miss(cache_on, traces, monkeypatch, package):
    analysis.analyze_graph(MLP, params=SMALL)
    changed = {**graph_cache.versions(), package: "something-else"}
    monkeypatch.setattr(graph_cache, "versions", lambda: changed)
    analysis.analyze_graph(MLP, params=SMALL)
    assert traces == [MLP, MLP]


def test_the_source_hash_changes_with_any_file(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "sub" / "b.py").write_text("y = 2\n")
    before = graph_cache.tree_hash(tmp_path / "pkg")
    assert graph_cache.tree_hash(tmp_path / "pkg") == before
    (tmp_path / "pkg" / "sub" / "b.py").write_text("y = 3\n")
    assert graph_cache.tree_hash(tmp_path / "pkg") != before


def test_no_cache_option_and_env_bypass(cache_on, traces, monkeypatch):
    runner = CliRunner()
    args = ["analyze", MLP, *SMALL_ARGS, "--json"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert runner.invoke(cli, args).exit_code == 0
    assert len(traces) == 1  # the second run was a hit
    bypass = runner.invoke(cli, [*args, "--no-cache"])
    assert bypass.exit_code == 0, bypass.output
    assert len(traces) == 2
    assert json.loads(bypass.output) == json.loads(first.output)
    assert runner.invoke(cli, args).exit_code == 0  # --no-cache lasts one command only
    assert len(traces) == 2
    monkeypatch.setenv("PERFGRAPH_NO_CACHE", "1")
    assert runner.invoke(cli, args).exit_code == 0
    assert len(traces) == 3
    assert analysis.analyze_graph(MLP, params=SMALL, use_cache=True) is not None
    assert len(traces) == 4


def test_api_cache_false_traces_again(cache_on, traces):
    import perfgraph

    perfgraph.analyze(MLP, params=SMALL)
    perfgraph.analyze(MLP, params=SMALL)
    perfgraph.analyze(MLP, params=SMALL, cache=False)
    assert len(traces) == 2


def test_cache_clear_empties_and_info_counts(cache_on):
    runner = CliRunner()
    analysis.analyze_graph(MLP, params=SMALL)
    analysis.analyze_graph(MLP, batch=4, params=SMALL)
    info = json.loads(runner.invoke(cli, ["cache", "info", "--json"]).output)
    assert info["directory"] == str(cache_on) and info["enabled"] is True
    assert info["entries"] == 2 and {m["batch"] for m in info["models"]} == {4, None}
    assert info["bytes"] == sum(p.stat().st_size for p in _entries(cache_on))
    cleared = runner.invoke(cli, ["cache", "clear", "--json"])
    assert cleared.exit_code == 0, cleared.output
    assert json.loads(cleared.output)["removed"] == 2
    assert _entries(cache_on) == []
    assert json.loads(runner.invoke(cli, ["cache", "info", "--json"]).output)["entries"] == 0
    text = runner.invoke(cli, ["cache", "clear"])
    assert text.exit_code == 0 and "removed 0 entries" in text.output


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupt_entry_is_a_miss_and_is_replaced(cache_on, traces, damage):
    first = analysis.analyze_graph(MLP, params=SMALL)
    (path,) = _entries(cache_on)
    data = path.read_bytes()
    path.write_bytes({"garbage": b"not a pickle at all", "truncated": data[: len(data) // 2], "empty": b""}[damage])
    again = analysis.analyze_graph(MLP, params=SMALL)
    assert again == first and len(traces) == 2
    assert path.read_bytes() == data  # rewritten whole
    assert analysis.analyze_graph(MLP, params=SMALL) == first and len(traces) == 2


def test_a_directory_others_can_write_is_not_trusted(cache_on, traces):
    analysis.analyze_graph(MLP, params=SMALL)
    cache_on.chmod(0o777)
    try:
        analysis.analyze_graph(MLP, params=SMALL)
        assert len(traces) == 2  # the entry there was not loaded
        assert graph_cache.info()["enabled"] is False
    finally:
        cache_on.chmod(0o700)


def test_user_factories_are_never_cached(tmp_path, cache_on):
    assert graph_cache.is_cacheable("resnet18") and graph_cache.is_cacheable("hf:gpt2")
    assert graph_cache.is_cacheable("synthetic:mlp") and graph_cache.is_cacheable("torchvision:resnet18")
    assert not graph_cache.is_cacheable("my_models.py:make_net")
    assert not graph_cache.is_cacheable("package.module:make_net")
    factory = tmp_path / "tiny.py"
    factory.write_text("import torch\n\ndef make():\n    return torch.nn.Linear(4, 2)\n")
    analysis.analyze_graph(f"{factory}:make", input_shape=[1, 4])
    assert _entries(cache_on) == []


def test_eviction_drops_the_least_recently_used(tmp_path):
    for age, name in enumerate(["new", "mid", "old"]):
        p = tmp_path / f"{name}.pkl"
        p.write_bytes(b"x" * 100)
        os.utime(p, (1_000_000 - age * 10, 1_000_000 - age * 10))
    assert graph_cache.evict(tmp_path, max_entries=2) == 1
    assert sorted(p.stem for p in tmp_path.glob("*.pkl")) == ["mid", "new"]
    assert graph_cache.evict(tmp_path, max_bytes=150) == 1
    assert [p.stem for p in tmp_path.glob("*.pkl")] == ["new"]


_NO_TORCH_SCRIPT = """
import sys
from perfgraph.cli.main import cli
cli.main(["analyze", "synthetic:mlp", "-p", "width=32", "-p", "depth=2", "-p", "in_features=16",
          "--hardware", "h100", "--json"], standalone_mode=False)
import perfgraph
perfgraph.analyze("synthetic:mlp", params={"width": "32", "depth": "2", "in_features": "16"}, hardware="h100")
assert "torch" not in sys.modules, "torch imported"
"""


def test_a_hit_does_not_import_torch(tmp_path):
    env = {**os.environ, "PERFGRAPH_HOME": str(tmp_path)}
    env.pop("PERFGRAPH_NO_CACHE", None)

    def run():
        return subprocess.run([sys.executable, "-c", _NO_TORCH_SCRIPT], env=env, capture_output=True, text=True,
                              timeout=300)

    cold = run()  # traces (imports torch, so the assertion fails) and fills the cache
    assert cold.returncode != 0 and "torch imported" in cold.stderr, cold.stderr[-2000:]
    warm = run()
    assert warm.returncode == 0, warm.stderr[-2000:]
    assert '"hardware": "h100' in warm.stdout


def test_python_dash_m_perfgraph_works():
    help_ = subprocess.run([sys.executable, "-m", "perfgraph", "--help"], capture_output=True, text=True, timeout=120)
    assert help_.returncode == 0, help_.stderr
    assert help_.stdout.startswith("Usage: perfgraph ") and " cache " in help_.stdout
    bad = subprocess.run([sys.executable, "-m", "perfgraph", "cache", "nope"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_the_readme_commands(cache_on, traces):
    """README "Graph cache": --no-cache traces and stores nothing, PERFGRAPH_NO_CACHE=1 likewise, then a
    plain run stores and `cache info` / `cache clear` show and remove it."""
    runner = CliRunner()
    bypass = runner.invoke(cli, ["analyze", "resnet50", "--hardware", "h100", "--no-cache"])
    assert bypass.exit_code == 0, bypass.output
    assert "h100" in bypass.output and _entries(cache_on) == []
    off = runner.invoke(cli, ["analyze", "resnet50"], env={"PERFGRAPH_NO_CACHE": "1"})
    assert off.exit_code == 0, off.output
    assert _entries(cache_on) == [] and traces == ["resnet50", "resnet50"]
    assert runner.invoke(cli, ["analyze", "resnet50"]).exit_code == 0
    hit = runner.invoke(cli, ["analyze", "resnet50"])
    assert hit.exit_code == 0 and hit.output == off.output and len(traces) == 3
    info = runner.invoke(cli, ["cache", "info"])
    assert info.exit_code == 0, info.output
    assert f"graph cache: {cache_on} (on)" in info.output and "1 entry" in info.output and "resnet50" in info.output
    cleared = runner.invoke(cli, ["cache", "clear"])
    assert cleared.exit_code == 0 and cleared.output.startswith("removed 1 entry")
    assert _entries(cache_on) == []


def test_sweep_no_cache_reaches_the_workers(cache_on, tmp_path):
    runner = CliRunner()
    args = ["sweep", MLP, *SMALL_ARGS, "--json"]
    bypass = runner.invoke(cli, [*args, "--out", str(tmp_path / "a"), "--no-cache"])
    assert bypass.exit_code == 0, bypass.output
    assert _entries(cache_on) == []  # the worker neither stored nor read
    cached = runner.invoke(cli, [*args, "--out", str(tmp_path / "b")])
    assert cached.exit_code == 0, cached.output
    assert len(_entries(cache_on)) == 1
