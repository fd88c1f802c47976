"""The saturation batch of a batch sweep: the smallest batch whose metric reaches `threshold` (default
80 %) of the best value seen over the sweep.  The default metric is throughput (samples/s, sequential
schedule); ``metric="utilization"`` uses the achieved fraction of peak (total FLOPs / (latency x peak)).
Batches whose peak memory does not fit the chip's main memory are skipped.  Past the saturation batch,
a larger batch mostly adds latency.  The sweep itself is `pipeline.batch_sweep`; rows are
`pipeline.MappingRow`s or dicts with their keys.

    >>> saturation_batch([{"batch": 1, "throughput_per_s": 10.0}, {"batch": 4, "throughput_per_s": 30.0}])
    4
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

METRICS = {"throughput": "throughput_per_s", "throughput_per_s": "throughput_per_s",
           "utilization": "utilization", "throughput_concurrent": "throughput_concurrent_per_s",
           "throughput_concurrent_per_s": "throughput_concurrent_per_s"}


def saturation_batch(rows: Iterable[Mapping[str, Any]], *, threshold: float = 0.8,
                     metric: str = "throughput") -> int | None:
    """Smallest batch reaching `threshold` x the best `metric` seen (module docstring).

    Returns None when no batch fits in memory.

    Raises:
        ValueError: an unknown metric.
    """
    rows = list(rows)
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
