"""Quickstart: analyse one model and print its cost summary.

    .venv/bin/python examples/quickstart.py                 # resnet18
    .venv/bin/python examples/quickstart.py mobilenet_v2    # any name `perfgraph analyze` takes

The model is built on meta tensors (nothing is computed or downloaded), traced into ATen ops, fused into
kernels, and every op and kernel is costed. `summarize` returns the plain dict that `perfgraph analyze
--json` prints.
"""

from __future__ import annotations

import sys

from perfgraph.pipeline import ModelSpec, analyze, summarize


def main(model: str = "resnet18") -> None:
    mg = analyze(ModelSpec(model, batch=1, dtype="fp32"))  # a ModelGraph: ops, kernels (subgraphs), edges
    s = summarize(mg, top=3)

    print(f"{s['model']}  (batch {s['batch']}, {s['dtype']}, input {s['input_shape']})")
    print(f"  parameters        {s['params']:>15,}")
    print(f"  MACs              {s['macs']:>15,}")
    if "published_macs" in s:
        print(f"  published MACs    {s['published_macs']:>15,}   (ours / published = {s['macs_ratio']:.4f})")
    print(f"  FLOPs             {s['flops']:>15,}")
    print(f"  ops -> kernels    {s['ops']:>7,} -> {s['subgraphs']:,}")
    print(f"  depth (stages)    {s['depth']:>15}   widest stage: {s['width']} kernels")
    print(f"  bytes moved       {s['external_bytes'] / 1e6:>12.2f} MB   (before fusion {s['op_bytes'] / 1e6:.2f} MB)")
    print(f"  intensity         {s['intensity']:>12.2f} FLOP/B")
    print("  heaviest kernels:")
    for k in s["heaviest_subgraphs"]:
        print(f"    #{k['index']:<4} stage {k['stage']:<3} {k['flops'] / 1e6:>10.1f} MFLOPs  {k['intensity']:>7.1f} FLOP/B"
              f"  {k['pattern']}")
    if s["uncosted_ops"]:
        print(f"  uncosted ops: {', '.join(s['uncosted_ops'])}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
