"""Calibration stability: do two calibrations of this machine predict the same models?

Runs `--calibrations` full calibrations (`measure.calibrate.run_calibration`) with `--rounds` interleaved
rounds each and, as the peer measured in the same run, as many of the `--peer` kind, alternating the two so
that neither gets the quieter phase of the host: `phase` (default) the same rounds with the synthetic
networks' timings brought to the tables' phase (`run_calibration(phase_scaling=True)`, an option that is
off by default), `rounds1` one round (what calibrate did before rounds), `share` no calibration of its own:
each calibration's in-sequence term refitted on its own synthetic networks with the time-proportional part
(`fit_with_rounds(proportional=True)`, an option that is off by default). Every profile
then predicts the same models (bench_validate's developed and hold-out sets, batch 1 and 8, fp32, traced
once); per row the spread is slowest / fastest prediction over the calibrations of one kind. Nothing is
measured on the models and nothing is fitted: this scores the calibration's reproducibility only.
Issue #18's goal: two calibrations on a quiet host predict within 5 % of each other.

    .venv/bin/python benchmarks/bench_calibration_stability.py [--calibrations 2] [--rounds 2] [--threads 2]
        [--batches 1,8] [--peer phase|rounds1|share] [--json out.json]

Each full calibration takes minutes; the whole run about (calibrations x (rounds + 1)) x 3 minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_validate import HOLDOUT, MODELS  # noqa: E402  (the model lists, one source)


OVERHEAD_KEYS = ("dispatch_s", "module_call_s", "sequence_op_s", "sequence_time_share", "view_s", "alloc_s")


def with_share(prof):
    """A copy of `prof` whose in-sequence term is refitted on its own networks with the share of op time."""
    import copy

    from perfgraph.measure.sequences import fit_with_rounds

    peer = copy.deepcopy(prof)
    fit = fit_with_rounds(prof.overhead["sequence_fit"]["networks"], proportional=True)
    peer.overhead.update(sequence_op_s=fit["sequence_op_s"], sequence_s_per_byte=fit["sequence_s_per_byte"],
                         sequence_time_share=fit["sequence_time_share"])
    return peer


def spreads(predictions: list[dict[str, float]]) -> dict[str, float]:
    """Per row: slowest / fastest prediction over the calibrations."""
    return {row: max(p[row] for p in predictions) / min(p[row] for p in predictions) for row in predictions[0]}


def summary(per_row: dict[str, float]) -> dict[str, float]:
    values = sorted(per_row.values())
    return {"rows": len(values), "median_spread": statistics.median(values), "max_spread": values[-1],
            "within_5pct": sum(v <= 1.05 for v in values) / len(values)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibrations", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--peer", choices=("phase", "rounds1", "share"), default="phase",
                    help="the calibrations compared with: same rounds with phase scaling, one round, or each "
                         "calibration refitted with the time-proportional in-sequence part")
    ap.add_argument("--json", help="write the per-row predictions and the summary here")
    args = ap.parse_args()

    from perfgraph.engine.calibrated import predict_model
    from perfgraph.measure.calibrate import run_calibration
    from perfgraph.pipeline import ModelSpec, analyze

    batches = [int(b) for b in args.batches.split(",")]
    graphs = {f"{m} b{b}": analyze(ModelSpec(m, batch=b)) for m in MODELS + HOLDOUT for b in batches}
    main_kind = f"rounds={args.rounds}"
    # kind -> (rounds, phase scaling)
    peer_kinds = {"phase": {f"rounds={args.rounds} phase": (args.rounds, True)}, "rounds1": {"rounds=1": (1, False)},
                  "share": {}}[args.peer]
    kinds = {main_kind: (args.rounds, False), **peer_kinds}
    derived = f"{main_kind} + share" if args.peer == "share" else ""
    every = list(kinds) + ([derived] if derived else [])
    predicted: dict[str, list[dict[str, float]]] = {k: [] for k in every}
    in_run: dict[str, list] = {k: [] for k in every}
    overheads: dict[str, list] = {k: [] for k in every}
    for i in range(args.calibrations):
        for kind, (rounds, phase) in kinds.items():
            t = time.perf_counter()
            prof = run_calibration(threads=args.threads, device="cpu", rounds=rounds, phase_scaling=phase)
            for name, p in [(kind, prof)] + ([(derived, with_share(prof))] if derived and kind == main_kind else []):
                predicted[name].append({row: predict_model(mg, p, "fp32").latency_s for row, mg in graphs.items()})
                in_run[name].append(p.noise.get("rounds"))
                overheads[name].append({k: p.overhead.get(k) for k in OVERHEAD_KEYS})
            ps = (prof.overhead.get("sequence_fit") or {}).get("phase_scale") or {}
            print(f"calibration {i + 1}/{args.calibrations} ({kind}): {time.perf_counter() - t:.0f} s, others' CPU "
                  f"share {prof.noise['other_cpu_share']:.0%}, in-sequence term "
                  f"{prof.overhead.get('sequence_op_s', 0) * 1e6:.1f} us/op + "
                  f"{prof.overhead.get('sequence_time_share', 0) or 0:.1%} of op time"
                  + (f", network phase scale median {ps['median']:.3f} ({ps['min']:.3f}-{ps['max']:.3f})"
                     if ps else ""), flush=True)
    result = {}
    print(f"\n{'calibrations':<20} {'rows':>5} {'median spread':>14} {'max spread':>11} {'within 5 %':>11}")
    for kind in every:
        per_row = spreads(predicted[kind])
        s = summary(per_row)
        result[kind] = {"summary": s, "spread": per_row, "predicted_s": predicted[kind], "in_run": in_run[kind]}
        print(f"{kind:<20} {s['rows']:>5} {s['median_spread']:>14.3f} {s['max_spread']:>11.3f} "
              f"{s['within_5pct']:>10.0%}")
    worst = sorted(result[main_kind]["spread"].items(), key=lambda kv: -kv[1])[:5]
    print(f"widest rows ({main_kind}): " + ", ".join(f"{k} x{v:.3f}" for k, v in worst))
    for spread in in_run[main_kind]:
        if spread:
            print(f"in-run round spread reported by calibrate: per case x{spread['case_spread_median']:.3f} median, "
                  f"p90 x{spread['case_spread_p90']:.3f}")
    print("per-op overheads per calibration (us): " + "; ".join(
        f"{kind} #{i + 1}: " + ", ".join(f"{k} {v * 1e6:.2f}" for k, v in o.items()
                                        if isinstance(v, float) and k != "sequence_time_share")
        + f", share {o.get('sequence_time_share') or 0:.1%}"
        for kind in every for i, o in enumerate(overheads[kind])))
    for kind in every:
        result[kind]["overheads"] = overheads[kind]
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
