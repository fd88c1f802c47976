"""MACs against torchvision's published figures, for every classification weight at its own eval crop.

torchvision's `weights.meta["_ops"]` ("GFLOPS") are multiply-accumulates of convolutions and matmuls,
printed to 3 decimals. A weight passes when our conv+matmul MACs are within 1 % of the figure, or, for
figures so small that the 3-decimal rounding exceeds 1 %, when ours rounds to the published value.

    .venv/bin/python benchmarks/bench_macs.py [--json out.json] [--models resnet18,vit_b_16]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import torchvision

from perfgraph.pipeline import ModelSpec, analyze
from perfgraph.ingest.torchvision_models import list_names

warnings.filterwarnings("ignore")


def within(ours: int, published: int) -> bool:
    if abs(ours / published - 1) <= 0.01:
        return True
    return round(ours / 1e9, 3) == round(published / 1e9, 3)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", help="comma-separated subset")
    ap.add_argument("--json", help="write rows here")
    args = ap.parse_args()
    names = args.models.split(",") if args.models else list_names("classification")
    rows, failures = [], []
    t0 = time.perf_counter()
    print(f"{'model':22} {'weights':28} {'crop':>5} {'published':>10} {'ours':>10} {'ratio':>7}  ok")
    for name in names:
        for w in torchvision.models.get_model_weights(name):
            try:
                mg = analyze(ModelSpec(name, weights=w.name))
            except Exception as exc:  # noqa: BLE001 - a benchmark lists failures, it does not stop
                failures.append({"model": name, "weights": w.name, "error": str(exc).splitlines()[0][:200]})
                print(f"{name:22} {w.name:28} FAILED: {failures[-1]['error']}")
                continue
            published = round(float(w.meta["_ops"]) * 1e9)
            ours = mg.info.macs
            row = {"model": name, "weights": w.name, "crop": mg.info.input_shape[-1], "published_gmacs": published / 1e9,
                   "ours_gmacs": ours / 1e9, "ratio": ours / published, "ok": within(ours, published),
                   "params_ok": mg.info.params == w.meta.get("num_params")}
            rows.append(row)
            print(f"{name:22} {w.name:28} {row['crop']:>5} {published / 1e9:>10.3f} {ours / 1e9:>10.3f} "
                  f"{row['ratio']:>7.4f}  {'yes' if row['ok'] else 'NO'}", flush=True)
    ok = sum(r["ok"] for r in rows)
    total = len(rows) + len(failures)
    print(f"\nwithin 1 %: {ok}/{total} weights = {ok / total:.1%}; parameter counts exact: "
          f"{sum(r['params_ok'] for r in rows)}/{len(rows)}; failures: {len(failures)}; "
          f"{time.perf_counter() - t0:.0f} s")
    for r in rows:
        if not r["ok"]:
            print(f"  outside 1 %: {r['model']} {r['weights']} ratio {r['ratio']:.4f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "failures": failures}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
