"""benchmarks/llm_published.py: every published LLM serving row is well-formed and names what perfgraph knows.

Fast: reads the data and the models' configs (`llm.architecture`), traces nothing.  The metric formulas of
benchmarks/bench_llm_published.py are checked on hand-worked numbers.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from perfgraph import llm, llm_parallel
from perfgraph.engine.runtime import RUNTIMES
from perfgraph.hardware.spec import get
from perfgraph.ingest.hf_models import list_names

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    saved = list(sys.path)
    sys.path.insert(0, str(BENCH))  # bench_llm_published imports its neighbours by name
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path[:] = saved


DATA = _load("llm_published")
HOLDOUT = _load("llm_published_holdout")
HOLDOUT2 = _load("llm_published_holdout2")
HOLDOUT3 = _load("llm_published_holdout3")
HOLDOUT4 = _load("llm_published_holdout4")
HOLDOUT5 = _load("llm_published_holdout5")
HOLDOUT6 = _load("llm_published_holdout6")
HOLDOUT7 = _load("llm_published_holdout7")
ALL_ROWS = (DATA.ROWS + HOLDOUT.HOLDOUT_ROWS + HOLDOUT2.HOLDOUT2_ROWS + HOLDOUT3.HOLDOUT3_ROWS
            + HOLDOUT4.HOLDOUT4_ROWS + HOLDOUT5.HOLDOUT5_ROWS + HOLDOUT6.HOLDOUT6_ROWS + HOLDOUT7.HOLDOUT7_ROWS)
REQUIRED = ("id", "source", "framework", "runtime", "arch", "model", "params", "chip", "tp", "precision", "scheme",
            "batch", "prompt_len", "output_len", "metric", "value", "phase", "conversion", "conditions")


def test_rows_are_unique_and_enough():
    ids = [r["id"] for r in ALL_ROWS]  # the hold-out set never reuses an id of the development set
    assert len(ids) == len(set(ids))
    for rows in (DATA.ROWS, HOLDOUT.HOLDOUT_ROWS, HOLDOUT2.HOLDOUT2_ROWS, HOLDOUT3.HOLDOUT3_ROWS,
                 HOLDOUT6.HOLDOUT6_ROWS):
        assert len(rows) >= 15
    # the fourth, fifth and seventh searches found few qualifying reports
    assert len(HOLDOUT4.HOLDOUT4_ROWS) >= 5 and len(HOLDOUT5.HOLDOUT5_ROWS) >= 4 and len(HOLDOUT7.HOLDOUT7_ROWS) >= 2
    for held_out in (HOLDOUT, HOLDOUT2, HOLDOUT3, HOLDOUT4, HOLDOUT5, HOLDOUT6, HOLDOUT7):
        assert held_out.METRICS == DATA.METRICS and held_out.PHASES == DATA.PHASES


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda r: r["id"])
def test_row_is_well_formed(row):
    assert all(key in row for key in REQUIRED), [k for k in REQUIRED if k not in row]
    url, title = row["source"]
    assert url.startswith("https://") and " " not in url
    assert title.strip()
    assert len(row["conditions"]) >= 20 and row["conversion"].strip() and row["framework"].strip()
    assert isinstance(row["value"], (int, float)) and row["value"] > 0
    assert row["metric"] in DATA.METRICS and row["phase"] in DATA.PHASES
    assert row["runtime"] in RUNTIMES
    assert llm.check_scheme(row["scheme"]) == row["scheme"]  # a scheme, a weight-only one with a group suffix
    for key in ("batch", "prompt_len", "output_len", "tp"):
        assert isinstance(row[key], int) and row[key] >= 1, key
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in row["params"].items())


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda r: r["id"])
def test_row_names_a_model_and_chip_perfgraph_knows(row):
    assert row["model"].startswith("hf:") and row["model"][3:] in list_names()
    assert get(row["chip"]).id == row["chip"]
    arch = llm.architecture(row["model"], row["params"])
    llm_parallel.check_degrees(arch, row["tp"], 1)  # heads, KV heads and the MLP split evenly
    assert arch.max_positions is None or row["prompt_len"] + row["output_len"] <= arch.max_positions


def test_metric_formulas_on_worked_numbers():
    bench = _load("bench_llm_published")
    row = {"output_len": 200, "batch": 8, "tp": 2, "metric": "tok_s_seq"}
    # TTFT 10 ms + 199 steps of 5 ms = 1.005 s for 200 tokens
    assert bench.derive(row, 0.010, 0.005) == pytest.approx(200 / 1.005)
    assert bench.derive({**row, "metric": "e2e_ms"}, 0.010, 0.005) == pytest.approx(1005.0)
    assert bench.derive({**row, "metric": "tpot_ms"}, 0.010, 0.005) == pytest.approx(5.0)
    assert bench.derive({**row, "metric": "ttft_ms"}, 0.010, 0.005) == pytest.approx(10.0)
    # 8 sequences x 200 tokens over 1.005 s, per GPU of 2
    assert bench.derive({**row, "metric": "out_tok_s_gpu"}, 0.010, 0.005) == pytest.approx(8 * 200 / 1.005 / 2)
    assert bench.error({"value": 4.0}, 5.0) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="unknown metric"):
        bench.derive({**row, "metric": "bogus"}, 0.01, 0.005)


def test_the_bench_runs_a_hold_out_row_end_to_end(capsys):
    """`bench_llm_published.py --set holdout --no-peers --rows ID` (the docs' command, one row): the row is
    predicted and summarised; an id that matches nothing is a clear error."""
    bench = _load("bench_llm_published")
    saved = list(sys.path)
    sys.path.insert(0, str(BENCH))  # the bench imports the hold-out rows by name
    try:
        assert bench.main(["--set", "holdout", "--no-peers", "--rows", "torchao-a100-l3-8b-bf16"]) == 0
        out = capsys.readouterr().out
        assert "torchao-a100-l3-8b-bf16" in out and "perfgraph:  1 rows" in out
        assert bench.main(["--set", "holdout", "--no-peers", "--rows", "no-such-row"]) == 2
        assert "no row id contains 'no-such-row'" in capsys.readouterr().err
        # the second hold-out set, the same way
        assert bench.main(["--set", "holdout2", "--no-peers", "--rows", "torchao-old-a100-l2-7b-bf16"]) == 0
        out = capsys.readouterr().out
        assert "torchao-old-a100-l2-7b-bf16" in out and "perfgraph:  1 rows" in out
        # and the third
        assert bench.main(["--set", "holdout3", "--no-peers", "--rows", "alcf-vllm-h100-l3-8b-b1-128"]) == 0
        out = capsys.readouterr().out
        assert "alcf-vllm-h100-l3-8b-b1-128" in out and "batch 1         1 rows" in out
        # and the fourth, whose vLLM rows run under the vllm-v0 engine profile (engine_for)
        assert bench.main(["--set", "holdout4", "--no-peers", "--rows", "h4-vllm2542-h100-mixtral-tp8-b16"]) == 0
        out = capsys.readouterr().out
        assert "engine vllm-v0" in out and "vllm-v0         1 rows" in out
        # --engines none: the same row kernels only
        assert bench.main(["--set", "holdout4", "--no-peers", "--engines", "none", "--rows",
                           "h4-vllm2542-h100-mixtral-tp8-b16"]) == 0
        out = capsys.readouterr().out
        assert "engine vllm-v0" not in out and "none            1 rows" in out
    finally:
        sys.path[:] = saved


def test_the_summary_splits_by_batch_and_names_rows_that_do_not_fit():
    """`summarize` on hand-made results: batch buckets hold the right rows, and a row perfgraph says does not fit
    is listed (and only for perfgraph, which answers memory)."""
    bench = _load("bench_llm_published")

    def result(rid, batch, err, fits=True):
        return {"id": rid, "batch": batch, "metric": "e2e_ms", "phase": "mixed",
                "predictions": {"perfgraph": {"value": 1.0, "error": err, "fits": fits},
                                "llm-analysis": {"value": 1.0, "error": -err}}}

    summary = bench.summarize([result("a", 1, 0.10), result("b", 1, -0.05), result("c", 8, 0.30),
                               result("d", 64, -0.50, fits=False)])
    per_batch = summary["perfgraph"]["per_batch"]
    assert per_batch["batch 1"]["rows"] == 2 and per_batch["batch 1"]["within_25pct"] == 1.0
    assert per_batch["batch 2-16"]["rows"] == 1 and per_batch["batch 2-16"]["within_25pct"] == 0.0
    assert per_batch["batch 17+"]["median_error"] == pytest.approx(-0.50)
    assert summary["perfgraph"]["not_fitting"] == ["d"] and summary["llm-analysis"]["not_fitting"] == []
    line = bench._line({"id": "d", "metric": "e2e_ms", "value": 2.0,
                        "predictions": {"perfgraph": {"value": 1.0, "error": -0.5, "fits": False,
                                                      "decode_bound": "memory"}}})
    assert line.endswith("memory, batch does not fit")
