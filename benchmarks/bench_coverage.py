"""Coverage: which torchvision models perfgraph analyses end to end, per family, with each failure's reason.

    .venv/bin/python benchmarks/bench_coverage.py [--families classification,detection] [--json out.json]

Targets: >= 98 % of classification models; >= 90 % of segmentation, detection and video models.
Each model runs in a fresh subprocess (a detection model falls back to real tensors and allocates memory).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from perfgraph.ingest.torchvision_models import list_names

FAMILIES = ["classification", "segmentation", "detection", "video", "optical_flow"]
TARGET = {"classification": 0.98, "segmentation": 0.90, "detection": 0.90, "video": 0.90, "optical_flow": 0.90}

CHILD = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
from perfgraph.pipeline import ModelSpec, analyze
t = time.perf_counter()
mg = analyze(ModelSpec(sys.argv[1]), cache=False)  # each model traced: coverage of the tracer, not the cache
print(json.dumps({"tracer": mg.info.tracer, "ops": mg.info.ops, "subgraphs": mg.info.subgraphs,
                  "depth": mg.info.depth, "macs": mg.info.macs, "published_macs": mg.info.published_macs,
                  "uncosted": sorted({o.target for o in mg.uncosted}),
                  "seconds": time.perf_counter() - t}))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--json")
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    report = {}
    for family in args.families.split(","):
        rows = []
        for name in list_names(family):
            t0 = time.perf_counter()
            try:
                proc = subprocess.run([sys.executable, "-c", CHILD, name], capture_output=True, text=True,
                                      timeout=args.timeout)
                if proc.returncode == 0:
                    row = {"model": name, "ok": True, **json.loads(proc.stdout.strip().splitlines()[-1])}
                else:
                    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
                    row = {"model": name, "ok": False, "error": lines[-1][:300] if lines else f"exit {proc.returncode}"}
            except subprocess.TimeoutExpired:
                row = {"model": name, "ok": False, "error": f"timed out after {args.timeout} s"}
            row["wall_s"] = round(time.perf_counter() - t0, 2)
            rows.append(row)
            status = f"ok  {row['tracer']:5} ops={row['ops']:5} sg={row['subgraphs']:4} depth={row['depth']:4} " \
                     f"GMACs={row['macs'] / 1e9:9.3f}" if row["ok"] else f"FAILED {row['error']}"
            unc = f" uncosted={row['uncosted']}" if row.get("uncosted") else ""
            if row.get("published_macs"):
                unc += f" published={row['published_macs'] / 1e9:.3f} ratio={row['macs'] / row['published_macs']:.4f}"
            print(f"{family:14} {name:38} {status}{unc} ({row['wall_s']} s)", flush=True)
        ok = sum(r["ok"] for r in rows)
        report[family] = {"rows": rows, "ok": ok, "total": len(rows)}
    print()
    for family, r in report.items():
        share = r["ok"] / r["total"] if r["total"] else 0
        print(f"{family:14} {r['ok']}/{r['total']} = {share:.1%} (target {TARGET.get(family, 0):.0%})"
              f"{'' if share >= TARGET.get(family, 0) else '  BELOW TARGET'}")
        for row in r["rows"]:
            if not row["ok"]:
                print(f"    {row['model']}: {row['error']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
