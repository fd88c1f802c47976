"""Runtimes (eager / compiled / graph), the two-queue host/device model, PyTorch's precision rules, the
chips' measured-microbenchmark calibration sections, and prediction tiers in every output."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from perfgraph.analysis import analyze_graph
from perfgraph.cli.main import cli
from perfgraph.engine.model_mapping import map_model
from perfgraph.engine.overlay import overlay_kernels
from perfgraph.engine.runtime import PrecisionRules, eager_graph, is_sync, parse_runtime, two_queue
from perfgraph.engine.tiers import expected_error
from perfgraph.hardware.microbench import Curves, Fit, parse_calibration
from perfgraph.hardware.spec import HardwareSpec, HardwareSpecError, get, load_file
from perfgraph.ingest.partition import FREE_KINDS

from engine_cases import _isolated_user_dirs  # noqa: F401 - the fixture, by name


@pytest.fixture(scope="module")
def r18():
    return analyze_graph("resnet18")


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


# -- the two-queue model, hand-computed ---------------------------------------------------------------------
def test_two_queue_device_bound():
    # host issues at 1, 2, 3; the device runs 5 each from t=1: ends at 16 and waits 1 (the first issue)
    tl = two_queue([1, 1, 1], [5, 5, 5])
    assert tl.total_s == 16 and tl.device_busy_s == 15 and tl.device_idle_s == 1 and tl.bound == "device"


def test_two_queue_host_bound():
    # the device finishes each op before the host issues the next: 5+5+5 of issue, then the last op's 1
    tl = two_queue([5, 5, 5], [1, 1, 1])
    assert tl.total_s == 16 and tl.device_idle_s == 13 and tl.bound == "host"


def test_two_queue_sync_in_the_middle_stalls_the_host():
    # op 1 synchronises: the host waits until the device finishes it at 11, issues op 2 at 12, done at 17
    tl = two_queue([1, 1, 1], [5, 5, 5], [False, True, False])
    assert tl.total_s == 17 and tl.host_stall_s == 11 - 2 and tl.syncs == 1
    assert tl.finish_s == [6, 11, 17]


def test_two_queue_on_a_cpu_adds_everything():
    tl = two_queue([1, 2], [5, 7], serial=True)
    assert tl.total_s == 15 and tl.device_idle_s == 3 and tl.bound == "device"
    with pytest.raises(ValueError):
        two_queue([1], [1, 2])


def test_runtime_names():
    assert parse_runtime("Eager").value == "eager" and parse_runtime(None).value == "eager"
    with pytest.raises(ValueError, match="eager, compiled, graph"):
        parse_runtime("jit")


# -- eager partition --------------------------------------------------------------------------------------
def test_eager_graph_is_one_kernel_per_launched_op(r18):
    eg = eager_graph(r18)
    launched = [op for op in r18.ops if op.kind not in FREE_KINDS]
    assert len(eg.subgraphs) == len(launched) > len(r18.subgraphs) == 21  # the fused graph is untouched
    for sg in eg.subgraphs:
        assert sum(1 for i in sg.op_indices if r18.ops[i].kind not in FREE_KINDS) == 1
    assert sorted(i for sg in eg.subgraphs for i in sg.op_indices) == list(range(len(r18.ops)))
    assert sum(sg.flops for sg in eg.subgraphs) == sum(sg.flops for sg in r18.subgraphs)
    assert all(s < d for s, d, _ in eg.subgraph_edges)  # numbered in a topological order


def test_sync_ops_are_recognised():
    class Op:
        def __init__(self, target):
            self.target = target

    assert is_sync(Op("aten._local_scalar_dense.default")) and is_sync(Op("aten.nonzero.default"))
    assert not is_sync(Op("aten.add.Tensor"))


# -- runtimes on chips --------------------------------------------------------------------------------------
def test_eager_on_a_gpu_follows_the_two_queue_timeline(r18):
    hw = get("h100")
    mm = map_model(r18, hw, "fp16", runtime="eager")
    tl = mm.timeline
    assert mm.runtime == "eager" and len(mm.kernels) == len(eager_graph(r18).subgraphs)
    assert mm.latency_sequential_s == pytest.approx(tl["total_s"])
    # never faster than either queue alone
    assert tl["total_s"] >= max(tl["host_busy_s"], tl["device_busy_s"]) - 1e-15
    assert tl["host_busy_s"] == pytest.approx(hw.launch_overhead_s * sum(k.kernel != "empty" for k in mm.kernels), rel=0.05)
    assert mm.bound_by in ("host", "device")
    # the overlay view sums the eager kernels onto the stored ones
    per_sg = overlay_kernels(mm)
    assert [k.subgraph_index for k in per_sg] == [sg.index for sg in r18.subgraphs]


def test_eager_overlay_latencies_add_up_to_the_device_finish(r18):
    mm = map_model(r18, get("a100"), "fp16", runtime="eager")
    per_sg = overlay_kernels(mm)
    # each eager kernel's share is its completion time minus the previous one's: they sum to the last finish
    shares = sum(k.details["timeline_s"] for k in mm.kernels)
    assert sum(k.latency_s for k in per_sg) == pytest.approx(shares)
    assert shares == pytest.approx(mm.timeline["total_s"]) or shares < mm.timeline["total_s"]


def test_a_host_bound_model_says_so():
    small = analyze_graph("synthetic:mlp", params={"width": "64", "depth": "8"})
    slow_host = get("h100").with_overrides({"overhead": {"launch_s": 1e-3}}, source="estimate: test host")
    mm = map_model(small, slow_host, "fp16", runtime="eager")
    assert mm.bound_by == "host" and mm.timeline["device_idle_s"] > mm.timeline["device_busy_s"]


def test_graph_replay_is_faster_than_compiled_launches_on_a_gpu(r18):
    hw = get("h100")
    compiled = map_model(r18, hw, "fp16", runtime="compiled")
    graph = map_model(r18, hw, "fp16", runtime="graph")
    assert graph.runtime == "graph" and graph.latency_s < compiled.latency_s
    # same kernels, only the launch cost differs: 21 launches at (5 us - 3.29 us, the graph_launch_s H100 takes
    # from the H200 measurement)
    assert compiled.latency_s - graph.latency_s == pytest.approx(21 * (hw.launch_overhead_s - 3.29e-6), rel=0.2)


def test_graph_replay_uses_the_chips_measured_per_kernel_cost():
    """A100 and H200 carry graph_launch_s (gpu-benches' graph-replayed streaming kernel, t0 of t0 + bytes /
    rate = 3.29 us), H100 the H200's as a labelled assumption: every graph kernel pays it instead of the 1 us
    estimate, and says where it came from."""
    from perfgraph.engine.model_mapping import graph_launch

    for chip in ("a100", "h200"):
        launch, why = graph_launch(get(chip))
        assert launch == 3.29e-6 and why.startswith("derived: ") and "gpu-small-kernels" in why
    launch, why = graph_launch(get("h100"))  # the same GH100 die as H200: its measurement, as an assumption
    assert launch == 3.29e-6 and why.startswith("assumption: the H200 measurement") and "h200_graph" in why
    launch, why = graph_launch(get("b200"))  # no measurement: the estimate
    assert launch == 1e-6 and why.startswith("estimate")
    tiny = analyze_graph("mobilenet_v3_small")
    mm = map_model(tiny, get("a100"), "fp16", runtime="graph")
    assert {round(k.overhead_s * 1e9) for k in mm.kernels if k.kernel not in ("empty",)} <= {3290, 2 * 3290}
    # the measured fit the number comes from: gpu-small-kernels h200_graph.txt rows, fitted here again
    fit = Fit.of([(p.work, p.seconds) for p in get("h200").calibration.modes["default"].bandwidth])
    assert fit.t0 == pytest.approx(3.29e-6, abs=0.01e-6) and fit.rate == pytest.approx(3414e9, rel=1e-3)


def test_tpus_and_kpus_always_run_compiled_and_say_so(r18):
    for chip in ("tpu-v4", "kpu-t256"):
        mm = map_model(r18, get(chip), "bf16", runtime="eager")
        assert mm.runtime == "compiled" and any("whole-graph compiled" in n for n in mm.notes)
    cpu = map_model(r18, get("xeon-8480"), "fp32", runtime="graph")
    assert cpu.runtime == "compiled" and any("no graph replay" in n for n in cpu.notes)


# -- precision rules ----------------------------------------------------------------------------------------
def test_fp32_convolutions_run_as_tf32_by_default_matmuls_do_not(r18):
    a100 = get("a100")
    mm = map_model(r18, a100, "fp32", runtime="compiled")
    by = {r18.subgraphs[k.subgraph_index].anchor_kind: k for k in mm.kernels}
    assert by["conv"].precision == "fp32" and by["conv"].precision_used == "tf32"
    assert by["matmul"].precision_used == "fp32"
    assert any("TF32" in n for n in mm.notes)
    strict = map_model(r18, a100, "fp32", runtime="compiled", rules=PrecisionRules(conv_tf32=False))
    assert all(k.precision_used == "fp32" for k in strict.kernels) and strict.latency_s > mm.latency_s
    high = map_model(r18, a100, "fp32", runtime="compiled", rules=PrecisionRules(matmul_precision="high"))
    assert {k.precision_used for k in high.kernels if k.kernel == "gemm"} == {"tf32"}
    assert mm.achieved_fraction_of_peak <= 1.0  # utilisation is against the TF32 peak the convs ran at
    # a chip without TF32 (V100) computes fp32 as fp32
    assert all(k.precision_used == "fp32" for k in map_model(r18, get("v100"), "fp32").kernels)
    with pytest.raises(ValueError, match="highest, high, medium"):
        PrecisionRules(matmul_precision="fast")


# -- calibration sections (measured microbenchmarks) ----------------------------------------------------------
def test_hockney_fit_recovers_latency_and_rate():
    fit = Fit.of([(1e6, 2e-6 + 1e-6), (1e8, 2e-6 + 1e-4), (1e9, 2e-6 + 1e-3)])  # t0 2 us, 1e12 /s
    assert fit.t0 == pytest.approx(2e-6, rel=1e-6) and fit.rate == pytest.approx(1e12, rel=1e-6)
    one = Fit.of([(4e9, 2e-3)])
    assert one.t0 == 0 and one.rate == 2e12


def test_a_kernel_never_gets_faster_by_being_smaller_than_the_smallest_calibrated_size():
    mode = parse_calibration({"host": "test", "modes": {"default": {
        "source": "a hand-made test curve", "bandwidth": [
            {"kernel": "copy", "bytes": 1e6, "bytes_per_s": 1e10, "time_s": 1e-4},
            {"kernel": "copy", "bytes": 1e8, "bytes_per_s": 1e11, "time_s": 1e-3}]}}}).modes["default"]
    curves = Curves(mode)
    smallest = 1e6
    per_byte_at_smallest = curves.transfer_s(smallest) / smallest
    for b in (1, 10, 1e3, 1e5, 5e5):
        assert curves.transfer_s(b) / b >= per_byte_at_smallest * (1 - 1e-12)
    assert curves.transfer_s(1e8) == pytest.approx(1e8 / curves.bandwidth.rate)
    assert curves.matmul_s(1e9, "fp32") is None  # nothing measured: the datasheet rule stays


def test_calibration_section_errors_name_the_field(tmp_path):
    spec = yaml.safe_load(open(get("l4").origin))
    spec["id"] = "l4-bad"
    spec["calibration"] = {"host": "x", "modes": {"MAXN": {"bandwidth": [{"bytes": -1, "bytes_per_s": 1e9}]}}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(HardwareSpecError) as err:
        load_file(path)
    msg = str(err.value)
    assert "calibration.modes.MAXN.source" in msg and "calibration.modes.MAXN.bandwidth.0.bytes" in msg


def test_orin_predictions_use_its_measured_microbenchmarks(r18):
    orin = get("jetson-orin-agx-64gb")
    assert orin.calibration is not None
    eager = map_model(r18, orin, "fp32", runtime="eager")
    assert eager.tier == "microbench" and eager.timeline["dispatch_source"] == "calibration.dispatch_s"
    dispatch = orin.calibration.for_mode(None, "MAXN").dispatch_s
    assert eager.timeline["dispatch_s"] == dispatch
    assert any(k.details.get("measured") for k in eager.kernels)
    raw = {k: v for k, v in orin.raw.items() if k != "calibration"}
    spec_only = map_model(r18, HardwareSpec.from_dict(raw, origin="test"), "fp32", runtime="eager")
    assert spec_only.tier == "spec" and spec_only.latency_s < eager.latency_s
    # the 15 W mode has its own measurements: slower dispatch, lower rates
    assert map_model(r18, get("jetson-orin-agx-64gb@15W"), "fp32", runtime="eager").latency_s > eager.latency_s


def test_expected_error_comes_from_the_validation_table():
    e = expected_error("microbench", "GPU")
    assert e.median_abs_error is not None and e.rows > 0 and "bench_published" in e.source
    assert expected_error("spec", "KPU").median_abs_error is None


# -- shown everywhere ---------------------------------------------------------------------------------------
def test_runtime_and_tier_in_json_csv_and_table():
    res = _run(["analyze", "resnet18", "--hardware", "orin-agx,tpu-v4", "--runtime", "eager", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["runtime"], r["tier"]) for r in rows] == [("eager", "microbench"), ("compiled", "spec")]
    assert rows[0]["bound_by"] in ("host", "device") and rows[0]["expected_error"] > 0
    assert rows[1]["expected_error"] is None and any("compiled" in n for n in rows[1]["notes"])
    csv = _run(["analyze", "resnet18", "--hardware", "a100", "--runtime", "graph", "--csv"])
    head, first = csv.stdout.splitlines()[:2]
    cols = head.split(",")
    assert "runtime" in cols and "tier" in cols and first.split(",")[cols.index("runtime")] == "graph"
    table = _run(["analyze", "resnet18", "--hardware", "a100"])
    assert "eager" in table.stdout and "TF32" in table.stdout and "tier" in table.stdout
    bad = _run(["analyze", "resnet18", "--hardware", "a100", "--runtime", "jit"])
    assert bad.exit_code == 2 and "jit" in bad.output
    alone = _run(["analyze", "resnet18", "--runtime", "graph"])
    assert alone.exit_code == 2 and "needs --hardware" in alone.output


def test_report_shows_runtime_and_tier(tmp_path):
    out = tmp_path / "r.html"
    res = _run(["report", "resnet18", "-H", "orin-agx", "--runtime", "eager", "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "tier (expected error)" in html and "microbench" in html and "eager (" in html


def test_api_takes_the_runtime():
    import perfgraph

    r = perfgraph.analyze("resnet18", hardware="a100,tpu-v4", runtime="graph")
    hs = r.hardware_summary()
    assert hs["a100-sxm-80gb"]["runtime"] == "graph" and hs["tpu-v4"]["runtime"] == "compiled"
    assert len(r.mapping_dataframe().query("hardware == 'a100-sxm-80gb'")) == 21
    with pytest.raises(ValueError, match="unknown runtime"):
        perfgraph.analyze("resnet18", hardware="a100", runtime="jit")


def test_local_without_a_profile_says_it_is_a_datasheet_estimate(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFGRAPH_HOME", str(tmp_path))
    res = _run(["analyze", "resnet18", "--hardware", "local", "--json"])
    row = json.loads(res.stdout)[0]
    assert row["tier"] == "spec" and any("perfgraph calibrate" in n for n in row["notes"])
