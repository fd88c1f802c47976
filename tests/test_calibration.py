"""Calibrated eager-latency prediction: profile format, interpolation, the predictor's monotonicity,
validation statistics, and `calibrate --quick` / `validate` end to end (no accuracy assertion here: the
accuracy on real models is `benchmarks/bench_validate.py`'s job)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from click.testing import CliRunner

from perfgraph.engine.calibrated import Predictor, hardware_overrides, module_calls, predict_model
from perfgraph.engine.calibrated_features import base_name, conv_table_and_features, gemm_table_and_features
from perfgraph.engine.calibration_profile import CalibrationProfile, default_profile_path
from perfgraph.engine.calibration_table import Table
from perfgraph.graph import ModelGraph, ModelInfo, Op, Subgraph
from perfgraph.measure.validate import error_summary


def _op(index, target, kind, shape, *, macs=0, read=0, written=None, weight=0, groups=1, path="", esize=4):
    n = math.prod(shape) if shape else 1
    return Op(uid=f"m/op{index}", model_id="m", index=index, name=f"{target.split('.')[1]}_{index}",
              target=target, kind=kind, macs=macs, flops=2 * macs, bytes_read=read,
              bytes_written=n * esize if written is None else written, weight_bytes=weight,
              output_shape=list(shape), dtype="float32", module_path=path, groups=groups)


def gemm_op(index, m, n, k, path=""):
    return _op(index, "aten.addmm.default", "matmul", [m, n], macs=m * n * k, read=m * k * 4,
               weight=(n * k + n) * 4, path=path)


def synthetic_profile() -> CalibrationProfile:
    """A hand-made profile: a GEMM rate that rises with size to 100 GFLOP/s, a 2 us launch, 20 GB/s."""
    gemm = Table("gemm", ["M", "N", "K"], [1.0, 1.0, 1.0], "flops")
    for e in range(0, 13, 2):
        m = n = k = 2 ** e
        flops = 2 * m * n * k
        t = 2e-6 + flops / 100e9
        gemm.add([e, e, e], flops, t, 0.01, f"gemm {m}")
    relu = Table("relu_", ["elems"], [1.0], "bytes")
    for e in range(8, 25, 4):
        nbytes = 2 * 4 * 2 ** e
        relu.add([e], nbytes, 1e-6 + nbytes / 20e9, 0.02, f"relu_ {2 ** e}")
    conv = Table("conv", ["M", "N", "K", "r"], [1, 1, 1, 0.5], "flops")
    for e in (4, 8, 12):
        flops = 2 * 2 ** e * 64 * 576
        conv.add([e, 6, math.log2(576), math.log2(9)], flops, 5e-6 + flops / 80e9, 0.05, f"conv {e}")
    return CalibrationProfile(
        device={"kind": "cpu", "name": "test cpu", "threads": 2},
        overhead={"dispatch_s": 2e-6, "view_s": 0.5e-6, "alloc_s": 1e-6, "module_call_s": 1e-6,
                  "module_extra_s": {"conv": 4e-6, "norm": 10e-6, "linear": 3e-6, "act": 1.5e-6, "pool": 1e-6}},
        bandwidth={"copy": [[2.0 ** 14, 60e9], [2.0 ** 20, 40e9], [2.0 ** 28, 20e9]],
                   "add": [[2.0 ** 14, 50e9], [2.0 ** 28, 18e9]]},
        levels=[{"name": "L2", "kind": "cache", "capacity_bytes": 2 ** 20, "copy_bytes_per_s": 40e9},
                {"name": "DRAM", "kind": "dram", "capacity_bytes": 2 ** 34, "copy_bytes_per_s": 20e9}],
        tables={"fp32": {"gemm": gemm, "relu_": relu, "conv": conv}},
        noise={"median_iqr_over_median": 0.02}, source="calibrated: test",
        overrides={"memory": {"DRAM": {"bandwidth_bytes_per_s": 20e9}}, "overhead": {"launch_s": 2e-6}},
        created="2025-01-01T00:00:00+00:00", duration_s=1.0,
    )


def model_of(ops, groups_of_ops=None) -> ModelGraph:
    info = ModelInfo(id="m", name="m", source="test", batch=1, input_shape=[1, 8], dtype="fp32")
    groups_of_ops = groups_of_ops or [[op.index] for op in ops]
    by = {op.index: op for op in ops}
    sgs = [Subgraph(uid=f"m/sg{i}", model_id="m", index=i, pattern="+".join(by[j].kind for j in idx),
                    op_indices=idx, flops=sum(by[j].flops for j in idx)) for i, idx in enumerate(groups_of_ops)]
    return ModelGraph(info=info, ops=ops, values=[], op_edges=[], subgraphs=sgs)


# ------------------------------------------------------------------------------------------- profile


def test_profile_round_trips(tmp_path):
    prof = synthetic_profile()
    path = prof.save(tmp_path / "p.json")
    back = CalibrationProfile.load(path)
    assert back == prof
    assert back.to_dict() == prof.to_dict()
    assert json.loads(path.read_text())["version"] == prof.version


def test_profile_load_errors_are_one_line(tmp_path):
    from perfgraph.engine.calibration_table import CalibrationError

    with pytest.raises(CalibrationError, match="run `perfgraph calibrate` first"):
        CalibrationProfile.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CalibrationError, match="not a perfgraph calibration profile"):
        CalibrationProfile.load(tmp_path / "bad.json")


def test_default_profile_path_honours_perfgraph_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFGRAPH_HOME", str(tmp_path))
    assert default_profile_path(2) == tmp_path / "calibration" / "local-2t.json"
    assert default_profile_path(device="cuda", device_name="NVIDIA H100 80GB HBM3") == \
        tmp_path / "calibration" / "cuda-nvidia-h100-80gb-hbm3.json"
    monkeypatch.delenv("PERFGRAPH_HOME")
    assert default_profile_path(4).parts[-3:] == (".perfgraph", "calibration", "local-4t.json")


def test_profile_overlays_the_local_hardware_spec():
    from perfgraph.hardware.local import apply_calibration, detect_local

    spec = apply_calibration(detect_local(), hardware_overrides(synthetic_profile()))
    assert spec.dram_bandwidth == 20e9
    assert spec.launch_overhead_s == 2e-6
    assert spec.source_of("overhead.launch_s").startswith("calibrated:")


# ------------------------------------------------------------------------------------- interpolation


def test_table_exact_point_returns_its_time_and_floor_applies():
    prof = synthetic_profile()
    gemm = prof.tables["fp32"]["gemm"]
    p = gemm.points[3]
    assert gemm.predict(p.f, p.work) == pytest.approx(p.t)
    # far below the smallest point: never faster than the fastest measured op
    assert gemm.predict([-5, -5, -5], 1) >= gemm.t_floor


def test_predictions_grow_with_flops_along_a_gemm_sweep():
    prof = synthetic_profile()
    sizes = [1, 3, 8, 20, 64, 100, 256, 700, 1024, 2048, 4096, 8192]
    times = [predict_model(model_of([gemm_op(i, s, s, s)]), prof).ops_s for i, s in enumerate(sizes)]
    # never faster for more work; tiny GEMMs all sit on the launch floor, above it time grows strictly
    assert all(b >= a for a, b in zip(times, times[1:])), times
    big = [t for s, t in zip(sizes, times) if s >= 20]
    assert all(b > a for a, b in zip(big, big[1:])), times
    assert times[-1] / times[-2] == pytest.approx(8, rel=0.05)  # compute-bound: 8x the FLOPs, 8x the time
    # and along M alone (batch-1 -> batch-N linear layers)
    ops = [gemm_op(i, m, 256, 256) for i, m in enumerate([1, 2, 8, 32, 128, 512, 2048])]
    times = [predict_model(model_of([op]), prof).ops_s for op in ops]
    assert all(b > a for a, b in zip(times, times[1:])), times


def test_views_cost_dispatch_only_and_every_launched_op_counts():
    """Eager: no fusion — a subgraph's latency is the sum of its launched ops; views cost view_s."""
    prof = synthetic_profile()
    relu = _op(1, "aten.relu_.default", "elementwise", [1, 4096], read=4096 * 4)
    view = _op(2, "aten.view.default", "view", [4096], written=0)
    mm = gemm_op(0, 1, 4096, 64)
    fused = predict_model(model_of([mm, relu, view], [[0, 1, 2]]), prof)
    split = predict_model(model_of([mm, relu, view]), prof)
    assert fused.ops_s == pytest.approx(split.ops_s)
    sg = fused.subgraphs[0]
    assert sg.launched_ops == 2 and sg.view_ops == 1
    assert {p.table for p in sg.ops} == {"gemm", "relu_", "view"}
    assert [p.time_s for p in sg.ops if p.table == "view"] == [0.5e-6]
    assert fused.latency_s == pytest.approx(fused.ops_s + fused.module_overhead_s)


def test_cold_weights_floor_for_models_larger_than_the_cache():
    prof = synthetic_profile()  # LLC 1 MiB -> 512 KiB resident share
    small = predict_model(model_of([gemm_op(0, 1, 64, 64)]), prof)
    assert small.weights_resident
    big = predict_model(model_of([gemm_op(0, 1, 4096, 4096)]), prof)
    assert not big.weights_resident
    # 64 MiB of weights from DRAM at 20 GB/s
    assert big.ops_s >= 4096 * 4097 * 4 / 20e9


def test_fresh_pages_cost_only_for_large_allocated_outputs():
    prof = synthetic_profile()
    prof.overhead.update(fresh_page_threshold_bytes=32 * 2 ** 20, fresh_page_s_per_byte=5e-10)
    n = 16 * 2 ** 20  # 64 MiB of fp32
    relu = _op(0, "aten.relu.default", "elementwise", [n], read=4 * n)
    relu_ = _op(1, "aten.relu_.default", "elementwise", [n], read=4 * n)
    small = _op(2, "aten.relu.default", "elementwise", [n // 4], read=n)
    prof.tables["fp32"]["relu"] = prof.tables["fp32"]["relu_"]
    t = {op.index: predict_model(model_of([op]), prof).subgraphs[0].ops[0] for op in (relu, relu_, small)}
    assert t[0].time_s == pytest.approx(t[1].time_s + 4 * n * 5e-10)  # the out-of-place output faults in
    assert t[0].floor == "fresh-pages" and t[1].floor == "" and t[2].floor == ""


def test_a_convolution_faults_in_its_blocked_layout_copies_above_the_threshold():
    """oneDNN convolutions allocate a blocked copy of the input and of the output besides the output: with
    the calibrated copy counts each one above the threshold faults in; below it, nothing does."""
    prof = synthetic_profile()
    prof.overhead.update(fresh_page_threshold_bytes=32 * 2 ** 20, fresh_page_s_per_byte=5e-10)
    big = 8 * 48 * 190 * 190 * 4  # 55,449,600 bytes, above 32 MiB
    small_in = 8 * 8 * 190 * 190 * 4  # 9,241,600 bytes, below
    same = _op(0, "aten.convolution.default", "conv", [8, 48, 190, 190], macs=10**9, read=big)
    up = _op(1, "aten.convolution.default", "conv", [8, 48, 190, 190], macs=10**9, read=small_in)
    p = Predictor(prof)
    assert p.predict_op(same).fresh_s == pytest.approx(big * 5e-10)  # a profile without the counts: the output
    prof.overhead.update(conv_input_copies=1.0, conv_output_copies=1.0)
    p = Predictor(prof)
    assert p.predict_op(same).table == "conv"
    assert p.predict_op(same).fresh_s == pytest.approx(3 * big * 5e-10)  # input copy + output copy + output
    assert p.predict_op(up).fresh_s == pytest.approx(2 * big * 5e-10)  # the small input's copy stays below
    below = _op(2, "aten.convolution.default", "conv", [8, 8, 190, 190], macs=10**8, read=small_in)
    assert p.predict_op(below).fresh_s == 0.0


def test_calibration_counts_the_convolution_copies_on_this_machine():
    """The probe counts the page faults of two convolutions above the mmap threshold in a fresh process: on
    this Linux host (glibc, PyTorch's oneDNN path) one input-sized and one output-sized copy besides the
    output."""
    import torch

    from perfgraph.measure.probes import count_conv_copies_fresh, measure_conv_copies

    assert sys.platform == "linux", "minor-fault counts are read from getrusage on Linux"
    assert measure_conv_copies(torch, 0.0) == {}  # no threshold found: nothing to count
    assert count_conv_copies_fresh(32 * 2 ** 20) == {"conv_input_copies": 1.0, "conv_output_copies": 1.0}


def test_module_calls_counted_from_module_paths():
    ops = [
        _op(0, "aten.convolution.default", "conv", [1, 8, 4, 4], macs=10, path="layer1.0.conv1"),
        _op(7, "aten.empty.memory_format", "creation", [0], written=0, path="layer1.0.bn1"),  # not its kind
        _op(1, "aten.native_batch_norm.default", "norm", [1, 8, 4, 4], path="layer1.0.bn1"),
        _op(2, "aten.relu_.default", "elementwise", [1, 8, 4, 4], path="layer1.0.relu"),
        _op(3, "aten.convolution.default", "conv", [1, 8, 4, 4], macs=10, path="layer1.0.conv2"),
        _op(4, "aten.add_.Tensor", "elementwise", [1, 8, 4, 4], path="layer1.0"),
        _op(5, "aten.relu_.default", "elementwise", [1, 8, 4, 4], path="layer1.0.relu"),  # the same module again
        _op(6, "aten.view.default", "view", [1, 128], path=""),
    ]
    counts = module_calls(ops)
    # model + layer1 + layer1.0 containers; conv1, conv2; bn1; relu twice
    assert counts == {"container": 3, "conv": 2, "norm": 1, "act": 2}


def test_op_features():
    conv = _op(0, "aten.convolution.default", "conv", [1, 64, 56, 56], macs=64 * 56 * 56 * 64 * 9,
               read=64 * 56 * 56 * 4, weight=64 * 64 * 9 * 4)
    name, f = conv_table_and_features(conv)
    assert name == "conv"
    assert f == pytest.approx([math.log2(3136), 6, math.log2(576), math.log2(9)])
    dw = _op(1, "aten.convolution.default", "conv", [1, 32, 56, 56], macs=32 * 56 * 56 * 9,
             read=32 * 112 * 112 * 4, weight=32 * 9 * 4, groups=32)
    name, f = conv_table_and_features(dw)
    assert name == "conv_dw" and f[2] == pytest.approx(math.log2(9)) and f[3] == pytest.approx(1.0)  # stride 2
    grouped = _op(2, "aten.convolution.default", "conv", [1, 128, 28, 28], macs=128 * 784 * 4 * 9,
                  read=128 * 784 * 4, groups=32)
    assert conv_table_and_features(grouped)[0] == "conv_grouped"
    # torch runs small batch-1 convs (<= 20480 input elements, kernel <= 3x3) on its im2col path
    small = _op(4, "aten.convolution.default", "conv", [1, 64, 7, 7], macs=64 * 49 * 64 * 9, read=64 * 49 * 4)
    assert conv_table_and_features(small, 20480)[0] == "conv_im2col"
    assert conv_table_and_features(small, 0)[0] == "conv"  # a torch without that path
    assert conv_table_and_features(conv, 20480)[0] == "conv"  # 64 x 56 x 56 input: oneDNN
    stem7 = _op(5, "aten.convolution.default", "conv", [1, 8, 4, 4], macs=8 * 16 * 3 * 49, read=3 * 8 * 8 * 4)
    assert conv_table_and_features(stem7, 20480)[0] == "conv"  # 7x7 stride 2: r = 12.25 > 9.5
    bmm = _op(3, "aten.bmm.default", "matmul", [12, 197, 64], macs=12 * 197 * 64 * 197, read=1)
    assert gemm_table_and_features(bmm) == ("bmm", pytest.approx([math.log2(12), math.log2(197), 6,
                                                                  math.log2(197)]))
    assert base_name(bmm) == "bmm"


def test_pool_features_carry_the_window_as_traced_and_as_calibrated():
    """A 2x2 and a 3x3 stride-2 max pool on the same tensor differ only in the window (a 3x3 window costs
    more): the traced op and the calibration case's op description get the same features."""
    torch = pytest.importorskip("torch")
    from perfgraph.engine.calibrated_features import memory_features
    from perfgraph.ingest.module_source import trace_module
    from perfgraph.measure.cases import CaseBuilder

    class Pools(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.max_pool2d(x, 2, 2) + torch.nn.functional.max_pool2d(x, 3, 2, 1)

    mg = trace_module(Pools(), batch=None, dtype="fp32", input_shape=[1, 8, 16, 16], tracers=None, name="pools")
    pools = [op for op in mg.ops if op.kind == "pool"]
    assert len(pools) == 2
    traced = [memory_features("max_pool2d", op) for op in pools]
    assert traced[0][:2] == traced[1][:2]  # same elements and ratio ...
    assert [f[2] for f in traced] == pytest.approx([2.0, math.log2(9)])  # ... windows 2x2 and 3x3
    builder = CaseBuilder(torch, "cpu", "fp32")
    for (k, s, p), f in zip(((2, 2, 0), (3, 2, 1)), traced):  # the calibration's own case description
        assert memory_features("max_pool2d", builder.memory("max_pool2d", (1, 8, 16, 16), (k, s, p)).op) == \
            pytest.approx(f)


def test_engine_predictor_does_not_import_torch():
    code = ("import sys; import perfgraph.engine.calibrated, perfgraph.measure.validate; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------- statistics


def test_error_summary_on_hand_made_numbers():
    errors = [0.05, -0.08, 0.10, -0.15, 0.25, -0.30, 0.0, 0.19, -0.02, 0.5]
    s = error_summary(errors)
    # |e| sorted: 0, .02, .05, .08, .10, .15, .19, .25, .30, .50 -> median (.10 + .15) / 2
    assert s["n"] == 10
    assert s["median_abs_error"] == pytest.approx(0.125)
    assert s["within_10pct"] == pytest.approx(5 / 10)  # 0, .02, .05, .08, .10 (the boundary counts)
    assert s["within_20pct"] == pytest.approx(7 / 10)
    assert s["mean_error"] == pytest.approx(sum(errors) / 10)
    assert s["worst_abs_error"] == pytest.approx(0.5)
    assert error_summary([])["n"] == 0


def test_noise_floor_scores_each_pass_against_the_median_of_the_others():
    """benchmarks/bench_noise_floor.py: the perfect predictor for pass i is the median of the other passes."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_noise_floor.py"
    spec = importlib.util.spec_from_file_location("bench_noise_floor", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    passes = [{"a": 1.0, "b": 2.0}, {"a": 1.2, "b": 2.0}, {"a": 1.4, "b": 1.0}]
    s0, s1, s2 = mod.floor_scores(passes)
    # pass 0: a predicted median(1.2, 1.4) = 1.3 -> +30 %; b predicted median(2.0, 1.0) = 1.5 -> -25 %
    assert s0["median_abs_error"] == pytest.approx(0.275)
    assert s0["within_20pct"] == 0.0
    assert s0["mean_error"] == pytest.approx((0.30 - 0.25) / 2)
    # pass 1: a 1.2 (median of 1.0, 1.4) -> 0 %; b 1.5 -> -25 %
    assert s1["within_10pct"] == pytest.approx(0.5)
    assert s1["worst_abs_error"] == pytest.approx(0.25)
    # pass 2: a 1.1 / 1.4 - 1; b 2.0 / 1.0 - 1 = +100 %
    assert s2["worst_abs_error"] == pytest.approx(1.0)
    assert s2["mean_error"] == pytest.approx((1.1 / 1.4 - 1 + 1.0) / 2)


def test_rounds_take_the_median_of_the_round_medians():
    from perfgraph.measure.validate import Measured, Row, with_rounds

    first = Row(model="m", batch=1, predicted_s=0.100, measured_s=0.120, error=0.100 / 0.120 - 1, noise=0.04,
                runs=10, other_cpu_share=0.01, load=0.0, rejected_runs=1, faulted_bytes=1e6, fault_s=1e6 * 3e-10)

    def later(median, faulted, share, rejected=0, noise=0.02):
        return Measured(median_s=median, q1_s=median * (1 - noise / 2), q3_s=median * (1 + noise / 2), min_s=median,
                        runs=10, warmup=2, threads=2, rejected=rejected, other_cpu_share=share, faulted_bytes=faulted)

    assert with_rounds(first, []) is first
    two = with_rounds(first, [later(0.080, 3e6, 0.03, rejected=2)], 3e-10)
    assert two.measured_s == pytest.approx(0.100)  # two rounds: their mean
    assert two.error == pytest.approx(0.0) and two.round_medians_s == [0.120, 0.080]
    assert two.runs == 20 and two.rejected_runs == 3 and two.other_cpu_share == 0.03
    assert two.faulted_bytes == pytest.approx(2e6) and two.fault_s == pytest.approx(2e6 * 3e-10)
    three = with_rounds(first, [later(0.080, 0.0, 0.0), later(0.200, 0.0, 0.0)], 3e-10)
    assert three.measured_s == pytest.approx(0.120)  # the median, not the mean (0.1333)
    assert three.error == pytest.approx(0.100 / 0.120 - 1)
    assert three.noise == pytest.approx(0.02)  # median of 0.04, 0.02, 0.02


def test_fault_diagnosis_adds_only_the_faults_the_prediction_does_not_hold():
    from perfgraph.measure.validate import Row

    def row(fault_s, predicted_fault_s):
        return Row(model="m", batch=8, predicted_s=0.100, measured_s=0.125, error=0.100 / 0.125 - 1, noise=0.0,
                   runs=10, other_cpu_share=0.0, load=0.0, fault_s=fault_s, predicted_fault_s=predicted_fault_s)

    assert row(0.020, 0.0).error_with_measured_faults == pytest.approx(0.120 / 0.125 - 1)
    assert row(0.020, 0.015).error_with_measured_faults == pytest.approx(0.105 / 0.125 - 1)  # 5 ms not predicted
    assert row(0.010, 0.015).error_with_measured_faults == pytest.approx(0.100 / 0.125 - 1)  # all predicted
    assert row(math.nan, 0.0).error_with_measured_faults == pytest.approx(0.100 / 0.125 - 1)  # OS did not say


def test_predicted_fresh_page_time_is_reported():
    """An output above the fresh-page threshold carries its page-fault time, and the model total sums it."""
    prof = synthetic_profile()
    prof.overhead.update(fresh_page_threshold_bytes=1e6, fresh_page_s_per_byte=1e-9)
    big = _op(0, "aten.relu.default", "elementwise", [1, 1000, 1000], read=4_000_000)  # 4 MB out
    small = _op(1, "aten.relu.default", "elementwise", [1, 100, 100], read=40_000)
    p = Predictor(prof)
    assert p.predict_op(big).fresh_s == pytest.approx(4e6 * 1e-9)
    assert p.predict_op(small).fresh_s == 0.0
    assert predict_model(model_of([big, small]), prof).fresh_page_s == pytest.approx(4e6 * 1e-9)


# ---------------------------------------------------------------------------------- in-sequence term


def _sequence_samples(a, b, rounds=3, noise=0.0, seed=0):
    """Networks whose measured time is their prediction plus a known in-sequence term (a per op, b per
    activation byte), with multiplicative noise per round: what a fake timer would report."""
    import random

    rng = random.Random(seed)
    out = []
    for i in range(12):
        ops = 60 + 25 * i
        act = 5e6 * (1 + (i * 7) % 11)  # activation bytes, not proportional to ops
        pred = 2e-3 + 1e-5 * ops + act / 30e9
        true = pred + a * ops + b * act
        out.append({"label": f"net {i}", "predicted_s": pred, "ops": ops, "act_bytes": act,
                    "rounds_s": [true * (1 + rng.uniform(-noise, noise)) for _ in range(rounds)]})
    return out


def test_sequence_fit_recovers_a_known_term_from_a_fake_timer():
    from perfgraph.measure.sequences import fit_sequence_term, fit_with_rounds

    exact = fit_with_rounds(_sequence_samples(20e-6, 0.05e-9), per_byte=True)
    assert exact["sequence_op_s"] == pytest.approx(20e-6, rel=1e-6)
    assert exact["sequence_s_per_byte"] == pytest.approx(0.05e-9, rel=1e-6)
    assert exact["fit_mean_error_before"] < -0.1 and abs(exact["fit_mean_error_after"]) < 1e-9
    assert exact["rounds"] == 3 and exact["round_spread"] == pytest.approx(0.0, abs=1e-9)
    noisy = fit_with_rounds(_sequence_samples(20e-6, 0.05e-9, rounds=5, noise=0.03, seed=1), per_byte=True)
    assert noisy["sequence_op_s"] == pytest.approx(20e-6, rel=0.3)
    assert noisy["round_spread"] > 0 and len(noisy["round_fits"]) == 5
    # no extra time: no term; a negative gap never gives a negative term
    none = fit_sequence_term([dict(s, measured_s=s["predicted_s"]) for s in _sequence_samples(0, 0)])
    assert none["sequence_op_s"] == pytest.approx(0, abs=1e-12) and none["sequence_s_per_byte"] == pytest.approx(0, abs=1e-20)
    faster = fit_sequence_term([dict(s, measured_s=0.8 * s["predicted_s"]) for s in _sequence_samples(0, 0)])
    assert faster["sequence_op_s"] == 0.0 and faster["sequence_s_per_byte"] == 0.0
    # only a per-op term: the per-byte term stays at zero
    per_op = fit_with_rounds(_sequence_samples(15e-6, 0.0), per_byte=True)
    assert per_op["sequence_op_s"] == pytest.approx(15e-6, rel=1e-6) and per_op["sequence_s_per_byte"] < 1e-15
    # the default (per-op term only) recovers a per-op term exactly and never fits a per-byte one
    default = fit_with_rounds(_sequence_samples(15e-6, 0.0))
    assert default["sequence_op_s"] == pytest.approx(15e-6, rel=1e-6) and default["sequence_s_per_byte"] == 0.0
    assert fit_with_rounds(_sequence_samples(20e-6, 0.05e-9))["sequence_s_per_byte"] == 0.0


def test_sequence_fit_recovers_a_share_of_the_networks_own_time():
    from perfgraph.measure.sequences import fit_sequence_term, fit_with_rounds

    # measured = predicted x 1.15 + 12 us per op, exactly: both terms come back
    nets = [dict(s, rounds_s=[1.15 * s["predicted_s"] + 12e-6 * s["ops"]] * 3) for s in _sequence_samples(0, 0)]
    fit = fit_with_rounds(nets, proportional=True)
    assert fit["proportional"] is True
    assert fit["sequence_time_share"] == pytest.approx(0.15, rel=1e-6)
    assert fit["sequence_op_s"] == pytest.approx(12e-6, rel=1e-6)
    assert abs(fit["fit_mean_error_after"]) < 1e-9 and fit["round_term_share"][0] > 0.15
    # the term off (the default): the per-op term alone has to absorb it (and cannot fit it exactly)
    off = fit_with_rounds(nets)
    assert off["proportional"] is False
    assert off["sequence_time_share"] == 0.0 and off["fit_median_abs_error"] > 1e-3
    # a per-op gap only: no share is invented
    per_op = fit_sequence_term([dict(s, measured_s=s["rounds_s"][0]) for s in _sequence_samples(15e-6, 0.0)],
                               proportional=True)
    assert per_op["sequence_time_share"] == pytest.approx(0.0, abs=1e-9)
    assert per_op["sequence_op_s"] == pytest.approx(15e-6, rel=1e-6)


def test_predictor_adds_the_in_sequence_term():
    prof = synthetic_profile()
    ops = [gemm_op(0, 64, 64, 64), _op(1, "aten.relu_.default", "elementwise", [64, 64], read=64 * 64 * 4),
           _op(2, "aten.view.default", "view", [4096])]
    mg = model_of(ops)
    base = predict_model(mg, prof)
    assert base.sequence_s == 0.0 and "in-sequence" not in base.by_table_s
    prof.overhead.update(sequence_op_s=10e-6, sequence_s_per_byte=1e-10)
    act = sum(op.bytes_read + op.bytes_written for op in ops[:2])  # launched ops, weights excluded
    with_term = predict_model(mg, prof)
    assert with_term.sequence_s == pytest.approx(2 * 10e-6 + act * 1e-10)
    assert with_term.latency_s == pytest.approx(base.latency_s + with_term.sequence_s)
    assert with_term.by_table_s["in-sequence"] == pytest.approx(with_term.sequence_s)
    assert predict_model(mg, prof, sequence=False).latency_s == pytest.approx(base.latency_s)
    # the time-proportional term: a share of the ops' and module calls' own time
    prof.overhead.update(sequence_op_s=0.0, sequence_s_per_byte=0.0, sequence_time_share=0.2)
    shared = predict_model(mg, prof)
    assert shared.sequence_s == pytest.approx(0.2 * (base.ops_s + base.module_overhead_s))
    assert shared.latency_s == pytest.approx(1.2 * base.latency_s)


def test_synthetic_sequence_networks_are_generic_and_well_scaled():
    torch = pytest.importorskip("torch")
    from perfgraph.measure.sequences import FAMILIES, _make_blocks, sequence_specs

    assert {f for f, _, _ in sequence_specs(False)} == set(FAMILIES) and {b for _, _, b in sequence_specs(False)} == {1, 8}
    for family in FAMILIES:
        torch.manual_seed(0)
        net, shape = _make_blocks(torch, family, 0, 1)
        again, shape2 = _make_blocks(torch, family, 0, 1)
        assert shape == shape2 and str(net) == str(again)  # drawn from the seed: the same network
        kinds = {type(m).__name__ for m in net.modules()}
        assert "Conv2d" in kinds and "BatchNorm2d" in kinds
        with torch.inference_mode():
            y = net(torch.empty(*shape).uniform_(-1, 1))
        scale = float(y.abs().mean())
        assert 1e-2 < scale < 1e3  # no drift into denormals (10-100x slower) or overflow


# ----------------------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def quick_profile(tmp_path_factory):
    """`perfgraph calibrate --quick --rounds 2` on one thread, written under a temporary PERFGRAPH_HOME."""
    from perfgraph.cli.main import cli

    home = tmp_path_factory.mktemp("perfgraph_home")
    runner = CliRunner()
    result = runner.invoke(cli, ["calibrate", "--quick", "--rounds", "2", "--threads", "1", "--device", "cpu", "--json"],
                           env={"PERFGRAPH_HOME": str(home)}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    return home, summary


def test_calibrate_quick_end_to_end(quick_profile):
    home, summary = quick_profile
    path = home / "calibration" / "local-1t.json"
    assert summary["profile"] == str(path) and path.exists()
    prof = CalibrationProfile.load(path)
    assert prof.quick and prof.device["threads"] == 1 and prof.device["kind"] == "cpu"
    tables = prof.tables["fp32"]
    for name in ("gemm", "bmm", "conv", "conv_dw", "conv_grouped", "relu_", "add", "batch_norm", "mean"):
        assert tables[name].points, name
    assert all(p.t > 0 and p.work > 0 for t in tables.values() for p in t.points)
    assert prof.overhead["dispatch_s"] > 0 and prof.dram_bandwidth > 0
    assert set(prof.noise) >= {"median_iqr_over_median", "other_cpu_share", "load_before"}
    fit = prof.overhead["sequence_fit"]  # the in-sequence term, fitted on synthetic networks
    assert prof.overhead["sequence_op_s"] >= 0 and prof.overhead["sequence_s_per_byte"] >= 0
    assert fit["networks"] and all(n["predicted_s"] > 0 and n["measured_s"] > 0 for n in fit["networks"])
    # phase scaling is off by default: no network timing was rescaled
    assert fit["phase_scale"] == {"median": 1.0, "min": 1.0, "max": 1.0, "probe_ref_s": 0.0}
    assert summary["seconds"] < 180
    spread = prof.noise["rounds"]  # two interleaved rounds: how far they disagree, per case and per model
    assert spread["rounds"] == 2 and 1.0 <= spread["case_spread_median"] <= spread["case_spread_p90"]
    assert set(spread["predicted"]) == {"resnet18", "mobilenet_v2", "efficientnet_b0", "vit_b_16"}
    for p in spread["predicted"].values():
        assert len(p["rounds_s"]) == 2 and p["spread"] == pytest.approx(max(p["rounds_s"]) / min(p["rounds_s"]))
    assert spread["predicted_spread_max"] == max(p["spread"] for p in spread["predicted"].values())


def test_each_case_keeps_the_lower_median_of_its_rounds():
    from types import SimpleNamespace

    from perfgraph.measure.calibrate import _lower_median

    t = [SimpleNamespace(median_s=m, disturbed=d) for m, d in ((3.0, False), (1.0, True), (2.0, False), (5.0, False))]
    assert _lower_median(t).median_s == 3.0  # of the undisturbed 2, 3, 5
    assert _lower_median(t[:1] + t[2:3]).median_s == 2.0  # of two, the lower
    assert _lower_median([t[1]]).median_s == 1.0  # all disturbed: the disturbed ones


def test_validate_runs_on_a_tiny_model_and_prints_the_table(quick_profile):
    from perfgraph.cli.main import cli

    home, _ = quick_profile
    runner = CliRunner()
    env = {"PERFGRAPH_HOME": str(home)}
    args = ["validate", "synthetic:mlp", "-p", "width=256", "-p", "depth=2", "-p", "in_features=256",
            "--threads", "1", "--runs", "3", "--warmup", "1"]
    result = runner.invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for text in ("synthetic:mlp", "predicted", "measured", "median |error|", "within ±20 %"):
        assert text in result.output
    result = runner.invoke(cli, args + ["--json"], env=env, catch_exceptions=False)
    data = json.loads(result.output[result.output.index("{"):])
    row = data["rows"][0]
    assert row["predicted_s"] > 0 and row["measured_s"] > 0 and row["runs"] == 3
    assert row["error"] == pytest.approx(row["predicted_s"] / row["measured_s"] - 1)
    assert data["summary"]["n"] == 1 and row["drift_factor"] == 1.0
    # --correct-drift: the prediction scaled by the median of the anchors re-timed now
    result = runner.invoke(cli, args + ["--correct-drift", "--json"], env=env, catch_exceptions=False)
    row = json.loads(result.output[result.output.index("{"):])["rows"][0]
    ratios = sorted(row["drift"].values())
    assert ratios and row["drift_factor"] == pytest.approx((ratios[(len(ratios) - 1) // 2] + ratios[len(ratios) // 2]) / 2)
    assert row["predicted_s"] == pytest.approx(row["predicted_uncorrected_s"] * row["drift_factor"])
    # --rounds 2: measured twice, in two rounds; the latency is the mean of the two rounds' medians
    result = runner.invoke(cli, args + ["--rounds", "2", "--json"], env=env, catch_exceptions=False)
    data = json.loads(result.output[result.output.index("{"):])
    row = data["rows"][0]
    assert len(row["round_medians_s"]) == 2 and row["runs"] == 6 and data["conditions"]["rounds"] == 2
    assert row["measured_s"] == pytest.approx(sum(row["round_medians_s"]) / 2)
    result = runner.invoke(cli, args + ["--rounds", "2"], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and "round 1 alone" in result.output


def test_validate_without_profile_is_one_line_error(tmp_path):
    from perfgraph.cli.main import cli

    result = CliRunner().invoke(cli, ["validate", "synthetic:mlp", "--threads", "3"],
                                env={"PERFGRAPH_HOME": str(tmp_path)})
    assert result.exit_code != 0
    assert "perfgraph calibrate" in result.output


def test_measure_eager_counts_the_pages_a_run_faults_in():
    """An output above glibc's largest mmap threshold (32 MiB) is a fresh mapping on every run: each run
    faults in at least its size; a tiny model faults in (almost) nothing."""
    from perfgraph.measure.validate import measure_eager

    if sys.platform != "linux":
        pytest.skip("minor-fault counts are read from getrusage on Linux")
    params = {"widths": "8192", "in_features": "8"}
    big = measure_eager("synthetic:mlp", batch=1100, params=params, threads=1, runs=3, warmup=1, warmup_s=0.0)
    out_bytes = 1100 * 8192 * 4  # 36 MB of fp32 output
    assert big.faulted_bytes >= 0.9 * out_bytes
    small = measure_eager("synthetic:mlp", batch=1, params=params, threads=1, runs=3, warmup=1, warmup_s=0.0)
    assert small.faulted_bytes < 0.05 * out_bytes


def test_hardware_local_uses_this_machines_profile(quick_profile, monkeypatch):
    """`--hardware local` predicts with the calibrated eager predictor when a profile for the local core count
    exists (tier local), the same number `predict_model` gives; the profile is looked up by thread count."""
    import shutil

    from perfgraph.analysis import analyze_graph
    from perfgraph.cli.main import cli
    from perfgraph.engine.calibrated import predict_model
    from perfgraph.hardware.spec import get

    home, _ = quick_profile
    local = get("local")
    src = home / "calibration" / "local-1t.json"
    dst = home / "calibration" / f"local-{local.unit_count}t.json"
    if dst != src:
        shutil.copy(src, dst)  # the one-thread profile stands in for this machine's core count
    monkeypatch.setenv("PERFGRAPH_HOME", str(home))
    res = CliRunner().invoke(cli, ["analyze", "synthetic:mlp", "-p", "width=64", "-p", "depth=2", "--hardware",
                                   "local", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)[0]
    expected = predict_model(analyze_graph("synthetic:mlp", params={"width": "64", "depth": "2"}),
                             CalibrationProfile.load(dst), dtype="fp32").latency_s
    assert row["tier"] == "local" and row["latency_s"] == pytest.approx(expected, rel=1e-9)
    assert row["expected_error"] > 0 and any("calibration profile" in n for n in row["notes"])


def test_network_timings_are_brought_to_the_tables_phase():
    """A fake clock makes every run last exactly 1 ms; a probe that runs 2x (then 1.5x) its table-phase
    time says the host is slow now: each round is scaled by ref / mean(probe before, after)."""
    import itertools

    import torch

    from perfgraph.measure.sequences import measure_sequences, phase_scale

    assert phase_scale(10e-6, 20e-6, 20e-6) == pytest.approx(0.5)
    assert phase_scale(10e-6, 0.0, 0.0) == 1.0 and phase_scale(0.0, 20e-6, 20e-6) == 1.0
    assert phase_scale(10e-6, 40e-6, 40e-6) == 1.0  # 4x off: a disturbance, not a phase
    ticks = itertools.count()
    probes = itertools.cycle([20e-6, 20e-6, 15e-6, 15e-6])  # (before, after) of each network round
    _, samples = measure_sequences(torch, synthetic_profile(), quick=True, rounds=2, run_s=0.01, warmup_s=0.0,
                                   clock=lambda: next(ticks) * 1e-3, phase_probe=lambda: next(probes),
                                   phase_ref_s=10e-6)
    assert samples
    for s in samples:
        assert s["rounds_s"] == pytest.approx([1e-3 * s["phase_scale"][0], 1e-3 * s["phase_scale"][1]])
        assert all(f == pytest.approx(0.5) or f == pytest.approx(10 / 15) for f in s["phase_scale"])
    # without a probe nothing is scaled
    ticks = itertools.count()
    _, plain = measure_sequences(torch, synthetic_profile(), quick=True, rounds=1, run_s=0.01, warmup_s=0.0,
                                 clock=lambda: next(ticks) * 1e-3)
    assert all(s["rounds_s"] == [pytest.approx(1e-3)] and s["phase_scale"] == [1.0] for s in plain)


def test_validation_model_sets_are_disjoint_torchvision_models():
    """The hold-out sets share no model with the developed set or with each other (bench_validate.py)."""
    import importlib.util
    from pathlib import Path

    import torchvision

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_validate.py"
    spec = importlib.util.spec_from_file_location("bench_validate", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sets = bench.SETS
    assert set(sets) == {"developed", "holdout", "holdout2", "holdout3"}
    assert all(len(sets[name]) >= 15 for name in ("holdout", "holdout2", "holdout3"))
    names = [m for models in sets.values() for m in models]
    assert len(names) == len(set(names)), "a model is in two sets"
    known = set(torchvision.models.list_models(module=torchvision.models))
    assert not set(names) - known


def test_the_in_sequence_line_names_the_share_only_when_there_is_one():
    from perfgraph.cli.measure_cmds import _sequence_line

    plain = _sequence_line({"sequence_op_s": 20e-6, "networks": [{}, {}]})
    assert plain.startswith("20.0 us per op + 0.00 ms/GB") and "of the op time" not in plain
    shared = _sequence_line({"sequence_op_s": 20e-6, "sequence_time_share": 0.1, "networks": [{}]})
    assert "20.0 us per op + 10.0% of the op time + 0.00 ms/GB" in shared


def test_the_fresh_page_line_names_the_convolution_copies_when_counted():
    from perfgraph.cli.measure_cmds import _fresh_line

    oh = {"fresh_page_threshold_bytes": 33554432.0, "fresh_page_s_per_byte": 3.4e-10}
    assert _fresh_line(oh) == "outputs above 33.55 MB fault in: 340 ms/GB"
    oh.update(conv_input_copies=1.0, conv_output_copies=1.0)
    assert _fresh_line(oh).endswith("; a convolution adds 1 input- and 1 output-sized buffers")
    assert _fresh_line({"fresh_page_threshold_bytes": 0.0}) == "no mmap-threshold cliff found"
