"""The Python API (`perfgraph.analyze`), the HTML report and the graph exports (no server needed)."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys

import networkx as nx
import pytest
import torch
from click.testing import CliRunner

import perfgraph
from perfgraph.cli.main import cli
from perfgraph.export import MAX_DRAWN_NODES, ExportError, export
from perfgraph.ingest.model_source import ModelSourceError

CHIPS = "h100-sxm,tpu-v4"


@pytest.fixture(scope="module")
def rep():
    return perfgraph.analyze("resnet18", hardware=CHIPS)


def test_import_perfgraph_is_light():
    code = ("import sys, perfgraph; assert callable(perfgraph.analyze); "
            "print(sorted(m for m in ('torch', 'pandas', 'matplotlib', 'neo4j') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_summary_is_what_analyze_json_prints(rep):
    res = CliRunner().invoke(cli, ["analyze", "resnet18", "--json"])
    assert res.exit_code == 0, res.output
    assert rep.summary() == json.loads(res.stdout)


def test_dataframes_and_mappings(rep):
    mg = rep.graph
    df = rep.to_dataframe()
    assert len(df) == len(mg.subgraphs) and list(df["index"]) == list(range(len(mg.subgraphs)))
    assert df["on_critical_path"].sum() == rep.summary()["critical_path_length"]
    assert df["flops"].sum() == sum(sg.flops for sg in mg.subgraphs)
    ops = rep.ops_dataframe()
    assert len(ops) == len(mg.ops) and set(ops["subgraph"]) == set(range(len(mg.subgraphs)))
    assert list(rep.mappings) == ["h100-sxm", "tpu-v4"]
    for chip, m in rep.mappings.items():
        assert df[f"{chip}:latency_s"].sum() == pytest.approx(m.latency_sequential_s)
        assert set(df[f"{chip}:bound"]) <= {"compute", "memory", "overhead"}
    assert rep.mapping("H100").hardware_id == "h100-sxm"  # aliases and names work
    long = rep.mapping_dataframe()
    assert len(long) == 2 * len(mg.subgraphs)
    hs = rep.hardware_summary()
    assert hs["tpu-v4"]["latency_s"] == pytest.approx(rep.mappings["tpu-v4"].latency_sequential_s)


def test_hardware_as_list_and_default_precision():
    r = perfgraph.analyze("synthetic:mlp", hardware=["a100", "h100-sxm"], dtype="bf16")
    assert list(r.mappings) == ["a100-sxm-80gb", "h100-sxm"] and r.precision == "bf16"
    assert perfgraph.analyze("synthetic:mlp").mappings == {}


def test_unknown_chip_fails_before_tracing(monkeypatch):
    import perfgraph.analysis as analysis

    monkeypatch.setattr(analysis, "analyze_graph", lambda *a, **k: pytest.fail("traced before checking chips"))
    with pytest.raises(LookupError, match="unknown hardware 'nochip'"):
        perfgraph.analyze("resnet18", hardware="h100-sxm,nochip")


class _Branchy(torch.nn.Module):
    """Control flow on a tensor's value: meta tensors cannot answer it, real ones can."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(8, 8)
        self.b = torch.nn.Linear(8, 8)

    def forward(self, x):
        return self.a(x) if x.sum() > -1e9 else self.b(x)


def test_an_nn_module_instance_is_analysed_and_left_untouched():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(16 * 30 * 30, 10))
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    r = perfgraph.analyze(net, input_shape=(2, 3, 32, 32), dtype="bf16", hardware="h100-sxm")
    info = r.graph.info
    assert info.tracer == "meta" and info.batch == 2 and info.id == "module:Sequential:b2:3x32x32:bf16"
    assert info.macs == 2 * (16 * 30 * 30 * 3 * 9 + 16 * 30 * 30 * 10)
    assert info.params == sum(p.numel() for p in net.parameters())
    assert net.training and all(m.training for m in net.modules())
    for k, v in net.state_dict().items():  # same device, dtype and values
        assert v.device.type == "cpu" and v.dtype == torch.float32 and torch.equal(v, before[k])
    assert r.mappings["h100-sxm"].latency_sequential_s > 0
    # batch overrides the shape's first dimension, as --batch does
    assert perfgraph.analyze(net, input_shape=(1, 3, 32, 32), batch=4).graph.info.batch == 4


def test_a_data_dependent_module_falls_back_to_real_tensors():
    net = _Branchy().train()
    w = net.a.weight.clone()
    r = perfgraph.analyze(net, input_shape=(4, 8))
    assert r.graph.info.tracer == "real" and r.graph.info.macs == 4 * 8 * 8
    assert net.training and torch.equal(net.a.weight, w)


@pytest.mark.parametrize("kwargs, match", [
    ({}, "input_shape is required"),
    ({"input_shape": (0, 3)}, "positive integers"),
    ({"input_shape": (1, 8), "batch": 0}, "batch must be a positive integer"),
])
def test_module_input_errors(kwargs, match):
    with pytest.raises(ModelSourceError, match=match):
        perfgraph.analyze(_Branchy(), **kwargs)


# -- the HTML report ------------------------------------------------------------------------------------
def _png_ok(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert w > 400 and h > 250
    return w, h


def test_report_html_is_self_contained(rep, tmp_path):
    from perfgraph.report import write_report

    written = write_report(rep, str(tmp_path / "r.html"), str(tmp_path / "png"))
    html = (tmp_path / "r.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from anywhere
    images = re.findall(r"src='data:image/png;base64,([^']+)'", html)
    assert len(images) == 2
    for data in images:
        _png_ok(base64.b64decode(data))
    for name, path in written["images"].items():
        _png_ok(open(path, "rb").read())
    n = len(rep.graph.subgraphs)
    assert html.count("<tr class=cp>") == rep.summary()["critical_path_length"]
    assert len(re.findall(r"<tr( class=cp)?><td>\d+</td>", html)) == n
    for chip in ("h100-sxm", "tpu-v4"):
        assert f"{chip} latency" in html
    assert "NVIDIA H100" in html and "Google Cloud TPU v4" in html


def test_report_without_hardware_has_no_roofline(tmp_path):
    from perfgraph.report import figures, render_html

    r = perfgraph.analyze("synthetic:mlp")
    pngs = figures(r)
    assert set(pngs) == {"stages"}
    assert "Roofline" not in render_html(r, pngs)


def test_report_command(tmp_path):
    out = tmp_path / "resnet18.html"
    res = CliRunner().invoke(cli, ["report", "resnet18", "--hardware", CHIPS, "--hw", "kpu-t256", "--out", str(out),
                                   "--png-dir", str(tmp_path / "png")])
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output and out.stat().st_size > 50_000
    assert "KPU" in out.read_text() and (tmp_path / "png" / "roofline.png").exists()


# -- exports ----------------------------------------------------------------------------------------------
def test_graphml_round_trips_with_schema_properties(rep):
    mg = rep.graph
    g = nx.read_graphml(io.BytesIO(export(mg, "graphml").encode()))
    assert g.number_of_nodes() == len(mg.subgraphs) and g.number_of_edges() == len(mg.subgraph_edges)
    sg = mg.subgraphs[4]
    node = g.nodes[sg.uid]
    for key in ("uid", "model_id", "index", "pattern", "macs", "flops", "external_bytes", "intensity",
                "parallelism_batch", "parallelism_channels", "parallelism_spatial", "stage", "on_critical_path"):
        assert node[key] == getattr(sg, key), key
    assert json.loads(node["op_indices"]) == sg.op_indices
    assert g.graph["model_id"] == mg.info.id and g.graph["model_macs"] == mg.info.macs
    ops = nx.read_graphml(io.BytesIO(export(mg, "graphml", level="ops").encode()))
    assert ops.number_of_nodes() == len(mg.ops) and ops.number_of_edges() == len(mg.op_edges)
    op = mg.ops[0]
    assert json.loads(ops.nodes[op.uid]["output_shape"]) == op.output_shape
    assert ops.nodes[op.uid]["module_path"] == op.module_path


def test_json_is_node_link_data(rep):
    mg = rep.graph
    data = json.loads(export(mg, "json", level="ops"))
    g = nx.node_link_graph(data, edges="edges")
    assert g.number_of_nodes() == len(mg.ops) and g.number_of_edges() == len(mg.op_edges)
    assert g.nodes[mg.ops[0].uid]["output_shape"] == mg.ops[0].output_shape  # lists stay lists
    total = sum(d["bytes"] for _, _, d in g.edges(data=True))
    assert total == sum(b for _, _, b in mg.op_edges)


def test_drawings_mark_the_critical_path(rep):
    mg = rep.graph
    cp = [sg.index for sg in mg.subgraphs if sg.on_critical_path]
    mer = export(mg, "mermaid")
    assert mer.startswith("flowchart TD")
    assert len(re.findall(r'^  sg\d+\["', mer, re.M)) == len(mg.subgraphs)
    assert len(re.findall(r"^  sg\d+ --> sg\d+$", mer, re.M)) == len(mg.subgraph_edges)
    assert re.search(r"^  class (sg\d+,)*sg\d+ critical$", mer, re.M).group(0).count("sg") == len(cp)
    links = re.search(r"^  linkStyle ([\d,]+) ", mer, re.M).group(1).split(",")
    assert len(links) == len(cp) - 1
    dot = export(mg, "dot")
    assert dot.startswith("digraph ") and dot.rstrip().endswith("}")
    assert dot.count("->") == len(mg.subgraph_edges)
    assert len(re.findall(r'-> sg\d+ \[color="#d62728", penwidth=2\];', dot)) == len(cp) - 1
    assert len(re.findall(r'^  sg\d+ \[label=.*color="#d62728"', dot, re.M)) == len(cp)


def test_big_drawings_are_refused_unless_forced():
    mg = perfgraph.analyze("synthetic:mlp", params={"depth": 120}).graph
    assert len(mg.ops) > MAX_DRAWN_NODES >= len(mg.subgraphs)
    with pytest.raises(ExportError, match=r"^\d+ ops is too many to draw \(limit 300\)"):
        export(mg, "mermaid", level="ops")
    assert export(mg, "dot", level="ops", force=True).count("->") == len(mg.op_edges)
    assert export(mg, "mermaid").startswith("flowchart")  # its 120 kernels are fine
    res = CliRunner().invoke(cli, ["export", "synthetic:mlp", "-p", "depth=120", "--format", "mermaid",
                                   "--level", "ops"])
    assert res.exit_code == 1 and "too many to draw" in res.output and "Traceback" not in res.output


def test_export_command_writes_files(tmp_path):
    out = tmp_path / "g.graphml"
    res = CliRunner().invoke(cli, ["export", "resnet18", "-f", "graphml", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert nx.read_graphml(out).number_of_nodes() == 21
    res = CliRunner().invoke(cli, ["export", "resnet18", "-f", "mermaid"])
    assert res.exit_code == 0 and res.stdout.startswith("flowchart TD")
