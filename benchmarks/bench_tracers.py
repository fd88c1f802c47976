"""Which graph-capture path to use: time and success of each on the same models, same run.

- perfgraph: build on meta, record ATen ops under a TorchDispatchMode (the default tracer)
- export: torch.export.export(strict=False) of the meta-built model on meta inputs
- make_fx: torch.fx.experimental.proxy_tensor.make_fx(tracing_mode="fake") of the meta-built model
- fx+shapeprop: torch.fx.symbolic_trace, then ShapeProp under FakeTensorMode

    .venv/bin/python benchmarks/bench_tracers.py [--models resnet18,vit_b_16,...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import torch

warnings.filterwarnings("ignore")

MODELS = ["resnet18", "mobilenet_v3_small", "vit_b_16", "swin_t", "convnext_tiny", "fasterrcnn_mobilenet_v3_large_fpn"]


def built_on_meta(name):
    from perfgraph.ingest.sources import resolve

    built = resolve(name)
    with torch.device("meta"):
        model = built.build().eval()
    return model, built.make_inputs(torch.device("meta"), torch.float32)


def run_perfgraph(name):
    from perfgraph.pipeline import ModelSpec, analyze

    return analyze(ModelSpec(name, tracer="meta"), cache=False).info.ops  # trace, not the graph cache


def run_export(name):
    model, inputs = built_on_meta(name)
    ep = torch.export.export(model, inputs, strict=False)
    return len(ep.graph.nodes)


def run_make_fx(name):
    from torch.fx.experimental.proxy_tensor import make_fx

    model, inputs = built_on_meta(name)
    with torch.no_grad():
        gm = make_fx(model, tracing_mode="fake")(*inputs)
    return len(gm.graph.nodes)


def run_fx_shapeprop(name):
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.shape_prop import ShapeProp

    model, inputs = built_on_meta(name)
    gm = torch.fx.symbolic_trace(model)
    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
        fake = [mode.from_tensor(t) if isinstance(t, torch.Tensor) else t for t in inputs]
        ShapeProp(gm, fake_mode=mode).propagate(*fake)
    return len(gm.graph.nodes)


PATHS = {"perfgraph": run_perfgraph, "export": run_export, "make_fx": run_make_fx, "fx+shapeprop": run_fx_shapeprop}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'model':36} " + " ".join(f"{p:>16}" for p in PATHS))
    for name in args.models.split(","):
        cells = []
        for fn in PATHS.values():
            try:
                fn(name)
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    fn(name)
                    times.append(time.perf_counter() - t)
                cells.append(f"{statistics.median(times):>15.2f}s")
            except Exception as exc:  # noqa: BLE001 - a failure is a result here
                cells.append(f"{'FAIL ' + type(exc).__name__[:10]:>16}")
        print(f"{name:36} " + " ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
