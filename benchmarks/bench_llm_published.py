"""LLM serving predictions against published measurements: perfgraph, llm-analysis and GenZ on the same rows.

    .venv/bin/python benchmarks/bench_llm_published.py                      # table + summary
    .venv/bin/python benchmarks/bench_llm_published.py --json out.json      # also every row and the summary
    .venv/bin/python benchmarks/bench_llm_published.py --no-peers --rows vllm
    .venv/bin/python benchmarks/bench_llm_published.py --set holdout               # the hold-out rows
    .venv/bin/python benchmarks/bench_llm_published.py --set holdout2              # the second hold-out set
    .venv/bin/python benchmarks/bench_llm_published.py --set holdout3              # the third hold-out set
    .venv/bin/python benchmarks/bench_llm_published.py --set holdout4              # the fourth hold-out set
    .venv/bin/python benchmarks/bench_llm_published.py --set holdout5              # the fifth hold-out set
    .venv/bin/python benchmarks/bench_llm_published.py --set holdout6              # the sixth hold-out set
    .venv/bin/python benchmarks/bench_llm_published.py --set holdout7              # the seventh (two NIM rows)
    .venv/bin/python benchmarks/bench_llm_published.py --set holdout3 --engines none  # kernels only, no engine

The rows (`llm_published.ROWS`) are published measurements -- TensorRT-LLM, LMDeploy, gpt-fast, vLLM and
NVIDIA NIM figures on A100, H100 and H200 -- each with its source URL and conditions.  Nothing is fitted to
them: perfgraph predicts each row from its chip YAMLs and traced graphs as they are, and so do the peers.

Each row is predicted as `perfgraph.llm.serve(model, [chip], batches=(batch,), prompt_len, output_len,
scheme, runtime, params, tp)`: TTFT = the prefill of the batch, TPOT = one decode step at context
prompt + output / 2; the row's metric is computed from TTFT and TPOT by `derive` (the formulas are in
`llm_published`'s docstring), the same way for every tool.  Every row runs under the runtime it names
(all ``graph`` here: TensorRT-LLM, TurboMind, vLLM with CUDA graphs, torch.compile ``reduce-overhead``) and,
unless ``--engines none``, with its serving engine's host work per step (`engine_for`: vLLM's V0 engine; the
others none).

The peers run in their own virtual environment, in one subprocess (bench_llm.py's approach; create it with
`python3 -m venv /tmp/peers && /tmp/peers/bin/pip install llm-analysis genz-llm`):

* llm-analysis (`infer`): TTFT = ``prefill_latency``, TPOT = ``total_decode_latency / output_len``; its
  bundled Llama-2 configs (bench_llm.CONFIGS); for Llama-3-8B, Llama-3-70B and Mixtral-8x7B a config JSON
  with the published shapes (its MLP has two matrices, so ``ffn_embed_dim`` = 1.5 x the intermediate size
  carries the gated MLP's three); GPUs a100-sxm-80gb and h100-sxm-80gb only (no H200: rows on it are left
  out); dtypes w16a16e16, w8a8e16 with a 1-byte KV cache (FP8 rows), w8a16e16, w4a16e16.
* GenZ (`prefill_moddeling`, `decode_moddeling` at context prompt + output / 2): its model names, systems
  A100_80GB_GPU and H100_GPU, and H200 given as GenZ's own dict form with the datasheet figures (989 dense
  BF16 TFLOPS, 141 GB, 4.8 TB/s, NVLink 450 GB/s per direction, as its H100 entry); bits bf16, fp8 (FP8
  rows), int8 / int4 for weight-only rows (GenZ has no weight-only mode: activations go to 8 / 4 bits too,
  which at batch 1 changes little).

Summary: per tool, on the rows it can do, the share of rows within +-25 % and the median |error|, per
metric and per phase (decode / prefill / mixed); for prefill rows also in prefill-throughput terms (prompt
tokens / TTFT); and head to head, on the rows both tools predict, how often perfgraph is the closer.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_llm  # noqa: E402  (the peers' names for perfgraph's models and chips)
from llm_published import METRICS, PHASES  # noqa: E402

from perfgraph import llm  # noqa: E402
from perfgraph.engine.serving_engine import engine_ids  # noqa: E402

WITHIN = 0.25
TOOLS = ("perfgraph", "llm-analysis", "genz")

# llm-analysis configs for the models it does not bundle: the published config.json shapes.
LA_EXTRA_CONFIGS = {
    "Llama-3-8B": {"name": "pg_llama3_8b", "num_layers": 32, "n_head": 32, "hidden_dim": 4096,
                   "vocab_size": 128256, "max_seq_len": 8192, "num_key_value_heads": 8,
                   "ffn_embed_dim": 21504, "expansion_ratio": 5.25, "model_type": "llama"},
    "Llama-3-70B": {"name": "pg_llama3_70b", "num_layers": 80, "n_head": 64, "hidden_dim": 8192,
                    "vocab_size": 128256, "max_seq_len": 131072, "num_key_value_heads": 8,
                    "ffn_embed_dim": 43008, "expansion_ratio": 5.25, "model_type": "llama"},
    "Mistral-7B": {"name": "pg_mistral_7b", "num_layers": 32, "n_head": 32, "hidden_dim": 4096,
                   "vocab_size": 32000, "max_seq_len": 32768, "num_key_value_heads": 8,
                   "ffn_embed_dim": 21504, "expansion_ratio": 5.25, "model_type": "mistral"},
    "Mixtral-8x7B": {"name": "pg_mixtral_8x7b", "num_layers": 32, "n_head": 32, "hidden_dim": 4096,
                     "vocab_size": 32000, "max_seq_len": 32768, "num_key_value_heads": 8,
                     "ffn_embed_dim": 21504, "expansion_ratio": 5.25, "model_type": "mixtral",
                     "moe_num_experts": 8, "moe_top_k": 2},
}
GENZ_MODELS = {"Llama-2-7B": bench_llm.CONFIGS["hf:llama-7b"][1], "Llama-2-70B": bench_llm.CONFIGS["hf:llama-70b"][1],
               "Llama-3-8B": "meta-llama/Llama-3.1-8B", "Llama-3-70B": "meta-llama/Llama-3.1-70B",
               "Mixtral-8x7B": "mistralai/Mixtral-8x7B", "Mistral-7B": "mistralai/Mistral-7B"}
LA_MODELS = {"Llama-2-7B": bench_llm.CONFIGS["hf:llama-7b"][0], "Llama-2-70B": bench_llm.CONFIGS["hf:llama-70b"][0]}
# perfgraph chip -> (llm-analysis GPU or None, GenZ system name or dict)
PEER_CHIPS: dict[str, tuple[str | None, Any]] = {
    **bench_llm.CHIPS,
    "h200-sxm": (None, {"Flops": 989, "Memory_size": 141, "Memory_BW": 4800, "ICN": 450, "real_values": True}),
}
# perfgraph scheme -> (llm-analysis dtype, its KV-cache bytes, GenZ bits)
PEER_DTYPES = {"bf16": ("w16a16e16", 2, "bf16"), "int8": ("w8a8e16", 1, "fp8"),
               "w8a16": ("w8a16e16", 2, "int8"), "w4a16": ("w4a16e16", 2, "int4")}

PEER_SCRIPT = r"""
import json, sys, io, contextlib
jobs = json.load(open(sys.argv[1]))
out = []
def why(exc):
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}"
for a in jobs:
    res = {}
    if a["la_gpu"] is None:
        res["llm-analysis"] = {"skip": "no such GPU in llm-analysis"}
    else:
        try:
            from llm_analysis.analysis import infer
            with contextlib.redirect_stdout(io.StringIO()):
                r = infer(model_name=a["la_model"], gpu_name=a["la_gpu"], dtype_name=a["la_dtype"],
                          kv_cache_dtype_bytes=a["la_kv_bytes"], batch_size_per_gpu=a["batch"],
                          seq_len=a["prompt"], num_tokens_to_generate=a["output"], tp_size=a["tp"],
                          log_level="ERROR")
            res["llm-analysis"] = {"ttft_s": r["prefill_latency"], "tpot_s": r["total_decode_latency"] / a["output"]}
        except Exception as exc:
            res["llm-analysis"] = {"failed": why(exc)}
    try:
        from GenZ import prefill_moddeling, decode_moddeling
        with contextlib.redirect_stdout(io.StringIO()):
            p = prefill_moddeling(model=a["genz_model"], batch_size=a["batch"], input_tokens=a["prompt"],
                                  system_name=a["genz_chip"], bits=a["genz_bits"], tensor_parallel=a["tp"])
            d = decode_moddeling(model=a["genz_model"], batch_size=a["batch"], input_tokens=a["context"],
                                 output_tokens=1, system_name=a["genz_chip"], bits=a["genz_bits"],
                                 tensor_parallel=a["tp"])
        res["genz"] = {"ttft_s": p["Latency"] / 1e3, "tpot_s": d["Latency"] / 1e3}
    except Exception as exc:
        res["genz"] = {"failed": why(exc)}
    out.append(res)
print(json.dumps(out))
"""


def derive(row: dict, ttft_s: float, tpot_s: float) -> float:
    """The row's metric from a prediction's TTFT and TPOT (seconds); see `llm_published`'s docstring."""
    n = int(row["output_len"])
    total_s = ttft_s + (n - 1) * tpot_s
    metric = row["metric"]
    if metric == "tpot_ms":
        return tpot_s * 1e3
    if metric == "ttft_ms":
        return ttft_s * 1e3
    if metric == "e2e_ms":
        return total_s * 1e3
    if metric == "tok_s_seq":
        return n / total_s
    if metric == "out_tok_s_gpu":
        return row["batch"] * n / total_s / int(row.get("tp", 1))
    raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")


def error(row: dict, predicted: float | None) -> float | None:
    return predicted / row["value"] - 1 if predicted is not None else None


# vLLM made its V1 engine the default in release 0.8.0 (2025-03-18); the `vllm-v0` profile describes the V0 engine.
VLLM_V1_VERSION = (0, 8)
VLLM_V1_DATE = "2025-03-18"


def engine_for(row: dict) -> str:
    """The serving-engine profile a row is predicted with (`perfgraph.engine.serving_engine`), by a rule fixed
    before the fourth hold-out set was read: vLLM rows get ``vllm-v0`` unless their stated version is 0.8 or later
    or, with no version stated, their ``report date`` is on or after 0.8.0's release (the V1 engine); every other
    framework ``none`` (kernels only: TensorRT-LLM and TurboMind run their step from C++, gpt-fast has no engine).

    >>> engine_for({"framework": "vLLM 0.5.3.post1", "conditions": ""})
    'vllm-v0'
    >>> engine_for({"framework": "vLLM v0.9.1", "conditions": ""}), engine_for({"framework": "TensorRT-LLM v0.5"})
    ('none', 'none')
    >>> engine_for({"framework": "vLLM (version not stated)", "conditions": "report date 2025-06-01"})
    'none'
    """
    framework = str(row.get("framework", ""))
    if not framework.lower().startswith("vllm"):
        return "none"
    version = re.search(r"vllm\s+v?(\d+)\.(\d+)", framework, re.IGNORECASE)
    if version:
        return "none" if (int(version[1]), int(version[2])) >= VLLM_V1_VERSION else "vllm-v0"
    date = re.search(r"report date (\d{4}-\d{2}-\d{2})", str(row.get("conditions", "")))
    return "none" if date and date[1] >= VLLM_V1_DATE else "vllm-v0"


def perfgraph_predict(row: dict, engines: bool = True) -> dict:
    """perfgraph's TTFT and TPOT for a row; with `engines`, under the row's serving-engine profile (`engine_for`)."""
    engine = engine_for(row) if engines else "none"
    try:
        r = llm.serve(row["model"], [row["chip"]], batches=(row["batch"],), prompt_len=row["prompt_len"],
                      output_len=row["output_len"], scheme=row["scheme"], runtime=row["runtime"],
                      params=row["params"] or None, tp=row["tp"], engine=engine)[0]
    except Exception as exc:  # noqa: BLE001 - report the row, keep going
        return {"failed": f"{type(exc).__name__}: {exc}"[:200]}
    return {"ttft_s": r["ttft_s"], "tpot_s": r["tpot_s"], "tier": r.get("tier", ""),
            "decode_bound": r.get("decode_bound", ""), "fits": r["fits"], "engine": engine}


# perfgraph model (without parameter overrides) -> the peers' name, for rows whose `arch` names it otherwise
PEER_ARCH_OF_MODEL = {"hf:llama-7b": "Llama-2-7B", "hf:llama-70b": "Llama-2-70B", "hf:llama3-8b": "Llama-3-8B",
                      "hf:mistral-7b": "Mistral-7B", "hf:mixtral-8x7b": "Mixtral-8x7B"}


def peer_arch(row: dict) -> str:
    """The peers' name of a row's model: its `arch` where the peers know it, else its perfgraph model's.

    >>> peer_arch({"arch": "LLaMA 7B (Llama-2-7B shapes)", "model": "hf:llama-7b", "params": {}})
    'Llama-2-7B'
    """
    if row["arch"] in GENZ_MODELS or row["params"]:
        return row["arch"]
    return PEER_ARCH_OF_MODEL.get(row["model"], row["arch"])


def peer_jobs(rows: list[dict], config_dir: Path) -> list[dict]:
    jobs = []
    for row in rows:
        la_gpu, genz_chip = PEER_CHIPS.get(row["chip"], (None, None))
        # the peers take no group size: a group-suffixed scheme is their plain weight-only dtype
        la_dtype, la_kv, genz_bits = PEER_DTYPES[llm.split_scheme(row["scheme"])[0]]
        arch = peer_arch(row)
        la_model = LA_MODELS.get(arch)
        if la_model is None and arch in LA_EXTRA_CONFIGS:
            path = config_dir / f"{LA_EXTRA_CONFIGS[arch]['name']}.json"
            path.write_text(json.dumps(LA_EXTRA_CONFIGS[arch]))
            la_model = str(path)
        jobs.append({"la_model": la_model, "la_gpu": la_gpu if la_model else None, "la_dtype": la_dtype,
                     "la_kv_bytes": la_kv, "genz_model": GENZ_MODELS.get(arch), "genz_chip": genz_chip,
                     "genz_bits": genz_bits, "batch": row["batch"], "prompt": row["prompt_len"],
                     "output": row["output_len"], "tp": row["tp"],
                     "context": row["prompt_len"] + row["output_len"] // 2})
    return jobs


def run_peers(python: str, rows: list[dict]) -> list[dict]:
    """One subprocess of the peers' interpreter for all rows; on failure every row says why."""
    with tempfile.TemporaryDirectory() as tmp:
        jobs_path = Path(tmp) / "jobs.json"
        jobs_path.write_text(json.dumps(peer_jobs(rows, Path(tmp))))
        try:
            res = subprocess.run([python, "-c", PEER_SCRIPT, str(jobs_path)], capture_output=True, text=True,
                                 timeout=3600)
            return json.loads(res.stdout.strip().splitlines()[-1])
        except Exception as exc:  # noqa: BLE001 - the peers are optional
            msg = f"peers unavailable: {type(exc).__name__}: {exc}"[:200]
            return [{"llm-analysis": {"failed": msg}, "genz": {"failed": msg}} for _ in rows]


def evaluate(rows: list[dict], peers: list[dict] | None, engines: bool = True) -> list[dict]:
    results = []
    for i, row in enumerate(rows):
        entry = {**{k: row[k] for k in ("id", "arch", "chip", "tp", "scheme", "batch", "prompt_len", "output_len",
                                        "metric", "phase", "value", "runtime", "framework")},
                 "source": row["source"][0], "predictions": {}}
        preds = {"perfgraph": perfgraph_predict(row, engines)}
        if peers is not None:
            preds.update(peers[i])
        for tool, p in preds.items():
            if "ttft_s" in p:
                value = derive(row, p["ttft_s"], p["tpot_s"])
                p = {**p, "value": value, "error": error(row, value)}
                if row["metric"] == "ttft_ms":  # prefill throughput (prompt tokens / TTFT): published / predicted
                    p["prefill_throughput_error"] = row["value"] / value - 1
            entry["predictions"][tool] = p
        results.append(entry)
        print(_line(entry), flush=True)
    return results


ENGINE_NAMES = tuple(engine_ids())  # the summary's per-engine split
# Batch sizes reported apart: engine work per step that grows with the sequences in flight shows up as a split.
BATCH_BUCKETS = {"batch 1": (1, 1), "batch 2-16": (2, 16), "batch 17+": (17, 1 << 30)}


def _stats(errors: list[float]) -> dict:
    if not errors:
        return {"rows": 0}
    return {"rows": len(errors), "within_25pct": sum(abs(e) <= WITHIN for e in errors) / len(errors),
            "median_abs_error": statistics.median(abs(e) for e in errors),
            "median_error": statistics.median(errors)}


def _reason(pred: dict | None) -> str:
    if pred is None:
        return "not run"
    return pred.get("skip") or pred.get("failed") or "no prediction"


def summarize(results: list[dict]) -> dict:
    out: dict[str, Any] = {}
    for tool in TOOLS:
        done = [r for r in results if "value" in r["predictions"].get(tool, {})]
        errs = lambda rs: [r["predictions"][tool]["error"] for r in rs]  # noqa: E731
        tool_out = {"all": _stats(errs(done)),
                    "per_metric": {m: _stats(errs([r for r in done if r["metric"] == m])) for m in METRICS},
                    "per_phase": {ph: _stats(errs([r for r in done if r["phase"] == ph])) for ph in PHASES},
                    "per_batch": {name: _stats(errs([r for r in done if low <= r["batch"] <= high]))
                                  for name, (low, high) in BATCH_BUCKETS.items()},
                    "per_engine": {e: _stats(errs([r for r in done if r["predictions"][tool].get("engine") == e]))
                                   for e in ENGINE_NAMES} if tool == "perfgraph" else {},
                    "not_fitting": sorted(r["id"] for r in done if r["predictions"][tool].get("fits") is False),
                    "prefill_throughput": _stats([r["predictions"][tool]["prefill_throughput_error"]
                                                  for r in done if r["metric"] == "ttft_ms"]),
                    "not_predicted": {r["id"]: _reason(r["predictions"].get(tool)) for r in results
                                      if r not in done}}
        out[tool] = tool_out
    head = {}
    for peer in TOOLS[1:]:
        both = [r for r in results if "value" in r["predictions"].get("perfgraph", {})
                and "value" in r["predictions"].get(peer, {})]
        pg = [abs(r["predictions"]["perfgraph"]["error"]) for r in both]
        other = [abs(r["predictions"][peer]["error"]) for r in both]
        head[peer] = {"rows": len(both), "perfgraph_closer": sum(a < b for a, b in zip(pg, other)),
                      "perfgraph": _stats([r["predictions"]["perfgraph"]["error"] for r in both]),
                      peer: _stats([r["predictions"][peer]["error"] for r in both])}
    out["head_to_head"] = head
    return out


def _pct(e):
    return f"{e * 100:+6.0f}%" if isinstance(e, (int, float)) else f"{'-':>7}"


def _num(x):
    if not isinstance(x, (int, float)):
        return f"{'-':>9}"
    return f"{x:9.1f}" if x >= 10 else f"{x:9.2f}"


def _line(entry: dict) -> str:
    p = entry["predictions"]
    pg = p.get("perfgraph", {})
    peers = "  ".join(_pct(p.get(t, {}).get("error")) for t in TOOLS[1:])
    note = pg.get("failed", "") if "value" not in pg else pg.get("decode_bound", "")
    if pg.get("engine", "none") != "none":
        note += f", engine {pg['engine']}"
    if pg.get("fits") is False:  # perfgraph's own memory answer: an engine could not hold this batch at once
        note += ", batch does not fit"
    return (f"{entry['id']:38} {entry['metric']:13} {_num(entry['value'])} {_num(pg.get('value'))} "
            f"{_pct(pg.get('error'))}  {peers}  {note}")


def _fmt_stats(s: dict) -> str:
    if not s.get("rows"):
        return "no rows"
    return (f"{s['rows']:2d} rows, within +-25 %: {s['within_25pct'] * 100:3.0f} %, median |error| "
            f"{s['median_abs_error'] * 100:4.0f} % (median error {s['median_error'] * 100:+.0f} %)")


def print_summary(summary: dict) -> None:
    print("\nSummary (error = predicted / published - 1, on the published metric)")
    for tool in TOOLS:
        s = summary[tool]
        missing = f"; not predicted: {len(s['not_predicted'])}" if s["not_predicted"] else ""
        print(f"{tool}: {_fmt_stats(s['all'])}{missing}")
        for key in ("per_phase", "per_batch", "per_engine", "per_metric"):
            for name, st in s[key].items():
                if st.get("rows"):
                    print(f"    {name:14} {_fmt_stats(st)}")
        if s["prefill_throughput"].get("rows"):
            print(f"    {'prefill tok/s':14} {_fmt_stats(s['prefill_throughput'])}")
        if s["not_fitting"]:
            print(f"    {len(s['not_fitting'])} row(s) whose batch does not fit on the chips at the final context "
                  f"(perfgraph's memory answer; timed as if it did): {', '.join(s['not_fitting'])}")
    for peer, h in summary["head_to_head"].items():
        if h["rows"]:
            print(f"perfgraph vs {peer} on the {h['rows']} rows both predict: perfgraph closer on "
                  f"{h['perfgraph_closer']}; median |error| perfgraph {h['perfgraph']['median_abs_error'] * 100:.0f} "
                  f"%, {peer} {h[peer]['median_abs_error'] * 100:.0f} %")


# --set name -> (module beside this file, its list of rows)
ROW_SETS = {"published": ("llm_published", "ROWS"), "holdout": ("llm_published_holdout", "HOLDOUT_ROWS"),
            "holdout2": ("llm_published_holdout2", "HOLDOUT2_ROWS"),
            "holdout3": ("llm_published_holdout3", "HOLDOUT3_ROWS"),
            "holdout4": ("llm_published_holdout4", "HOLDOUT4_ROWS"),
            "holdout5": ("llm_published_holdout5", "HOLDOUT5_ROWS"),
            "holdout6": ("llm_published_holdout6", "HOLDOUT6_ROWS"),
            "holdout7": ("llm_published_holdout7", "HOLDOUT7_ROWS")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers-python", default="/tmp/peers/bin/python")
    ap.add_argument("--no-peers", action="store_true", help="perfgraph only")
    ap.add_argument("--set", dest="row_set", choices=tuple(ROW_SETS), default="published",
                    help="published: the 33 rows of llm_published.py (seen while developing the model); holdout: "
                         "llm_published_holdout.py, collected before any prediction was made on them; holdout2 "
                         "to holdout7: llm_published_holdout2.py .. _holdout7.py, further such sets, each "
                         "collected after the one before it was scored")
    ap.add_argument("--engines", choices=("rule", "none"), default="rule",
                    help="rule: each row under its serving engine's host work per step (`engine_for`); none: "
                         "kernels only for every row (how every set was scored before the engine profiles)")
    ap.add_argument("--rows", default="", help="only rows whose id contains this text")
    ap.add_argument("--json", metavar="PATH", help="write every row and the summary as JSON")
    args = ap.parse_args(argv)
    module, name = ROW_SETS[args.row_set]
    source_rows = getattr(importlib.import_module(module), name)
    rows = [r for r in source_rows if args.rows in r["id"]]
    if not rows:
        print(f"no row id contains {args.rows!r}", file=sys.stderr)
        return 2
    peers = None if args.no_peers else run_peers(args.peers_python, rows)
    print(f"{'row':38} {'metric':13} {'published':>9} {'perfgraph':>9} {'error':>7}  {'llm-an.':>7}  "
          f"{'genz':>7}  perfgraph decode bound")
    results = evaluate(rows, peers, engines=args.engines == "rule")
    summary = summarize(results)
    print_summary(summary)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": results, "summary": summary}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
