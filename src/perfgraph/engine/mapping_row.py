"""`MappingRow`: one model mapped onto one chip, the one vocabulary of results.

The CLI's tables, JSON and CSV, the Python API (`Report.rows`, `Report.hardware_summary`), sweeps, the HTML
report and the Neo4j overlay's (:Model)-[:MAPPED_TO]->(:Hardware) properties all use these field names, so
`latency_s` or `energy_per_inference_j` mean one thing wherever they appear.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfgraph.graph import ModelGraph
from perfgraph.vocab import Runtime

if TYPE_CHECKING:
    from perfgraph.engine.model_mapping import ModelMapping
    from perfgraph.hardware.spec import HardwareSpec


@dataclass(frozen=True)
class MappingRow:
    """One model mapped onto one chip at one precision, batch and runtime: the one vocabulary of results.

    Latencies are per batch: `latency_s` runs the kernels one after another, `latency_concurrent_s` lets
    one stage's kernels share the chip, `latency_critical_path_s` is the bound at unbounded width.
    Energy is per batch and per inference (one sample). `utilization` is total FLOPs / (latency x peak).
    `tier` says where the numbers come from and `expected_error` the median |error| measured for that tier
    (None: not validated). `notes` name what was assumed.
    """

    model: str
    hardware: str
    kind: str
    batch: int
    precision: str
    precision_used: str
    runtime: str
    tier: str
    expected_error: float | None
    tier_note: str
    latency_s: float
    latency_concurrent_s: float
    latency_critical_path_s: float
    throughput_per_s: float
    throughput_concurrent_per_s: float
    energy_per_batch_j: float
    energy_per_inference_j: float
    utilization: float
    peak_memory_bytes: float
    fits_in_memory: bool
    flops: int
    kernels: int
    memory_bound_kernels: int
    memory_bound_share: float
    gemm_kernels: int
    gemm_kernels_filling_chip: int
    bound_by: str
    bound_counts: dict[str, int] = field(default_factory=dict)
    bound_time_s: dict[str, float] = field(default_factory=dict)
    critical_path: list[int] = field(default_factory=list)
    timeline: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fits_on_chip: bool | None = None
    streamed_bytes: float | None = None
    stream_level: str | None = None
    onchip: str = ""
    placement: dict[str, Any] = field(default_factory=dict)
    energy_split: dict[str, Any] = field(default_factory=dict)
    energy_note: str = ""
    kernel_rows: list[dict[str, Any]] | None = None  # with `kernels=True`: `engine.explain.kernel_rows`

    @classmethod
    def of(cls, mm: "ModelMapping", hw: "HardwareSpec", graph: ModelGraph | None = None, *,
           kernels: bool = False) -> "MappingRow":
        """The row of a `ModelMapping` onto `hw`; `kernels` adds the per-kernel rows (needs `graph`)."""
        from perfgraph.engine.explain import energy_line, kernel_rows, onchip_line
        from perfgraph.engine.tiers import ExpectedError

        n = len(mm.kernels)
        memory_bound = mm.bound_counts.get("memory", 0)
        gemms = [k for k in mm.kernels if k.kernel == "gemm"]
        return cls(
            model=mm.model_id, hardware=hw.id, kind=hw.kind, batch=mm.batch, precision=mm.precision,
            precision_used=hw.resolve_precision(mm.precision), runtime=mm.runtime, tier=mm.tier,
            expected_error=mm.expected_error.get("median_abs_error"),
            tier_note=ExpectedError(**mm.expected_error).describe() if mm.expected_error else "",
            latency_s=mm.latency_sequential_s, latency_concurrent_s=mm.latency_concurrent_s,
            latency_critical_path_s=mm.latency_critical_path_s, throughput_per_s=mm.throughput_per_s,
            throughput_concurrent_per_s=mm.throughput_concurrent_per_s, energy_per_batch_j=mm.energy_per_batch_j,
            energy_per_inference_j=mm.energy_per_sample_j, utilization=mm.achieved_fraction_of_peak,
            peak_memory_bytes=mm.peak_memory_bytes, fits_in_memory=mm.fits_in_memory, flops=mm.total_flops, kernels=n,
            memory_bound_kernels=memory_bound, memory_bound_share=memory_bound / n if n else 0.0,
            gemm_kernels=len(gemms),
            gemm_kernels_filling_chip=sum(1 for k in gemms if k.units_allocated >= k.units_total),
            bound_by=mm.bound_by, bound_counts=dict(sorted(mm.bound_counts.items())),
            bound_time_s=dict(mm.bound_time_s), critical_path=list(mm.critical_path), timeline=dict(mm.timeline),
            notes=list(mm.notes), fits_on_chip=mm.placement.get("fits_on_chip"),
            streamed_bytes=mm.placement.get("streamed_bytes"), stream_level=mm.placement.get("stream_level"),
            onchip=onchip_line(mm.placement, mm.batch) if mm.placement else "", placement=dict(mm.placement),
            energy_split=dict(mm.energy_split),
            energy_note=energy_line(mm.energy_split) if mm.energy_split else "",
            kernel_rows=kernel_rows(mm, kernel_graph(graph, mm)) if kernels and graph is not None else None,
        )

    def __getitem__(self, key: str) -> Any:
        """`row["latency_s"]`: a row reads like the dict it prints as."""
        if key not in ROW_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in ROW_FIELDS else default

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON and CSV; `kernel_rows` only when they were asked for."""
        out = dataclasses.asdict(self)
        if out["kernel_rows"] is None:
            del out["kernel_rows"]
        return out

    def neo4j_properties(self) -> dict[str, Any]:
        """The scalar fields, without nulls: a (:Model)-[:MAPPED_TO]->(:Hardware) relationship's properties."""
        keep = ("batch", "precision", "runtime", "tier", "expected_error", "latency_s", "latency_concurrent_s",
                "latency_critical_path_s", "throughput_per_s", "throughput_concurrent_per_s", "energy_per_batch_j",
                "energy_per_inference_j", "utilization", "peak_memory_bytes", "fits_in_memory", "flops", "kernels",
                "memory_bound_kernels", "bound_by")
        return {k: getattr(self, k) for k in keep if getattr(self, k) is not None}


ROW_FIELDS = tuple(f.name for f in dataclasses.fields(MappingRow))


def kernel_graph(graph: ModelGraph, mm: "ModelMapping") -> ModelGraph:
    """The graph whose subgraphs `mm`'s kernels are: an eager mapping runs one kernel per op."""
    if mm.runtime == Runtime.EAGER and len(mm.kernels) != len(graph.subgraphs):
        from perfgraph.engine.runtime import eager_graph

        return eager_graph(graph)
    return graph
