"""Serving-engine profiles (`engine.serving_engine`): host work per step, added to TTFT and TPOT by `llm.serve`,
chosen with `llm serve --engine`; and the rule the published-results bench uses to pick a row's engine."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from perfgraph import llm
from perfgraph.cli.main import cli
from perfgraph.engine import serving_engine

SMALL = {"hidden_size": "64", "num_hidden_layers": "2", "num_attention_heads": "4", "num_key_value_heads": "2",
         "intermediate_size": "128", "vocab_size": "256"}
SMALL_ARGS = [a for k, v in SMALL.items() for a in ("-p", f"{k}={v}")]
BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_vllm_profile_is_the_sourced_per_sequence_figure():
    """20 ms over a batch of 200 (vLLM #6801) is 0.1 ms per sequence: 6.4 ms at 64 sequences, 0.1 ms at one;
    `none` costs nothing. The source is cited beside the number."""
    vllm = serving_engine.get("vllm-v0")
    assert vllm.host_s(64) == pytest.approx(6.4e-3) and vllm.host_s(1) == pytest.approx(1.0e-4)
    assert serving_engine.get("none").host_s(256) == 0.0 and serving_engine.get(None).id == "none"
    assert "issues/6801" in vllm.sources["host_s_per_sequence"] and "20ms" in vllm.sources["host_s_per_sequence"]
    assert serving_engine.engine_ids()[0] == "none"


def test_every_profile_names_a_source_for_each_nonzero_figure():
    data = yaml.safe_load(serving_engine._DATA.read_text(encoding="utf-8"))
    for row in data["engines"]:
        assert row["overlap"] in serving_engine.OVERLAPS
        for key in ("host_s_per_step", "host_s_per_sequence"):
            assert row[key] >= 0
            if row[key] > 0:
                assert row["sources"].get(key, "").strip(), (row["id"], key)


def test_an_unknown_engine_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"unknown serving engine 'sglang'; choose one of none, vllm-v0"):
        serving_engine.get("sglang")


def test_serve_adds_the_engine_host_work_to_every_step():
    """With `engine="vllm-v0"` TTFT and TPOT are the kernels-only ones plus 0.1 ms x batch each; tokens/s follow
    the longer step, and the assumption is printed with the row."""
    kw = dict(batches=(1, 8), prompt_len=32, output_len=16, params=SMALL, runtime="graph")
    bare = llm.serve("hf:llama", ["h100"], **kw)
    with_engine = llm.serve("hf:llama", ["h100"], engine="vllm-v0", **kw)
    for b, e in zip(bare, with_engine):
        host = 1.0e-4 * b["batch"]
        assert e["host_s_per_step"] == pytest.approx(host) and b["host_s_per_step"] == 0.0
        assert e["tpot_s"] == pytest.approx(b["tpot_s"] + host) and e["ttft_s"] == pytest.approx(b["ttft_s"] + host)
        assert e["tokens_per_s"] == pytest.approx(e["batch"] / e["tpot_s"])
        assert e["engine"] == "vllm-v0" and b["engine"] == "none"
        assert any(a.startswith("engine vllm-v0") for a in e["assumptions"]) and b["assumptions"] == []
    # the tiny model's kernels take microseconds: the host work outlasts them, and the row says so
    assert with_engine[1]["decode_bound"] == "host" and bare[1]["decode_bound"] != "host"


def test_cli_serve_engine_option():
    """`--engine vllm-v0` adds a host/step column and says what it counts; the default says none is counted; a bad
    name is click's one-line error."""
    base = ["llm", "serve", "hf:llama", "--hardware", "h100", "--batch", "1,8", "--prompt", "16", "--output", "8",
            "--runtime", "graph", *SMALL_ARGS]
    res = CliRunner().invoke(cli, [*base, "--engine", "vllm-v0"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Serving engine vllm-v0" in text and "0.1 ms per sequence" in text
    plain = CliRunner().invoke(cli, base)
    assert plain.exit_code == 0 and "Serving engine: none" in " ".join(plain.output.split())
    rows = json.loads(CliRunner().invoke(cli, [*base, "--engine", "vllm-v0", "--json"]).output)
    assert [r["host_s_per_step"] for r in rows] == pytest.approx([1.0e-4, 8.0e-4])
    bad = CliRunner().invoke(cli, [*base, "--engine", "bogus"])
    assert bad.exit_code == 2 and "Invalid value for '--engine'" in bad.output and "Traceback" not in bad.output


def _bench():
    saved = list(sys.path)
    sys.path.insert(0, str(BENCH))  # the bench imports its neighbours by name
    try:
        spec = importlib.util.spec_from_file_location("bench_llm_published", BENCH / "bench_llm_published.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path[:] = saved


@pytest.mark.parametrize("framework, conditions, expected", [
    ("vLLM 0.5.3.post1", "", "vllm-v0"),
    ("vLLM v0.7.3", "", "vllm-v0"),
    ("vLLM 0.8.0", "", "none"),
    ("vLLM 0.10.1", "", "none"),
    ("vLLM (version not stated)", "report date 2024-01-22", "vllm-v0"),
    ("vLLM (version not stated)", "report date 2025-03-18", "none"),
    ("vLLM (LLM-Inference-Bench)", "2024 runs", "vllm-v0"),
    ("TensorRT-LLM v0.5", "", "none"),
    ("gpt-fast", "", "none"),
])
def test_the_bench_picks_a_rows_engine_by_its_framework_version_or_date(framework, conditions, expected):
    assert _bench().engine_for({"framework": framework, "conditions": conditions}) == expected


def test_the_bench_summary_splits_by_engine():
    bench = _bench()

    def result(rid, engine, err):
        return {"id": rid, "batch": 64, "metric": "e2e_ms", "phase": "mixed",
                "predictions": {"perfgraph": {"value": 1.0, "error": err, "fits": True, "engine": engine}}}

    per_engine = bench.summarize([result("a", "vllm-v0", 0.1), result("b", "vllm-v0", -0.3),
                                  result("c", "none", 0.05)])["perfgraph"]["per_engine"]
    assert per_engine["vllm-v0"]["rows"] == 2 and per_engine["vllm-v0"]["within_25pct"] == 0.5
    assert per_engine["none"]["rows"] == 1
