"""Batch sweeps: how latency, throughput, energy and utilisation change with the batch size.

The batch is part of the traced graph (`mg.info.batch`), so the caller supplies `build_graph(batch)`
that traces (or loads) the model at that batch; each graph is mapped with `map_model`.

**Saturation batch** (`saturation_batch`): the smallest batch whose metric reaches `threshold` (default
80 %) of the best value seen over the sweep.  The default metric is throughput (samples/s, sequential
schedule); ``metric="utilization"`` uses the achieved fraction of peak (total FLOPs / (latency x peak)).
Batches whose peak memory does not fit the chip's main memory are skipped.  Past the saturation batch,
a larger batch mostly adds latency.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from perfgraph.engine.model_mapping import ModelMapping, map_model
from perfgraph.graph import ModelGraph
from perfgraph.hardware.spec import HardwareSpec

METRICS = {"throughput": "throughput_per_s", "throughput_per_s": "throughput_per_s",
           "utilization": "utilization", "throughput_concurrent": "throughput_concurrent_per_s",
           "throughput_concurrent_per_s": "throughput_concurrent_per_s"}


def sweep_row(mm: ModelMapping) -> dict[str, Any]:
    return {
        "batch": mm.batch, "hardware": mm.hardware_id, "precision": mm.precision,
        "latency_s": mm.latency_sequential_s, "latency_concurrent_s": mm.latency_concurrent_s,
        "latency_critical_path_s": mm.latency_critical_path_s,
        "throughput_per_s": mm.throughput_per_s, "throughput_concurrent_per_s": mm.throughput_concurrent_per_s,
        "energy_per_batch_j": mm.energy_per_batch_j, "energy_per_sample_j": mm.energy_per_sample_j,
        "utilization": mm.achieved_fraction_of_peak, "peak_memory_bytes": mm.peak_memory_bytes,
        "fits_in_memory": mm.fits_in_memory, "bound_counts": dict(mm.bound_counts),
    }


def batch_sweep(build_graph: Callable[[int], ModelGraph], hw: HardwareSpec, precision: str,
                batches: Iterable[int], stages: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """One row per batch (see `sweep_row`), in the order given."""
    rows = []
    for b in batches:
        mg = build_graph(int(b))
        mm = map_model(mg, hw, precision, stages)
        row = sweep_row(mm)
        row["batch"] = int(mg.info.batch or b)
        rows.append(row)
    return rows


def saturation_batch(rows_or_build: Sequence[dict[str, Any]] | Callable[[int], ModelGraph],
                     hw: HardwareSpec | None = None, precision: str | None = None,
                     batches: Iterable[int] | None = None, *, threshold: float = 0.8,
                     metric: str = "throughput") -> int | None:
    """Smallest batch reaching `threshold` x the best `metric` seen (module docstring).

    Pass the rows of `batch_sweep`, or `(build_graph, hw, precision, batches)` to sweep first.
    Returns None when no batch fits in memory.
    """
    if callable(rows_or_build):
        if hw is None or precision is None or batches is None:
            raise ValueError("saturation_batch(build_graph, hw, precision, batches) needs all four")
        rows = batch_sweep(rows_or_build, hw, precision, batches)
    else:
        rows = list(rows_or_build)
    key = METRICS.get(metric)
    if key is None:
        raise ValueError(f"unknown metric {metric!r} (known: {', '.join(sorted(METRICS))})")
    usable = [r for r in rows if r.get("fits_in_memory", True)]
    if not usable:
        return None
    best = max(r[key] for r in usable)
    if best <= 0:
        return min(r["batch"] for r in usable)
    for r in sorted(usable, key=lambda r: r["batch"]):
        if r[key] >= threshold * best:
            return int(r["batch"])
    return None
