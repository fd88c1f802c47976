"""A 7-billion-parameter Llama-style decoder (Llama-2-7B config numbers) analysed on meta tensors.

Prints the analysis summary and the peak RSS of this process (goal: < 4 GB). Real fp32 weights alone would
need 27 GB.

    .venv/bin/python benchmarks/bench_llama7b_memory.py [--seq-len 128] [--dtype bf16]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-len", default="128")
    ap.add_argument("--dtype", default="fp32")
    args = ap.parse_args()
    from perfgraph.pipeline import ModelSpec, analyze, summarize

    t = time.perf_counter()
    # use_cache=False: the memory of tracing is what is measured, not of loading a cached graph
    mg = analyze(ModelSpec("hf:llama-7b", params={"seq_len": args.seq_len}, dtype=args.dtype), cache=False)
    s = summarize(mg)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"model {s['model']}  params {s['params'] / 1e9:.3f} B  MACs {s['macs'] / 1e12:.3f} T  ops {s['ops']}  "
          f"subgraphs {s['subgraphs']}  depth {s['depth']}  tracer {s['tracer']}  {time.perf_counter() - t:.1f} s")
    print(f"uncosted ops: {s['uncosted_ops'] or 'none'}")
    print(f"peak RSS {peak / 2**30:.2f} GiB (goal < 4 GB: {'met' if peak < 4e9 else 'NOT met'})")
    return 0 if peak < 4e9 else 1


if __name__ == "__main__":
    sys.exit(main())
