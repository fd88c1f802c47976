"""Issue #20, the input / resource / results items (7-16, 18, 19, 21 and part of 22): each case as the issue
gave it, through the real CLI where it can be, with expectations worked out by hand.

Cases that could end the test process if they regressed (a factory calling `os._exit`) run the installed
`perfgraph` entry point in a subprocess; the rest run in-process through click's CliRunner.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfgraph.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
PERFGRAPH = str(Path(sys.executable).parent / "perfgraph")
DETECTOR = "fasterrcnn_mobilenet_v3_large_320_fpn"


def _ok(args: list[str]):
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, (res.output, res.exception)
    return res


def _error(args: list[str], env: dict[str, str] | None = None) -> str:
    """The one `error: ...` line of a command that must fail cleanly (exit != 0, no traceback)."""
    res = CliRunner().invoke(cli, args, env=env)
    assert res.exit_code != 0, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("[")]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


def _write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


# -- 7: the real-tensor fallback estimates activations and keeps to a memory budget --------------------------
# Meta tensors cannot answer `.item()`, so these models fall back to real tensors after the meta tracer has
# recorded what comes before it.
DATA_DEPENDENT = """
    import torch

    class BigThenBranch(torch.nn.Module):
        def forward(self, x):
            y = x.repeat(1, 1000)          # (1, 1000) -> (1, 1_000_000) float32: 4,000,000 bytes
            if y.sum().item() > -1:        # data-dependent: the meta tracer stops here
                return y
            return x

    class GrowsAfterBranch(torch.nn.Module):
        def forward(self, x):
            if x.sum().item() > -1:        # the meta tracer stops at once: nothing to estimate from
                held = [torch.ones(1_000_000) + i for i in range(60)]   # 60 x 4 MB, all kept alive
                return torch.stack(held).sum(0)
            return x

    def big():
        return BigThenBranch()

    def grows():
        return GrowsAfterBranch()
"""


def test_real_tracer_refuses_activations_over_the_budget(tmp_path):
    path = _write(tmp_path, "dd.py", DATA_DEPENDENT)
    line = _error(["analyze", f"{path}:big", "--input-shape", "1,1000", "--max-memory", "2MB"])
    # repeat's output (4,000,000 B) and sum's scalar (4 B) are live together: 3.81 MiB; 2 MB = 1.91 MiB.
    assert "real: needs ~3.8 MiB" in line and "activations so far 3.8 MiB" in line, line
    assert "budget 1.9 MiB (--max-memory)" in line, line


def test_real_tracer_stops_when_the_process_grows_past_the_budget(tmp_path):
    path = _write(tmp_path, "dd.py", DATA_DEPENDENT)
    line = _error(["analyze", f"{path}:grows", "--input-shape", "1,4", "--max-memory", "100MB"])
    assert "real: grew past the memory budget of 95.4 MiB (--max-memory)" in line, line


def test_detector_batch_over_the_budget_is_refused_before_the_real_run():
    line = _error(["analyze", DETECTOR, "--batch", "64", "--max-memory", "50MB"])
    assert f"cannot trace {DETECTOR}" in line and "budget 47.7 MiB (--max-memory)" in line, line


def test_max_memory_must_be_a_size():
    res = CliRunner().invoke(cli, ["analyze", "resnet18", "--max-memory", "12QB"])
    assert res.exit_code == 2 and "bad memory size '12QB'" in res.stderr


def test_peak_live_bytes_frees_each_value_after_its_last_reader():
    from perfgraph.ingest.recorder import RecordedOp, RecordedValue, Recording
    from perfgraph.ingest.op_costs import OpCost
    from perfgraph.ingest.trace import peak_live_bytes

    def op(inputs, outputs, kind="elementwise", in_place=False):
        return RecordedOp("t", "t", OpCost(kind, 0, 0), inputs, outputs, [], "", "", in_place)

    values = [RecordedValue(100), RecordedValue(1000, 0), RecordedValue(1000, 1), RecordedValue(10, 2),
              RecordedValue(5000, 3)]
    ops = [op([0], [1]),                 # a = f(x): 1000 live
           op([1], [2], kind="view"),    # a view of a: no new memory
           op([2], [3]),                 # b = g(view): a (1000) + b (10) live; a is freed after this op
           op([3], [4])]                 # c = h(b): b (10) + c (5000) live
    values[4].is_model_output = True
    assert peak_live_bytes(Recording(ops, values)) == 5010


# -- 8: sweeps stream their points, have a cap, and check values and --x before running ---------------------
def test_sweep_bad_value_is_an_error_not_a_skipped_point(tmp_path):
    line = _error(["sweep", "synthetic:mlp", "-p", "width=8,abc", "--out", str(tmp_path)])
    assert line == "error: -p width: synthetic:mlp: parameter width='abc' is not a valid int"
    assert not (tmp_path / "points.jsonl").exists()


def test_sweep_grid_over_the_cap_is_refused_at_once(tmp_path):
    axis = ",".join(str(v) for v in range(1, 301))
    started = time.monotonic()
    line = _error(["sweep", "synthetic:mlp", "-p", f"width={axis}", "-p", f"depth={axis}",
                   "-p", f"in_features={axis}", "--out", str(tmp_path)])
    assert time.monotonic() - started < 10  # the 27 million points are counted, never built
    assert "27,000,000 points (300 x 300 x 300), over the cap of 1,000" in line and "--max-points" in line


def test_sweep_max_points_sets_and_lifts_the_cap(tmp_path):
    args = ["sweep", "synthetic:mlp", "-p", "width=8,16", "-p", "in_features=4", "-b", "1,2"]
    line = _error([*args, "--max-points", "3", "--out", str(tmp_path / "a")])
    assert "4 points (2 x 2), over the cap of 3" in line
    res = _ok([*args, "--max-points", "0", "--csv", "--out", str(tmp_path / "b")])
    assert len(res.stdout.splitlines()) == 5  # header + 4 points


def test_sweep_checks_x_before_running(tmp_path):
    line = _error(["sweep", "synthetic:mlp", "-p", "width=8,16", "--plot", "macs", "--x", "depth",
                   "--out", str(tmp_path)])
    assert line == "error: --x depth: not a swept axis; swept: width"
    assert not (tmp_path / "points.jsonl").exists()  # nothing ran
    assert "add --plot" in _error(["sweep", "synthetic:mlp", "-p", "width=8,16", "--x", "width",
                                   "--out", str(tmp_path)])


def test_run_sweep_never_builds_the_point_list(tmp_path, monkeypatch):
    from perfgraph import sweep as sw

    def no_list(self):
        raise AssertionError("the sweep built its whole grid")

    monkeypatch.setattr(sw.SweepSpec, "points", no_list)
    spec = sw.SweepSpec("synthetic:mlp", {"width": ["8", "16"], "in_features": ["4"]}, batches=[1, 3])
    result = sw.run_sweep(spec, tmp_path, jobs=2)
    # MLP of 4 layers: 4*w + 3*w*w MACs per sample.
    assert [(r["p.width"], r["batch"], r["macs"]) for r in result.rows] == [
        (8, 1, 224), (8, 3, 672), (16, 1, 832), (16, 3, 2496)]


# -- 9: YAML alias bombs in chip files ----------------------------------------------------------------------
ALIAS_BOMB = "\n".join(
    ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    + [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]
    + ["id: bomb", "name: Bomb", "kind: GPU"]) + "\n"


def test_alias_bomb_is_refused_by_hardware_validate(tmp_path):
    (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB)
    started = time.monotonic()
    line = _error(["hardware", "validate", str(tmp_path / "bomb.yaml")])
    assert time.monotonic() - started < 10
    assert "bomb.yaml: YAML anchors and aliases (&name, *name) are not allowed in chip files (line 1)" in line


def test_alias_bomb_in_the_hardware_path_is_refused(tmp_path):
    (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB)
    line = _error(["hardware", "list"], env={"PERFGRAPH_HARDWARE_PATH": str(tmp_path)})
    assert "anchors and aliases" in line


def test_a_single_harmless_alias_is_refused_too(tmp_path):
    from perfgraph.hardware.spec import packaged_dir

    packaged = packaged_dir() / "h100-sxm.yaml"
    text = packaged.read_text().replace("name:", "name: &n", 1) + "notes: *n\n"
    (tmp_path / "chip.yaml").write_text(text)
    assert "anchors and aliases" in _error(["hardware", "validate", str(tmp_path / "chip.yaml")])


# -- 10: a forward pass that never ends ------------------------------------------------------------------------
NEVER_ENDS = """
    import torch

    class OpsForever(torch.nn.Module):
        def forward(self, x):
            while True:
                x = x + 1

    class SpinsForever(torch.nn.Module):
        def forward(self, x):
            while True:
                pass

    def ops():
        return OpsForever()

    def spins():
        return SpinsForever()
"""


def test_forward_that_never_ends_hits_the_op_limit(tmp_path):
    path = _write(tmp_path, "forever.py", NEVER_ENDS)
    line = _error(["analyze", f"{path}:ops", "--input-shape", "1,4", "--max-ops", "500"])
    assert line.endswith("meta: the forward pass executed more than 500 ATen ops (--max-ops): does it ever end?")


def test_forward_that_never_ends_hits_the_time_limit(tmp_path):
    path = _write(tmp_path, "forever.py", NEVER_ENDS)
    started = time.monotonic()
    line = _error(["analyze", f"{path}:spins", "--input-shape", "1,4", "--trace-timeout", "1"])
    assert time.monotonic() - started < 30
    assert "meta: the model ran longer than 1 s (--trace-timeout)" in line


def test_limits_do_not_leak_into_the_next_command(tmp_path):
    path = _write(tmp_path, "forever.py", NEVER_ENDS)
    _error(["analyze", f"{path}:ops", "--input-shape", "1,4", "--max-ops", "5"])
    assert json.loads(_ok(["analyze", "resnet18", "--json"]).stdout)["ops"] == 70


# -- 11: ours / published per sample ---------------------------------------------------------------------------
def test_published_ratio_is_per_sample():
    res = _ok(["analyze", "resnet18", "--batch", "8"])
    assert "8.0003" not in res.stdout
    assert "1.81 G per sample  (ours / published = 1.0000)" in res.stdout
    s = json.loads(_ok(["analyze", "resnet18", "--batch", "8", "--json"]).stdout)
    # torchvision publishes 1.814 GFLOPS (MACs) for resnet18; ours are 1,814,073,344 per image.
    assert s["macs"] == 8 * 1_814_073_344 and s["macs_per_sample"] == 1_814_073_344
    assert s["macs_ratio"] == pytest.approx(1_814_073_344 / 1_814_000_000, rel=1e-12)


# -- 12, 13, 14: detectors and the other families -------------------------------------------------------------
@pytest.fixture(scope="module")
def detector():
    from perfgraph.analysis import analyze_graph

    return analyze_graph(DETECTOR)


def test_two_stage_detector_states_its_proposal_convention(detector):
    from perfgraph.analysis import summarize

    assumed = summarize(detector)["assumptions"]
    assert any("NMS keeps every box" in a and "150 proposals and 100 detections per image" in a for a in assumed)
    assert any("BatchNorm frozen" in a for a in assumed)


def test_proposals_parameter_is_deterministic_and_per_proposal():
    from perfgraph.analysis import analyze_graph

    few = analyze_graph(DETECTOR, params={"proposals": "20"})
    more = analyze_graph(DETECTOR, params={"proposals": "30"})
    # Per proposal: TwoMLPHead 256*7*7 x 1024 + 1024 x 1024, predictor 1024 x 91 + 1024 x 364 MACs.
    per_proposal = 12_544 * 1024 + 1024 * 1024 + 1024 * 91 + 1024 * 364
    assert more.info.macs - few.info.macs == 10 * per_proposal == 143_595_520
    assert few.info.id.endswith(":proposals=20")
    assert "20 proposals" in " ".join(few.info.assumptions)


def test_proposals_parameter_is_for_two_stage_detectors_only():
    assert "apply to two-stage detectors" in _error(["analyze", "resnet18", "-p", "proposals=5"])
    assert "must be a positive integer" in _error(["analyze", DETECTOR, "-p", "proposals=-3"])


def test_defaults_follow_the_published_conventions(detector):
    # torchvision's weight metadata: fasterrcnn_mobilenet_v3_large_320_fpn 19,386,354 parameters (its
    # backbone BatchNorm frozen); quantized_googlenet 6,624,904 (no auxiliary heads); raft_small
    # 47.655 GFLOPS at 512x512.
    assert detector.info.params == 19_386_354
    s = json.loads(_ok(["analyze", "quantized_googlenet", "--json"]).stdout)
    assert s["params"] == 6_624_904
    s = json.loads(_ok(["analyze", "raft_small", "--json"]).stdout)
    assert s["input_shape"] == [1, 3, 512, 512]
    assert s["macs_ratio"] == pytest.approx(1.0, abs=1e-3)


def test_check_of_the_issue_detector_passes():
    res = CliRunner().invoke(cli, ["check", DETECTOR])
    assert res.exit_code == 0, res.output
    assert "FAIL" not in res.stdout


def test_nms_is_costed_by_its_rule_and_kernels_read_no_more_than_their_ops(detector):
    nms = [op for op in detector.ops if op.target.startswith("torchvision.nms")]
    assert nms and all(op.kind == "detection" and op.costed for op in nms)
    for sg in detector.subgraphs:
        assert sg.external_bytes <= sum(detector.ops[i].bytes_total for i in sg.op_indices)


@pytest.mark.parametrize("model", ["lraspp_mobilenet_v3_large", "r3d_18", "raft_small", "quantized_mobilenet_v2",
                                   "hf:bert-base", "synthetic:transformer_encoder"])
def test_universal_checks_hold_for_every_family(model):
    from perfgraph.analysis import analyze_graph
    from perfgraph.checks import universal_checks

    failed = [r for r in universal_checks(analyze_graph(model)) if not r.passed]
    assert not failed, failed


def test_universal_checks_hold_for_detection(detector):
    from perfgraph.checks import universal_checks

    failed = [r for r in universal_checks(detector) if not r.passed]
    assert not failed, failed


# -- 15: zero-size allocations are no ops ----------------------------------------------------------------------
def test_zero_size_empty_ops_are_not_counted_nor_exported(tmp_path):
    s = json.loads(_ok(["analyze", "resnet18", "--json"]).stdout)
    # 20 conv + 20 batch norm + 17 relu + 8 add + max pool + mean + view + t + addmm; no `empty`.
    assert s["ops"] == 70
    out = tmp_path / "r18.json"
    _ok(["export", "resnet18", "--format", "json", "--level", "ops", "--out", str(out)])
    doc = json.loads(out.read_text())
    linked = {e["source"] for e in doc["edges"]} | {e["target"] for e in doc["edges"]}
    assert len(doc["nodes"]) == 70 and all(n["id"] in linked for n in doc["nodes"])


# -- 16: input shapes and parameters ---------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["hf:gpt2", "synthetic:mlp"])
def test_input_shape_for_models_sized_by_parameters_is_an_error(model):
    line = _error(["analyze", model, "--input-shape", "1,3,224,224"])
    assert f"--input-shape does not apply to {model}" in line


@pytest.mark.parametrize("shape, expect", [
    ("3,224,224", "resnet18 takes a 4-D input (N,C,H,W), got 3 dimensions in --input-shape 3,224,224"),
    ("", "bad input shape '': a dimension is missing"),
    ("1,,3,224", "bad input shape '1,,3,224': a dimension is missing"),
    ("1,3,99999999999999999999999,224", "beyond what a tensor can hold"),
])
def test_bad_input_shapes_get_perfgraphs_own_message(shape, expect):
    assert expect in _error(["analyze", "resnet18", "--input-shape", shape])


def test_batch_beyond_int64_elements_is_refused():
    line = _error(["analyze", "synthetic:mlp", "--batch", str(2**62)])
    assert "has more elements than a tensor can hold" in line


@pytest.mark.parametrize("model, param", [("synthetic:mlp", "width"), ("resnet18", "num_classes"),
                                          ("hf:gpt2", "n_embd")])
def test_parameters_beyond_int64_are_refused(model, param):
    line = _error(["analyze", model, "-p", f"{param}={2**64}"])
    assert f"parameter {param}={2**64} is beyond int64" in line


def test_a_parameter_given_twice_is_an_error():
    line = _error(["analyze", "synthetic:mlp", "-p", "width=8", "-p", "width=16"])
    assert line == "error: --param width given twice ('8' and '16'); give it once"


# -- 18: user strings are text, not rich markup or emoji codes -------------------------------------------------
TINY = """
    import torch

    def make():
        return torch.nn.Linear(4, 4)
"""


def test_markup_in_a_model_name_is_printed_verbatim(tmp_path):
    path = _write(tmp_path, "net[red].py", TINY)
    res = _ok(["analyze", f"{path}:make", "--input-shape", "1,4"])
    assert "user:net[red]:make" in res.stdout


def test_markup_and_emoji_codes_in_table_cells_and_progress_labels(capsys):
    from perfgraph.cli import output

    buf = io.StringIO()
    unset = output.console._file  # None: the console follows sys.stdout (put back as it was, not as read)
    output.console.file = buf
    try:
        output.print_rows([{"model": "hf:llama:b1:128:fp32", "path": "/a[/bold]/m.py:make"}])
        output.console.print("summary of hf:llama:b1")  # a plain message: no emoji either
    finally:
        output.console._file = unset
    assert "hf:llama:b1:128" in buf.getvalue() and "[/bold]" in buf.getvalue()
    assert "summary of hf:llama:b1" in buf.getvalue()
    with output.progress(1, "ingesting") as advance:  # piped: plain lines, where `[/bold]` used to abort
        advance("/tmp/a[/bold]/m.py:make")
    assert "[1/1] ingesting /tmp/a[/bold]/m.py:make" in capsys.readouterr().err


# -- 19: model code that ends the process ----------------------------------------------------------------------
EXITS = """
    import os
    import sys
    import torch

    class ExitsInForward(torch.nn.Module):
        def forward(self, x):
            os._exit(0)

    def factory_exits():
        os._exit(0)

    def forward_exits():
        return ExitsInForward()

    def factory_sys_exit():
        sys.exit(0)
"""


@pytest.mark.parametrize("factory, expect", [("factory_exits", "called os._exit(0)"),
                                             ("forward_exits", "called os._exit(0)"),
                                             ("factory_sys_exit", "called sys.exit(0)")])
def test_model_code_ending_the_process_is_an_error(tmp_path, factory, expect):
    path = _write(tmp_path, "exits.py", EXITS)
    env = {k: v for k, v in os.environ.items() if k != "PERFGRAPH_DEBUG"}
    proc = subprocess.run([PERFGRAPH, "analyze", f"{path}:{factory}", "--input-shape", "1,4"],
                          capture_output=True, text=True, timeout=120, env={**env, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot trace") and expect in lines[0], proc.stderr


def test_model_module_exiting_at_import_is_an_error(tmp_path):
    path = _write(tmp_path, "exits_on_import.py", "import os\nos._exit(0)\n")
    proc = subprocess.run([PERFGRAPH, "analyze", f"{path}:make", "--input-shape", "1,4"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "called os._exit(0)" in proc.stderr, (proc.stdout, proc.stderr)


# -- 21, 22: what a newcomer reads -----------------------------------------------------------------------------
def test_models_family_synthetic_lists_parameters_and_defaults():
    rows = json.loads(_ok(["models", "--family", "synthetic", "--json"]).stdout)
    by_name = {r["model"]: r["parameters"] for r in rows}
    assert by_name["synthetic:transformer_encoder"] == "hidden=768, heads=12, seq_len=128, mlp_ratio=4.0, layers=1"
    assert by_name["synthetic:mlp"] == "width=1024, depth=4, in_features=1024, activation='relu', widths=''"
    assert len(by_name) == 6


def test_saturation_verdict_reads_right_when_the_chip_is_never_filled():
    res = _ok(["analyze", "resnet18", "--hardware", "h100", "--saturation", "--batch", "1,2"])
    text = " ".join(res.stdout.split())
    assert "(never in the sweep)" not in text
    assert "at no batch in the sweep (up to 2) does every GEMM kernel occupy all the chip's units" in text


def test_widest_stage_of_one_subgraph_is_singular():
    res = _ok(["analyze", "synthetic:mlp", "-p", "depth=1"])
    assert "stage 0: 1 subgraph " in res.stdout and "1 subgraphs" not in res.stdout


def test_table_seconds_carry_units_and_fit_80_columns():
    from rich.console import Console

    from perfgraph.cli import output

    buf = io.StringIO()
    saved = output.console
    output.console = Console(file=buf, width=80, emoji=False, highlight=False)
    try:
        output.print_rows([{"hardware": "h100-sxm", "batch": 1, "latency_s": 0.00034212345,
                            "energy_per_inference_j": 0.0645, "peak_memory_bytes": 2_500_000_000}])
    finally:
        output.console = saved
    text = buf.getvalue()
    assert "342 µs" in text and "64.5 mJ" in text and "2.50 GB" in text and "0.000342" not in text
    assert max(len(line) for line in text.splitlines()) <= 80


# -- 21: the README's commands run as written ------------------------------------------------------------------
# Commands left out, each with why. Everything else in README.md's console blocks runs here.
README_SKIPPED = {
    "perfgraph neo4j install": "fetches the jars into the user's home (tests/test_wheel.py runs it)",
    "perfgraph neo4j start": "starts a server (tests/test_neo4j_server.py covers it)",
    "perfgraph neo4j status": "needs the server of `neo4j start`",
    "perfgraph neo4j stop": "needs the server of `neo4j start`",
    "perfgraph ingest": "writes to a Neo4j server (tests/test_neo4j_store.py)",
    "perfgraph map": "writes to a Neo4j server (tests/test_overlay.py)",
    "--uri": "needs a Neo4j server",
    "perfgraph calibrate": "minutes of microbenchmarks (tests/test_calibration.py runs a quick one)",
    "perfgraph validate": "measures real latency for minutes (tests/test_calibration.py)",
}

MY_NETS = """
    import torch

    def make_net():
        return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
"""


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    commands: list[str] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        continued = False
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append(line[2:])
            elif continued:
                commands[-1] = commands[-1][:-1] + " " + line.strip()
            continued = bool(commands) and commands[-1].rstrip().endswith("\\")
            if continued:
                commands[-1] = commands[-1].rstrip()
    return [c for c in commands if c.startswith("perfgraph ")]


def _skip_reason(command: str) -> str | None:
    return next((why for key, why in README_SKIPPED.items() if key in command), None)


def test_readme_has_commands_and_the_skip_list_is_used():
    commands = readme_commands()
    assert len(commands) > 20
    for key in README_SKIPPED:
        assert any(key in c for c in commands), f"stale skip-list entry: {key}"


@pytest.mark.parametrize("command", [c for c in readme_commands() if _skip_reason(c) is None])
def test_readme_command_runs(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "my_nets.py", MY_NETS)
    from perfgraph.hardware.spec import packaged_dir

    shutil.copy(packaged_dir() / "h100-sxm.yaml", tmp_path / "my-chip.yaml")
    args = shlex.split(command, comments=True)[1:]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, f"{command}\n{res.output}\n{res.exception!r}"
