"""One model, end to end in-process: resolve the spec, trace, partition, compute stages and critical path.

This is the embedded default: no server, just networkx. `summarize` turns the result into the plain dict
that `perfgraph analyze` prints and `--json` emits.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from perfgraph.graph import ModelGraph
from perfgraph.queries.embedded import critical_path, stage_summary, stages


def analyze_graph(spec: str, *, batch: int | None = None, dtype: str = "fp32", input_shape: list[int] | None = None,
                  params: dict[str, str] | None = None, weights: str | None = None,
                  tracers: tuple[str, ...] | None = None, use_cache: bool = True) -> ModelGraph:
    """Trace and partition one model; stages and the FLOP critical path are set on its subgraphs. The graph
    comes from the on-disk graph cache when this spec was analysed before (`graph_cache`; torch is not
    imported then) unless `use_cache` is False, --no-cache was given or PERFGRAPH_NO_CACHE is set."""
    from perfgraph import pipeline

    tracer = "auto" if not tracers else tracers[0] if len(tracers) == 1 else None
    if tracer is None:  # an explicit order of several tracers: not a ModelSpec choice
        from perfgraph.graph_cache import cached_analyze

        return cached_analyze(trace_graph, spec, batch=batch, dtype=dtype, input_shape=input_shape, params=params,
                              weights=weights, tracers=tracers, use_cache=use_cache)
    return pipeline.analyze(pipeline.ModelSpec(spec, batch=batch, dtype=dtype, input_shape=input_shape, params=params,
                                               weights=weights, tracer=tracer), cache=use_cache)


def trace_graph(spec: str, *, batch: int | None = None, dtype: str = "fp32", input_shape: list[int] | None = None,
                params: dict[str, str] | None = None, weights: str | None = None,
                tracers: tuple[str, ...] | None = None) -> ModelGraph:
    """`analyze_graph` without the cache: always traces."""
    from perfgraph.ingest.model_source import parse_dtype
    from perfgraph.ingest.partition import partition
    from perfgraph.ingest.sources import resolve
    from perfgraph.ingest.trace import TRACERS, trace

    built = resolve(spec, batch=batch, input_shape=input_shape, params=params, weights=weights)
    return annotate_stages(partition(trace(built, parse_dtype(dtype), tracers or TRACERS)))


def annotate_stages(mg: ModelGraph) -> ModelGraph:
    """A new graph: `mg` with each subgraph's stage and FLOP critical-path flag set, and the model's depth.
    `mg` itself is not changed (ops and values are shared)."""
    stage_of = stages(mg)
    on_path = set(critical_path(mg, "flops").path)
    out = copy.copy(mg)
    out.info = dataclasses.replace(mg.info, depth=stage_summary(stage_of).depth)
    out.subgraphs = [dataclasses.replace(sg, stage=stage_of[sg.index], on_critical_path=sg.index in on_path)
                     for sg in mg.subgraphs]
    return out


def summarize(mg: ModelGraph, top: int = 5) -> dict[str, Any]:
    info = mg.info
    st = stage_summary({sg.index: sg.stage for sg in mg.subgraphs})
    external = sum(sg.external_bytes for sg in mg.subgraphs)
    cp = critical_path(mg, "flops")
    heaviest = sorted(mg.subgraphs, key=lambda s: (-s.flops, s.index))[:top]
    conv_matmul_macs = info.macs
    summary: dict[str, Any] = {
        "model": info.name,
        "id": info.id,
        "source": info.source,
        "tracer": info.tracer,
        "batch": info.batch,
        "input_shape": info.input_shape,
        "dtype": info.dtype,
        "params": info.params,
        "macs": info.macs,
        "flops": info.flops,
        "ops": info.ops,
        "subgraphs": info.subgraphs,
        "depth": st.depth,
        "widest_stage": st.widest_stage,
        "width": st.width,
        "external_bytes": external,
        "op_bytes": sum(op.bytes_total for op in mg.ops),
        "weight_bytes": sum(v.nbytes for v in mg.values if v.is_weight and v.producer < 0),
        "intensity": info.flops / external if external else 0.0,
        "critical_path_flops": cp.total,
        "critical_path_length": len(cp.path),
        "heaviest_subgraphs": [
            {"index": s.index, "pattern": s.pattern, "macs": s.macs, "flops": s.flops,
             "external_bytes": s.external_bytes, "intensity": round(s.intensity, 3), "stage": s.stage}
            for s in heaviest
        ],
        "uncosted_ops": sorted({op.target for op in mg.uncosted}),
        "assumptions": list(getattr(info, "assumptions", None) or []),
    }
    if info.published_macs:
        # Published figures are per sample (one image): compare our per-sample count.
        summary["published_macs"] = info.published_macs
        summary["macs_per_sample"] = conv_matmul_macs / info.batch
        summary["macs_ratio"] = summary["macs_per_sample"] / info.published_macs
    if info.published_params:
        summary["published_params"] = info.published_params
    return summary
