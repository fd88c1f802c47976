"""Map a whole model: per-kernel mappings combined into latency, throughput, energy and memory.

Latencies (always sequential >= concurrency-aware >= critical-path bound):

* **sequential**: one kernel after another, ``sum(latency_i)``.
* **concurrency-aware**: the kernels of one stage (see below) may run at once on disjoint units but share
  the chip.  Per stage::

      stage_time = max( max_i latency_i,                     no kernel finishes faster than alone
                        sum_i f_i x compute_eff_i,           compute work / chip capacity, where
                                                             f_i = units_allocated_i / units_total
                        sum_i memory_i,                      they share the memory bandwidth
                        sum_i overhead_i )                   launches are issued one after another

  and the model takes ``sum(stage_time)``.  Each term is <= the stage's sequential sum, so this never
  exceeds the sequential latency; and it is >= the largest kernel latency of every stage.
* **critical path**: the longest path through the subgraph DAG weighted by each kernel's predicted
  latency (`perfgraph.queries.embedded.critical_path` with ``node_weights``, the same linear pass and
  tie-breaking as the Cypher frontier loop) — a lower bound at unbounded width.  A path visits at most one kernel per stage, so it is
  <= the concurrency-aware figure.

Cache residency (GPUs): before mapping, the sequential schedule is walked once through an LRU model of
the L2 (`engine.gpu.l2_residency`): each kernel learns which of its input activations are still resident
and whether its output stays resident; the GPU rule serves those bytes from the L2.  Other kinds keep
their cache-fit rule.

Stages: ``stages`` maps subgraph index -> stage; when None they come from
`perfgraph.queries.embedded.stages` (stage 0: no predecessor, else 1 + the largest predecessor stage).

Throughput = batch / latency (sequential, and concurrency-aware).  Energy per batch = sum of kernel
energies (sequential schedule); the concurrency-aware variant replaces the static share by
``static_w x concurrent latency``.  Energy per sample = per batch / batch.

Peak memory = weights + the largest live activation footprint over the sequential schedule (topological
order, ties by subgraph index).  A subgraph's output (``output_bytes``, else the largest outgoing edge) is
live from its producer until its last consumer (the end, for model outputs); model inputs are live from
the start until their last consumer.  Weights: the model's weight values when ``mg.values`` has them, else
the sum of the subgraphs' ``weight_bytes``.  Byte counts are rescaled from the traced dtype to the
precision's storage size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from perfgraph.engine import gpu
from perfgraph.engine.common import PRECISION_BYTES, KernelMapping, dtype_bytes
from perfgraph.engine.mapping import RESIDENCY_KINDS, map_subgraph
from perfgraph.graph import ModelGraph
from perfgraph.hardware.spec import HardwareSpec
from perfgraph.queries.embedded import critical_path, stages as compute_stages, subgraph_dag


@dataclass
class ModelMapping:
    model_id: str
    hardware_id: str
    precision: str
    batch: int
    kernels: list[KernelMapping]
    stages: dict[int, int]
    latency_sequential_s: float
    latency_concurrent_s: float
    latency_critical_path_s: float
    critical_path: list[int]
    stage_times_s: dict[int, float]
    throughput_per_s: float  # batch / sequential latency
    throughput_concurrent_per_s: float
    energy_per_batch_j: float
    energy_per_sample_j: float
    energy_per_batch_concurrent_j: float
    weights_bytes: float
    peak_activation_bytes: float
    peak_memory_bytes: float
    fits_in_memory: bool
    total_flops: int
    achieved_fraction_of_peak: float  # total FLOPs / (sequential latency x peak)
    bound_counts: dict[str, int] = field(default_factory=dict)
    bound_time_s: dict[str, float] = field(default_factory=dict)

    @property
    def latency_s(self) -> float:
        return self.latency_sequential_s

    def properties(self) -> dict[str, Any]:
        """Flat properties for a (:Model)-[:MAPPED_TO]->(:Hardware) relationship."""
        return {
            "batch": self.batch, "precision": self.precision, "latency_s": self.latency_sequential_s,
            "latency_concurrent_s": self.latency_concurrent_s, "critical_path_s": self.latency_critical_path_s,
            "energy_j": self.energy_per_batch_j, "energy_per_sample_j": self.energy_per_sample_j,
            "throughput": self.throughput_per_s, "throughput_concurrent": self.throughput_concurrent_per_s,
            "peak_memory_bytes": self.peak_memory_bytes, "fits_in_memory": self.fits_in_memory,
            "utilization": self.achieved_fraction_of_peak, "flops": self.total_flops,
            "memory_bound_kernels": self.bound_counts.get("memory", 0), "kernels": len(self.kernels),
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _traced_elem(mg: ModelGraph) -> int:
    for op in mg.ops:
        if op.dtype:
            return dtype_bytes(op.dtype)
    return dtype_bytes(mg.info.dtype)


def peak_memory(mg: ModelGraph, scale: float = 1.0) -> tuple[float, float, float]:
    """(weights, peak live activations, total) in bytes over the sequential schedule (module doc)."""
    if mg.values and any(v.is_weight for v in mg.values):
        weights = float(sum(v.nbytes for v in mg.values if v.is_weight))
    else:
        weights = float(sum(sg.weight_bytes for sg in mg.subgraphs))
    g = subgraph_dag(mg)
    order = list(nx.lexicographical_topological_sort(g, key=lambda n: n))
    pos = {n: i for i, n in enumerate(order)}
    last = len(order) - 1
    out_size: dict[int, float] = {}
    by_index = {sg.index: sg for sg in mg.subgraphs}
    for n in order:
        sg = by_index.get(n)
        size = float(sg.output_bytes) if sg is not None else 0.0
        if size <= 0:
            size = float(max((d.get("bytes", 0) for _, _, d in g.out_edges(n, data=True)), default=0))
        out_size[n] = size
    intervals: list[tuple[int, int, float]] = []
    for n in order:
        succ = [pos[s] for s in g.successors(n)]
        end = max(succ) if succ else last
        intervals.append((pos[n], end, out_size[n]))
    # model inputs: live from step 0 until the last subgraph that reads them
    if mg.values:
        op_to_sg = {i: sg.index for sg in mg.subgraphs for i in sg.op_indices}
        inputs = {v.vid: v for v in mg.values if v.is_model_input}
        last_read: dict[int, int] = {}
        for op in mg.ops:
            n = op_to_sg.get(op.index)
            if n is None or n not in pos:
                continue
            for vid in op.inputs:
                if vid in inputs:
                    last_read[vid] = max(last_read.get(vid, 0), pos[n])
        for vid, v in inputs.items():
            intervals.append((0, last_read.get(vid, 0), float(v.nbytes)))
    delta = [0.0] * (len(order) + 2)
    for start, end, size in intervals:  # sweep line: +size at start, -size after the last use
        delta[start] += size
        delta[end + 1] -= size
    peak = live = 0.0
    for t in range(len(order)):
        live += delta[t]
        peak = max(peak, live)
    return weights * scale, peak * scale, (weights + peak) * scale


def map_model(mg: ModelGraph, hw: HardwareSpec, precision: str,
              stages: dict[int, int] | None = None) -> ModelMapping:
    precision = precision.lower()
    scale = PRECISION_BYTES.get(precision, 4) / _traced_elem(mg)
    residency = gpu.l2_residency(mg, hw, scale) if hw.kind in RESIDENCY_KINDS else {}
    kernels = [map_subgraph(sg, mg.ops, hw, precision, residency.get(sg.index)) for sg in mg.subgraphs]
    by_index = {k.subgraph_index: k for k in kernels}
    if stages is None:
        stages = compute_stages(mg)
    stages = {n: stages.get(n, 0) for n in by_index}
    seq = sum(k.latency_s for k in kernels)
    stage_members: dict[int, list[KernelMapping]] = {}
    for n, s in stages.items():
        stage_members.setdefault(s, []).append(by_index[n])
    stage_times: dict[int, float] = {}
    for s, members in sorted(stage_members.items()):
        stage_times[s] = max(
            max(k.latency_s for k in members),
            sum(k.units_allocated / max(k.units_total, 1) * k.compute_time_effective_s for k in members),
            sum(k.memory_time_max_s for k in members),
            sum(k.overhead_s for k in members),
        )
    conc = sum(stage_times.values())
    cp = critical_path(mg, "latency", node_weights={n: k.latency_s for n, k in by_index.items()})
    cp_len, cp_nodes = float(cp.total), cp.path
    batch = max(int(mg.info.batch or 1), 1)
    energy = sum(k.energy_j for k in kernels)
    dynamic = sum(k.energy_compute_j + k.energy_memory_j for k in kernels)
    weights, act, total = peak_memory(mg, scale)
    flops = sum(k.flops for k in kernels)
    peak = hw.peak(precision)
    bound_counts: dict[str, int] = {}
    bound_time: dict[str, float] = {}
    for k in kernels:
        bound_counts[k.bound] = bound_counts.get(k.bound, 0) + 1
        bound_time[k.bound] = bound_time.get(k.bound, 0.0) + k.latency_s
    return ModelMapping(
        model_id=mg.info.id, hardware_id=hw.id, precision=precision, batch=batch, kernels=kernels,
        stages=stages, latency_sequential_s=seq, latency_concurrent_s=conc, latency_critical_path_s=cp_len,
        critical_path=cp_nodes, stage_times_s=stage_times,
        throughput_per_s=batch / seq if seq > 0 else 0.0,
        throughput_concurrent_per_s=batch / conc if conc > 0 else 0.0,
        energy_per_batch_j=energy, energy_per_sample_j=energy / batch,
        energy_per_batch_concurrent_j=dynamic + hw.static_w * conc,
        weights_bytes=weights, peak_activation_bytes=act, peak_memory_bytes=total,
        fits_in_memory=total <= hw.dram.capacity_bytes, total_flops=flops,
        achieved_fraction_of_peak=flops / (seq * peak) if seq > 0 and peak > 0 else 0.0,
        bound_counts=bound_counts, bound_time_s=bound_time,
    )
