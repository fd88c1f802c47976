"""How well could any predictor score on this machine?  The measurement's own reproducibility.

`bench_validate.py` scores a prediction against ONE measurement pass.  On a shared host the measured
latency itself moves between passes (other tenants, clocks, the C allocator's state), and no predictor
can be closer to a pass than the pass is to the machine's typical speed.  This benchmark measures the
same rows as `bench_validate.py` (same models, batches, threads, runs, warm-up, `measure_eager`) in
--passes independent passes, each a fresh process, and scores a *perfect* predictor — one that knows
each row's typical latency, taken as the median of the OTHER passes (leave one pass out) — against each
pass with the same statistics as the validation (`measure.validate.error_summary`).  No calibration and
no prediction are involved: the result is the floor under issue #5's target on this host.

    .venv/bin/python benchmarks/bench_noise_floor.py [--passes 4] [--models a,b] [--batches 1,8]
        [--threads 2] [--runs 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def one_pass(names: list[str], batches: list[int], threads: int, runs: int, warmup: int, out: str) -> None:
    """Measure every row once (in this process) and write {"model/batch": median seconds}."""
    from perfgraph.measure.timing import wait_for_quiet
    from perfgraph.measure.validate import measure_eager

    rows = {}
    for name in names:
        for b in batches:
            wait_for_quiet(0.10, 60.0)
            m = measure_eager(name, batch=b, threads=threads, runs=runs, warmup=warmup)
            rows[f"{name}/{b}"] = {"median_s": m.median_s, "noise": m.noise, "disturbed": m.disturbed,
                                   "other_cpu_share": m.other_cpu_share, "faulted_bytes": m.faulted_bytes}
    with open(out, "w") as fh:
        json.dump(rows, fh)


def floor_scores(passes: list[dict[str, float]]) -> list[dict]:
    """Per pass: the error summary of the leave-one-pass-out median predictor against that pass."""
    from perfgraph.measure.validate import error_summary

    scores = []
    for i, this in enumerate(passes):
        others = [p for j, p in enumerate(passes) if j != i]
        errs = [statistics.median(p[k] for p in others) / this[k] - 1 for k in this]
        scores.append(error_summary(errs))
    return scores


def main() -> int:
    from bench_validate import SETS, add_row_args

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=4)
    add_row_args(ap)
    ap.add_argument("--json", help="write every pass and the scores here")
    ap.add_argument("--one-pass", help=argparse.SUPPRESS)  # internal: measure one pass into this file
    args = ap.parse_args()
    names = args.models.split(",") if args.models else SETS[args.model_set]
    batches = [int(b) for b in args.batches.split(",")]
    if args.one_pass:
        one_pass(names, batches, args.threads, args.runs, args.warmup, args.one_pass)
        return 0
    if args.passes < 2:
        ap.error("--passes must be >= 2 (the floor compares passes)")
    passes = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.passes):
            out = os.path.join(tmp, f"pass{i}.json")
            t = time.perf_counter()
            cmd = [sys.executable, __file__, "--one-pass", out, "--batches", args.batches, "--threads",
                   str(args.threads), "--runs", str(args.runs), "--warmup", str(args.warmup)]
            if args.models:
                cmd += ["--models", args.models]
            subprocess.run(cmd, check=True)
            with open(out) as fh:
                passes.append(json.load(fh))
            print(f"pass {i + 1}/{args.passes}: {len(passes[-1])} rows in {time.perf_counter() - t:.0f} s",
                  flush=True)
    keys = list(passes[0])
    times = [{k: p[k]["median_s"] for k in keys} for p in passes]
    print(f"\n{'row':26} " + " ".join(f"{'pass ' + str(i + 1):>9}" for i in range(len(passes)))
          + f" {'max/min':>8}")
    spreads = []
    for k in keys:
        ts = [t[k] for t in times]
        spreads.append(max(ts) / min(ts))
        print(f"{k:26} " + " ".join(f"{x * 1e3:9.2f}" for x in ts) + f" {spreads[-1]:8.2f}")
    scores = floor_scores(times)
    print("\nperfect predictor (median of the other passes) scored against each pass:")
    for i, s in enumerate(scores):
        print(f"  pass {i + 1}: median |error| {s['median_abs_error']:.1%}, within ±10 % {s['within_10pct']:.0%}, "
              f"within ±20 % {s['within_20pct']:.0%}, worst {s['worst_abs_error']:.0%}")
    print(f"  median over passes: median |error| {statistics.median(s['median_abs_error'] for s in scores):.1%}, "
          f"within ±20 % {statistics.median(s['within_20pct'] for s in scores):.0%}; "
          f"row spread max/min: median ×{statistics.median(spreads):.2f}, worst ×{max(spreads):.2f}")
    print("issue #5's target: median |error| <= 10 %, >= 90 % of rows within ±20 %")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"passes": passes, "scores": scores, "args": vars(args)}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
