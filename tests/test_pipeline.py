"""The pipeline (`perfgraph.pipeline`): one model spec, validated once; one row vocabulary wherever a mapping
is reported (CLI JSON and CSV, the API, sweeps, the Neo4j overlay); stages that return new data."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

import perfgraph
from perfgraph import pipeline
from perfgraph.cli.main import cli
from perfgraph.engine.overlay import model_row
from perfgraph.ingest.model_source import ModelSourceError
from perfgraph.pipeline import ROW_FIELDS, MappingRow, ModelSpec
from perfgraph.vocab import Dtype, Precision, Tracer, choices, parse


# -- ModelSpec -------------------------------------------------------------------------------------------
def test_model_spec_normalises_what_the_cli_and_the_api_give():
    from_cli = ModelSpec("synthetic:mlp", batch=2, dtype="BF16", input_shape="2,64", params=("width=64", "depth=2"),
                         tracer="meta")
    from_api = ModelSpec("synthetic:mlp", batch=2, dtype=Dtype.BF16, input_shape=(2, 64),
                         params={"width": 64, "depth": 2}, tracer=Tracer.META)
    assert from_cli == from_api and hash(from_cli) == hash(from_api)
    assert from_cli.input_shape == (2, 64) and from_cli.params == (("width", "64"), ("depth", "2"))
    assert from_cli.dtype == "bf16" and from_cli.tracers == ("meta",) and ModelSpec("resnet18").tracers is None
    assert from_cli.at_batch(8).batch == 8 and from_cli.batch == 2  # frozen: a new spec
    assert json.loads(json.dumps(from_cli.as_dict()))["params"] == {"width": "64", "depth": "2"}


@pytest.mark.parametrize("kwargs, message", [
    ({"model": ""}, "non-empty"),
    ({"model": "resnet18", "batch": 0}, "batch must be a positive integer, got 0"),
    ({"model": "resnet18", "batch": True}, "batch must be a positive integer"),
    ({"model": "resnet18", "input_shape": "1,3,x"}, "bad input shape"),
    ({"model": "resnet18", "input_shape": (1, 0, 4)}, "positive integers"),
    ({"model": "resnet18", "params": ("width",)}, "write it as name=value"),
    ({"model": "resnet18", "dtype": "fp8"}, "unknown dtype 'fp8'; choose from fp32, fp16, bf16"),
    ({"model": "resnet18", "tracer": "fast"}, "unknown tracer 'fast'; choose from auto, meta, real"),
])
def test_model_spec_rejects_bad_input_in_one_line(kwargs, message):
    with pytest.raises((ModelSourceError, ValueError), match=message.replace("(", r"\(")):
        ModelSpec(**kwargs)


def test_one_vocabulary_for_click_and_the_library():
    assert choices(Precision) == ("fp32", "tf32", "fp16", "bf16", "int8")
    assert parse(Precision, " INT8 ") is Precision.INT8 and Precision.INT8 == "int8"
    import typing

    from perfgraph.hardware import microbench
    from perfgraph.hardware.spec import PRECISIONS

    assert tuple(PRECISIONS) == choices(Precision) == typing.get_args(microbench.Precision)
    analyze = cli.commands["analyze"]
    dtype = next(p for p in analyze.params if p.name == "dtype")
    assert tuple(dtype.type.choices) == choices(Dtype)
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        pipeline.precisions("bf16,fp8")


# -- pure stages -----------------------------------------------------------------------------------------
def test_partition_and_stages_return_new_graphs():
    from perfgraph.analysis import annotate_stages
    from perfgraph.ingest.partition import partition

    mg = pipeline.analyze(ModelSpec("synthetic:mlp"))
    bare = partition(mg)
    assert bare is not mg and [s.stage for s in bare.subgraphs] == [-1] * len(bare.subgraphs)
    staged = annotate_stages(bare)
    assert [s.stage for s in bare.subgraphs] == [-1] * len(bare.subgraphs)  # the input is unchanged
    assert [s.stage for s in staged.subgraphs] == [s.stage for s in mg.subgraphs]
    assert staged.info.depth == mg.info.depth and bare.info is not mg.info


# -- one row vocabulary ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mlp_rows():
    graph = pipeline.analyze(ModelSpec("synthetic:mlp", batch=4))
    return graph, pipeline.map_onto(graph, "h100,tpu-v4", ["bf16"], runtime="graph")


def test_map_onto_rows_in_the_order_asked(mlp_rows):
    graph, rows = mlp_rows
    assert [(r.hardware, r.precision, r.runtime) for r in rows] == [("h100-sxm", "bf16", "graph"),
                                                                    ("tpu-v4", "bf16", "compiled")]
    r = rows[0]
    assert r.model == graph.info.id and r.batch == 4 and r["latency_s"] == r.latency_s
    assert r.latency_s >= r.latency_concurrent_s >= r.latency_critical_path_s > 0
    assert r.throughput_per_s == pytest.approx(4 / r.latency_s)
    assert r.energy_per_inference_j == pytest.approx(r.energy_per_batch_j / 4)
    assert set(r.as_dict()) == set(ROW_FIELDS) - {"kernel_rows"}


def test_cli_json_csv_api_and_neo4j_share_the_row_keys(mlp_rows):
    graph, rows = mlp_rows
    runner = CliRunner()
    res = runner.invoke(cli, ["analyze", "synthetic:mlp", "--batch", "4", "--hardware", "h100,tpu-v4",
                              "--precision", "bf16", "--runtime", "graph", "--json"])
    assert res.exit_code == 0, res.output
    cli_rows = json.loads(res.stdout)
    assert [set(r) for r in cli_rows] == [set(r.as_dict()) for r in rows]
    assert cli_rows[0]["latency_s"] == pytest.approx(rows[0].latency_s)
    res = runner.invoke(cli, ["analyze", "synthetic:mlp", "--batch", "4", "--hardware", "h100", "--precision", "bf16",
                              "--csv"])
    header = next(csv.reader(io.StringIO(res.stdout)))
    assert {"latency_s", "latency_critical_path_s", "energy_per_inference_j", "utilization"} <= set(header)
    assert set(header) <= set(ROW_FIELDS)
    report = perfgraph.analyze("synthetic:mlp", batch=4, hardware="h100,tpu-v4", precision="bf16", runtime="graph")
    summary = report.hardware_summary()["h100-sxm"]
    assert set(summary) == set(cli_rows[0]) | {"name"} and summary["utilization"] == cli_rows[0]["utilization"]
    from perfgraph.hardware.spec import get

    props = model_row(report.mapping("h100"), get("h100"))
    assert set(props) <= set(ROW_FIELDS) and props["energy_per_inference_j"] == summary["energy_per_inference_j"]


def test_sweep_chip_columns_use_the_row_keys():
    from perfgraph import sweep as sw

    assert all(key in ROW_FIELDS for key in sw.CHIP_METRICS)
    assert sw.metric_key("energy_per_sample_j") == "energy_per_inference_j"  # the old name still plots


def test_batch_sweep_and_saturation():
    rows = pipeline.batch_sweep(ModelSpec("synthetic:mlp"), "h100", "bf16", [1, 8, 64], runtime="graph")
    assert [r.batch for r in rows] == [1, 8, 64] and all(isinstance(r, MappingRow) for r in rows)
    s = pipeline.saturation(rows)
    best = max(r.throughput_per_s for r in rows)
    assert s["best_throughput_per_s"] == best
    assert s["saturation_batch_throughput"] == min(r.batch for r in rows if r.throughput_per_s >= 0.8 * best)
    with pytest.raises(ValueError, match="needs the rows"):
        pipeline.saturation([])
