"""Sweeps: Cartesian product, files written as points finish, resume after an interruption, plots, CLI."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from perfgraph import sweep as sw
from perfgraph.analysis import analyze_graph

MLP = sw.SweepSpec(model="synthetic:mlp", axes={"width": ["64", "128"], "depth": ["1", "3"], "in_features": ["32"]},
                   batches=[1, 4], hardware=["h100-sxm"], precision="fp16")


def _mlp_macs(width: int, depth: int, batch: int, in_features: int = 32) -> int:
    return batch * (in_features * width + (depth - 1) * width * width)


def test_synthetic_mlp_end_to_end_with_widths():
    mg = analyze_graph("synthetic:mlp", params={"width": "4096", "depth": "8"})
    assert mg.info.macs == _mlp_macs(4096, 8, 1, 1024)
    mg = analyze_graph("synthetic:mlp", params={"widths": "256:64:10", "in_features": "32", "activation": "gelu"})
    assert mg.info.macs == 32 * 256 + 256 * 64 + 64 * 10
    assert sum(op.target.startswith("aten.gelu") for op in mg.ops) == 3


def test_parse_axes_and_points():
    axes = sw.parse_axes(["width=64,128", "depth=1"])
    assert axes == {"width": ["64", "128"], "depth": ["1"]}
    spec = sw.SweepSpec("synthetic:mlp", axes, batches=[1, 8])
    points = spec.points()
    assert len(points) == 4
    assert points[0] == {"params": {"width": "64", "depth": "1"}, "batch": 1}
    assert points[1]["batch"] == 8  # batch varies fastest
    assert spec.swept() == ["p.width", "batch"]
    assert len({spec.key(p) for p in points}) == 4
    for bad in (["width"], ["width=1,,2"], ["width=1", "width=2"], ["=3"]):
        with pytest.raises(sw.SweepError):
            sw.parse_axes(bad)
    assert sw.parse_int_list("1,8,8,64", "batch") == [1, 8, 64]
    with pytest.raises(sw.SweepError):
        sw.parse_int_list("1,0", "batch")
    assert sw.metric_key("latency") == "latency_s" and sw.metric_key("widest_stage") == "width"
    with pytest.raises(sw.SweepError, match="unknown metric"):
        sw.metric_key("speed")


def test_sweep_writes_jsonl_json_csv_with_chip_columns(tmp_path):
    seen = []
    result = sw.run_sweep(MLP, tmp_path, on_point=seen.append)
    assert result.ran == 8 and result.reused == 0 and len(seen) == 8
    rows = result.rows
    assert [(r["p.width"], r["p.depth"], r["batch"]) for r in rows] == [
        (w, d, b) for w in (64, 128) for d in (1, 3) for b in (1, 4)]
    for r in rows:
        assert r["status"] == "ok" and r["error"] == ""
        assert r["macs"] == _mlp_macs(r["p.width"], r["p.depth"], r["batch"])
        assert r["depth"] == r["p.depth"]  # one kernel (addmm+relu) per layer, in a chain
        assert r["latency_s@h100-sxm"] > 0 and r["throughput_per_s@h100-sxm"] > 0
    lines = (tmp_path / "points.jsonl").read_text().splitlines()
    assert len(lines) == 8 and all(json.loads(ln)["precision"] == "fp16" for ln in lines)
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert doc["points"] == 8 and doc["swept"] == ["p.width", "p.depth", "batch"] and doc["rows"] == rows
    with open(tmp_path / "sweep.csv") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 8 and "latency_s@h100-sxm" in table[0] and table[0]["p.width"] == "64"


def test_interrupted_sweep_keeps_finished_points_and_resumes(tmp_path):
    spec = sw.SweepSpec("synthetic:mlp", {"width": ["16", "32", "48"], "in_features": ["8"]})

    def stop_after_two(rec):
        if len(sw.load_records(tmp_path / sw.JSONL)) == 2:
            raise KeyboardInterrupt

    with pytest.raises(sw.SweepInterrupted) as exc:
        sw.run_sweep(spec, tmp_path, on_point=stop_after_two)
    assert (exc.value.done, exc.value.total) == (2, 3)
    assert "--resume" in str(exc.value)
    with pytest.raises(sw.SweepError, match="--resume"):
        sw.run_sweep(spec, tmp_path)  # never silently discards finished points
    with open(tmp_path / sw.JSONL, "a") as fh:
        fh.write('{"key": "torn')  # a write cut short by a kill: ignored
    result = sw.run_sweep(spec, tmp_path, resume=True)
    assert (result.reused, result.ran) == (2, 1)
    assert [r["p.width"] for r in result.rows] == [16, 32, 48]
    # more chips than stored: those points run again; --overwrite starts over
    bigger = sw.SweepSpec("synthetic:mlp", spec.axes, hardware=["tpu-v4"])
    assert sw.run_sweep(bigger, tmp_path, resume=True).ran == 3
    assert sw.run_sweep(spec, tmp_path, overwrite=True).ran == 3


def test_invalid_combinations_are_skipped_not_failed(tmp_path):
    spec = sw.SweepSpec("synthetic:attention", {"hidden": ["48"], "heads": ["4", "5"], "seq_len": ["8"]})
    result = sw.run_sweep(spec, tmp_path)
    assert [r["status"] for r in result.rows] == ["ok", "invalid"]
    assert "divisible by heads" in result.rows[1]["error"]
    assert not result.failed and len(result.invalid) == 1
    with pytest.raises(sw.SweepError, match="divisible"):  # nothing valid at all: one error
        sw.run_sweep(sw.SweepSpec("synthetic:attention", {"hidden": ["48"], "heads": ["5"]}), tmp_path / "b")


def test_parallel_jobs_give_the_same_rows(tmp_path):
    spec = sw.SweepSpec("synthetic:conv_stack", {"groups": ["1", "16"], "channels": ["16"], "size": ["8"],
                                                 "depth": ["2"]})
    serial = sw.run_sweep(spec, tmp_path / "serial").rows
    parallel = sw.run_sweep(spec, tmp_path / "parallel", jobs=2).rows
    drop = ("seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in parallel] == \
        [{k: v for k, v in r.items() if k not in drop} for r in serial]
    assert serial[1]["macs"] * 16 == serial[0]["macs"]  # depthwise-style groups divide the MACs


def test_plots_are_pngs_with_one_line_per_combination_and_chip(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    result = sw.run_sweep(MLP, tmp_path)
    out = sw.plot(result, "latency", tmp_path / "lat.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = sw.plot(result, "macs", tmp_path / "macs.png", x="batch")
    assert out.stat().st_size > 10_000
    assert sw.plot_name("latency", MLP) == "latency_s_vs_width.png"
    with pytest.raises(sw.SweepError, match="not a swept axis"):
        sw.plot(result, "macs", tmp_path / "x.png", x="in_features")
    nochip = sw.SweepSpec("synthetic:mlp", {"activation": ["relu", "gelu"], "width": ["16"], "in_features": ["8"]})
    res = sw.run_sweep(nochip, tmp_path / "act")
    assert sw.plot(res, "flops", tmp_path / "act.png").exists()  # categorical x axis
    with pytest.raises(sw.SweepError, match="per chip"):
        sw.plot(res, "latency", tmp_path / "y.png")


def test_cli_sweep_csv_json_and_plot(tmp_path):
    from perfgraph.cli.main import cli

    runner = CliRunner()
    args = ["sweep", "synthetic:mlp", "-p", "width=16,32", "-p", "in_features=8", "-b", "1,2", "-H", "h100-sxm",
            "--out", str(tmp_path), "--plot", "latency", "--plot", "intensity"]
    res = runner.invoke(cli, [*args, "--csv"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("model,batch,p.width,p.in_features,macs") and len(lines) == 5
    assert (tmp_path / "latency_s_vs_width.png").exists() and (tmp_path / "intensity_vs_width.png").exists()
    res = runner.invoke(cli, [*args, "--resume", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["points"] == 4
    assert "resuming: 4 of 4 points" in res.stderr
    res = runner.invoke(cli, [*args])  # points exist, no --resume: one-line error
    assert res.exit_code == 1 and res.stderr.startswith("error: ") and "--resume" in res.stderr
    res = runner.invoke(cli, ["sweep", "synthetic:mlp", "-p", "width=16,32", "--plot", "latency",
                              "--out", str(tmp_path / "n")])
    assert res.exit_code == 1 and "add --hardware" in res.stderr
    res = runner.invoke(cli, ["sweep", "synthetic:mlp", "-p", "widht=16", "--out", str(tmp_path / "m")])
    assert res.exit_code == 1 and "unknown parameter widht" in res.stderr
