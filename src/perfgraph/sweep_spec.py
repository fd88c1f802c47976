"""What a parameter sweep is: its axes and points (`SweepSpec`), the metrics a row holds, and the parsing of
`perfgraph sweep`'s options. A point is one combination of parameter values and one batch size; its
`pipeline.ModelSpec` is `SweepSpec.model_spec(point)`."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from perfgraph.pipeline import ModelSpec

JSONL = "points.jsonl"
# Points a sweep may hold unless `max_points` says otherwise: each point is traced on its own (a second
# or more), so a larger grid is more often a typo in the axes than an intended run.
MAX_POINTS = 1000


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # axis label, without the unit
    unit: str  # for matplotlib's EngFormatter ("" for counts)
    per_chip: bool = False


GRAPH_METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("macs", "MACs (conv + matmul + attention)", ""),
    Metric("flops", "FLOPs", ""),
    Metric("params", "parameters", ""),
    Metric("external_bytes", "external bytes (after fusion)", "B"),
    Metric("op_bytes", "bytes before fusion", "B"),
    Metric("weight_bytes", "weight bytes", "B"),
    Metric("intensity", "arithmetic intensity (FLOP/B)", ""),
    Metric("depth", "depth (stages)", ""),
    Metric("width", "widest stage (subgraphs)", ""),
    Metric("subgraphs", "subgraphs (kernels)", ""),
    Metric("ops", "ATen ops", ""),
    Metric("critical_path_flops", "critical path FLOPs", ""),
]}
CHIP_METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("latency_s", "predicted latency (kernels in sequence)", "s", True),
    Metric("latency_concurrent_s", "predicted latency (stages concurrent)", "s", True),
    Metric("throughput_per_s", "predicted throughput (samples/s)", "", True),
    Metric("energy_per_inference_j", "predicted energy per inference", "J", True),
    Metric("utilization", "achieved fraction of peak", "", True),
    Metric("peak_memory_bytes", "peak memory", "B", True),
]}
METRICS = {**GRAPH_METRICS, **CHIP_METRICS}
ALIASES = {"latency": "latency_s", "latency_concurrent": "latency_concurrent_s", "bytes": "external_bytes",
           "widest_stage": "width", "stages": "depth", "throughput": "throughput_per_s",
           "energy": "energy_per_inference_j", "energy_per_sample_j": "energy_per_inference_j", "memory": "peak_memory_bytes", "mac": "macs"}


class SweepError(ValueError):
    """A sweep that cannot start: bad axes, an unknown chip or metric, an output folder in the way."""


class SweepInterrupted(Exception):
    def __init__(self, done: int, total: int, path: Path):
        super().__init__(f"interrupted: {done} of {total} points kept in {path}; run again with --resume")
        self.done, self.total, self.path = done, total, path


def metric_key(name: str) -> str:
    key = ALIASES.get(name.lower().replace("-", "_"), name.lower().replace("-", "_"))
    if key not in METRICS:
        raise SweepError(f"unknown metric {name!r}; choose from {', '.join(METRICS)} "
                         f"(or {', '.join(ALIASES)})")
    return key


def parse_axes(pairs: Iterable[str]) -> dict[str, list[str]]:
    """`("width=1024,2048", "depth=4")` -> {"width": ["1024", "2048"], "depth": ["4"]}, in the order given."""
    axes: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, values = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SweepError(f"bad --param {pair!r}; write it as name=v1,v2,...")
        if name in axes:
            raise SweepError(f"--param {name} given twice; list all its values in one: {name}=v1,v2")
        vals = [v.strip() for v in values.split(",")]
        if not vals or any(not v for v in vals):
            raise SweepError(f"bad --param {pair!r}: empty value; write it as {name}=v1,v2,...")
        axes[name] = list(dict.fromkeys(vals))
    return axes


def parse_int_list(text: str | None, what: str) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise SweepError(f"bad --{what} {text!r}; write it as 1,8,64") from None
    if not values or any(v < 1 for v in values):
        raise SweepError(f"bad --{what} {text!r}: every value must be a positive integer")
    return list(dict.fromkeys(values))


def _typed(value: str) -> Any:
    """'4096' -> 4096, '2.5' -> 2.5, 'gelu' -> 'gelu' (for CSV, JSON and plot axes)."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        f = float(value)
        return f if math.isfinite(f) else value
    except ValueError:
        return value


@dataclass(frozen=True)
class SweepSpec:
    model: str
    axes: dict[str, list[str]]  # parameter -> values, in the order given
    batches: list[int] = field(default_factory=lambda: [1])
    hardware: list[str] = field(default_factory=list)  # chip ids, as resolved by hardware.spec.get
    precision: str = "fp32"
    dtype: str = "fp32"
    input_shape: list[int] | None = None
    weights: str | None = None
    tracer: str = "auto"
    runtime: str = "eager"  # engine.runtime
    cache: bool = True  # reuse graphs analysed before (graph_cache); travels with the spec to the workers

    def iter_points(self) -> Iterator[dict[str, Any]]:
        """The Cartesian product, one point at a time: parameters in the order given, batch last
        (fastest-varying). Nothing is built up front, whatever the size of the grid."""
        names = list(self.axes)
        for combo in itertools.product(*(self.axes[n] for n in names)):
            for b in self.batches:
                yield {"params": dict(zip(names, combo)), "batch": b}

    def points(self) -> list[dict[str, Any]]:
        return list(self.iter_points())

    def count(self) -> int:
        return math.prod(len(v) for v in self.axes.values()) * len(self.batches)

    def key(self, point: dict[str, Any]) -> str:
        return json.dumps({"model": self.model, "dtype": self.dtype, "input_shape": self.input_shape,
                           "weights": self.weights, "tracer": self.tracer, "params": point["params"],
                           "batch": point["batch"]}, sort_keys=True)

    def swept(self) -> list[str]:
        """Axes with more than one value, as row columns (`p.NAME`, `batch`), in the order given."""
        cols = [f"p.{n}" for n, v in self.axes.items() if len(v) > 1]
        return cols + (["batch"] if len(self.batches) > 1 else [])

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def model_spec(self, point: dict[str, Any]) -> ModelSpec:
        """The validated `pipeline.ModelSpec` of one point."""
        return ModelSpec(self.model, batch=point["batch"], dtype=self.dtype, input_shape=self.input_shape,
                         params=point["params"], weights=self.weights, tracer=self.tracer)


def label(point: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in point["params"].items()] + [f"batch={point['batch']}"]
    return " ".join(parts)


