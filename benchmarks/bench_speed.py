"""perfgraph's analysis against fvcore FlopCountAnalysis and torch FlopCounterMode, same run, same models.

Each side is timed from the model name to its result, model construction included: perfgraph builds on
meta tensors, traces, partitions and computes stages; the peers build the real model (random init) and run
a counted forward pass on a real input. Median of --repeat runs after one warm-up per side. The ratio is
perfgraph's time over the faster peer's (goal: <= 0.5 on every model).

    .venv/bin/python benchmarks/bench_speed.py [--models resnet18,vit_b_16] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings

import torch
import torchvision

from perfgraph.pipeline import ModelSpec, analyze

warnings.filterwarnings("ignore")
MODELS = ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "vgg16", "densenet121", "vit_b_16", "swin_t",
          "convnext_tiny"]


def perfgraph_side(name: str) -> int:
    return analyze(ModelSpec(name), cache=False).info.macs  # time the tracing, not the graph cache


def flopcounter_side(name: str) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    model = torchvision.models.get_model(name, weights=None).eval()
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2


def fvcore_side(name: str) -> int:
    from fvcore.nn import FlopCountAnalysis

    model = torchvision.models.get_model(name, weights=None).eval()
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return int(analysis.total())


def timed(fn, name: str, repeat: int) -> tuple[float, int]:
    fn(name)  # warm-up: imports, lazy initialisation, allocator
    times, result = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn(name)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    print(f"{'model':16} {'perfgraph s':>12} {'FlopCounter s':>14} {'fvcore s':>10} {'ratio':>7}   MACs pg / fc / fv (G)")
    for name in args.models.split(","):
        pg_t, pg_m = timed(perfgraph_side, name, args.repeat)
        fc_t, fc_m = timed(flopcounter_side, name, args.repeat)
        fv_t, fv_m = timed(fvcore_side, name, args.repeat)
        ratio = pg_t / min(fc_t, fv_t)
        rows.append({"model": name, "perfgraph_s": pg_t, "flopcounter_s": fc_t, "fvcore_s": fv_t, "ratio": ratio,
                     "macs": {"perfgraph": pg_m, "flopcounter": fc_m, "fvcore": fv_m}})
        print(f"{name:16} {pg_t:>12.3f} {fc_t:>14.3f} {fv_t:>10.3f} {ratio:>7.2f}   "
              f"{pg_m / 1e9:.3f} / {fc_m / 1e9:.3f} / {fv_m / 1e9:.3f}", flush=True)
    worst = max(r["ratio"] for r in rows)
    print(f"\nworst ratio {worst:.2f} (goal <= 0.5); threads={args.threads}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
