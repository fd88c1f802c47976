"""Compare three models side by side: size, work, memory traffic, graph shape, predicted latency.

    .venv/bin/python examples/compare_models.py
    .venv/bin/python examples/compare_models.py resnet50 efficientnet_b0 convnext_tiny --hardware a100-sxm-80gb

Each model is analysed on meta tensors, checked against the universal invariants (`perfgraph.checks`),
and mapped onto one chip (`engine.model_mapping.map_model`) for a predicted latency.
"""

from __future__ import annotations

import argparse

from perfgraph.pipeline import ModelSpec, analyze, summarize
from perfgraph.checks import universal_checks
from perfgraph.engine.model_mapping import map_model
from perfgraph.hardware.spec import get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["resnet50", "mobilenet_v2", "vit_b_16"])
    parser.add_argument("--hardware", default="h100-sxm", help="chip id (perfgraph hardware list)")
    parser.add_argument("--precision", default="fp16")
    args = parser.parse_args()
    hw = get(args.hardware)

    rows = []
    for name in args.models:
        mg = analyze(ModelSpec(name))
        s = summarize(mg, top=0)
        mm = map_model(mg, hw, args.precision)
        ok = all(r.passed for r in universal_checks(mg))
        rows.append([name, f"{s['params'] / 1e6:.1f} M", f"{s['macs'] / 1e9:.2f} G",
                     f"{s['external_bytes'] / 1e6:.0f} MB", f"{s['intensity']:.1f}", str(s["depth"]),
                     str(s["width"]), f"{mm.latency_sequential_s * 1e3:.3f} ms", "pass" if ok else "FAIL"])

    header = ["model", "params", "MACs", "bytes", "FLOP/B", "depth", "widest", f"{hw.id} {args.precision}",
              "checks"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print(f"\nbytes = memory traffic after fusion (batch 1, fp32 tensors); latency = kernels in sequence, "
          f"predicted on {hw.name} at {args.precision}")


if __name__ == "__main__":
    main()
