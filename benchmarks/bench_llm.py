"""LLM serving predictions: perfgraph beside the peers genz-llm (GenZ) and llm-analysis, and the README table.

    .venv/bin/python benchmarks/bench_llm.py --readme                  # Llama-2-7B on five chips (README table)
    .venv/bin/python benchmarks/bench_llm.py --peers-python /tmp/peers/bin/python

The peers are installed in their own virtual environment (they must not touch perfgraph's):
`python3 -m venv /tmp/peers && /tmp/peers/bin/pip install llm-analysis genz-llm`; they run in a subprocess of
that interpreter.  Conditions for every row: bf16 weights and KV cache, one chip, no parallelism, prompt
512 tokens, 256 generated; perfgraph's TPOT is one decode step at context 640 (prompt + output / 2),
GenZ's one decode step at the same context, llm-analysis' its mean per-token decode latency over the 256
tokens.  Memory: weights + KV cache at 768 tokens (+ activations for perfgraph and llm-analysis' prefill).
No tool here is fitted to measurements; this compares predictions with predictions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

PROMPT, OUTPUT = 512, 256
CONFIGS = {  # perfgraph model -> (llm-analysis bundled config, GenZ model name)
    "hf:llama-7b": ("NousResearch_Llama-2-7b-hf", "meta-llama/Llama-2-7B"),
    "hf:llama-70b": ("upstage_Llama-2-70b-instruct-v2", "meta-llama/Llama-2-70B"),
}
CHIPS = {"a100-sxm-80gb": ("a100-sxm-80gb", "A100_80GB_GPU"), "h100-sxm": ("h100-sxm-80gb", "H100_GPU")}
README_CHIPS = ("h100-sxm", "a100-sxm-80gb", "h200-sxm", "l4", "tpu-v5e")

PEER_SCRIPT = r"""
import json, sys, io, contextlib
args = json.loads(sys.argv[1])
out = {}
try:
    from llm_analysis.analysis import infer
    with contextlib.redirect_stdout(io.StringIO()):
        r = infer(model_name=args["la_model"], gpu_name=args["la_gpu"], dtype_name="w16a16e16",
                  batch_size_per_gpu=args["batch"], seq_len=args["prompt"],
                  num_tokens_to_generate=args["output"], log_level="ERROR")
    out["llm-analysis"] = {"ttft_s": r["prefill_latency"], "tpot_s": r["total_decode_latency"] / args["output"],
                           "memory_bytes": r["weight_memory_per_gpu"] + r["kv_cache_memory_per_gpu"]
                                           + r["prefill_activation_memory_per_gpu"]}
except Exception as exc:
    out["llm-analysis"] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
try:
    from GenZ import prefill_moddeling, decode_moddeling
    with contextlib.redirect_stdout(io.StringIO()):
        p = prefill_moddeling(model=args["genz_model"], batch_size=args["batch"], input_tokens=args["prompt"],
                              system_name=args["genz_chip"], bits="bf16")
        d = decode_moddeling(model=args["genz_model"], batch_size=args["batch"], input_tokens=args["context"],
                             output_tokens=1, system_name=args["genz_chip"], bits="bf16")
    out["genz"] = {"ttft_s": p["Latency"] / 1e3, "tpot_s": d["Latency"] / 1e3, "memory_bytes": None}
except Exception as exc:
    out["genz"] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
print(json.dumps(out))
"""


def perfgraph_rows(model: str, chips, batches, runtime: str):
    from perfgraph import llm

    return llm.serve(model, list(chips), batches=batches, prompt_len=PROMPT, output_len=OUTPUT, scheme="bf16",
                     runtime=runtime)


def peers(python: str, model: str, chip: str, batch: int) -> dict:
    la_model, genz_model = CONFIGS[model]
    la_gpu, genz_chip = CHIPS[chip]
    args = {"la_model": la_model, "genz_model": genz_model, "la_gpu": la_gpu, "genz_chip": genz_chip,
            "batch": batch, "prompt": PROMPT, "output": OUTPUT, "context": PROMPT + OUTPUT // 2}
    try:
        res = subprocess.run([python, "-c", PEER_SCRIPT, json.dumps(args)], capture_output=True, text=True,
                             timeout=600)
        return json.loads(res.stdout.strip().splitlines()[-1])
    except Exception as exc:  # noqa: BLE001 - report the peer as unavailable, keep going
        return {"error": f"peers unavailable: {type(exc).__name__}: {exc}"[:200]}


def _ms(x):
    return f"{x * 1e3:8.2f}" if isinstance(x, (int, float)) else f"{'-':>8}"


def _gb(x):
    return f"{x / 1e9:7.1f}" if isinstance(x, (int, float)) else f"{'-':>7}"


def side_by_side(python: str, models, batches, runtime: str) -> None:
    print(f"prompt {PROMPT}, output {OUTPUT}, bf16, one chip; perfgraph runtime {runtime}")
    print(f"{'model':14} {'chip':14} {'batch':>5} {'tool':13} {'TTFT ms':>8} {'TPOT ms':>8} {'mem GB':>7}")
    for model in models:
        t0 = time.perf_counter()
        rows = perfgraph_rows(model, CHIPS, batches, runtime)
        took = time.perf_counter() - t0
        for r in rows:
            print(f"{model:14} {r['hardware']:14} {r['batch']:5d} {'perfgraph':13} {_ms(r['ttft_s'])} "
                  f"{_ms(r['tpot_s'])} {_gb(r['memory_bytes'])}  (tier {r.get('tier', '?')})")
            got = peers(python, model, r["hardware"], r["batch"])
            for tool in ("llm-analysis", "genz"):
                p = got.get(tool, got)
                if "error" in p:
                    print(f"{'':14} {'':14} {'':5} {tool:13} {p['error']}")
                else:
                    print(f"{'':14} {'':14} {'':5} {tool:13} {_ms(p['ttft_s'])} {_ms(p['tpot_s'])} "
                          f"{_gb(p['memory_bytes'])}")
        print(f"# perfgraph traced and mapped {model} in {took:.1f} s")


def readme_table(runtime: str, batches) -> None:
    rows = perfgraph_rows("hf:llama-7b", README_CHIPS, batches, runtime)
    print(f"Llama-2-7B, bf16, prompt {PROMPT}, output {OUTPUT} (TPOT at context {PROMPT + OUTPUT // 2}), "
          f"runtime {runtime}, one chip")
    print("| chip | batch | TTFT | TPOT | tokens/s | memory | fits | tier |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        print(f"| {r['hardware']} | {r['batch']} | {r['ttft_s'] * 1e3:.1f} ms | {r['tpot_s'] * 1e3:.2f} ms | "
              f"{r['tokens_per_s']:.0f} | {r['memory_bytes'] / 1e9:.1f} GB | {'yes' if r['fits'] else 'no'} | "
              f"{r.get('tier', '')} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", action="store_true", help="Only the README table (Llama-2-7B on five chips).")
    ap.add_argument("--peers-python", default="/tmp/peers/bin/python")
    ap.add_argument("--models", default="hf:llama-7b", help="Comma-separated, of: " + ", ".join(CONFIGS))
    ap.add_argument("--batch", default="1,16")
    ap.add_argument("--runtime", default="graph")
    args = ap.parse_args(argv)
    batches = tuple(int(b) for b in args.batch.split(","))
    if args.readme:
        readme_table(args.runtime, batches)
        return 0
    side_by_side(args.peers_python, [m for m in args.models.split(",") if m], batches, args.runtime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
