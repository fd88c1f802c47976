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
from perfgraph.engine.explain import energy_split
from perfgraph.engine.placement import place_model, streamed_bytes
from perfgraph.engine.measured import apply_measured, curves_for
from perfgraph.engine.runtime import (
    DEFAULT_RULES, GRAPH_LAUNCH_S, GRAPH_LAUNCH_SOURCE, PrecisionRules, Runtime, Timeline, eager_graph,
    effective_runtime, is_sync, two_queue,
)
from perfgraph.engine.tiers import expected_error
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
    runtime: str = "compiled"  # eager | compiled | graph (engine.runtime), after the chip's own rule
    tier: str = "spec"  # spec | microbench | local (engine.tiers)
    expected_error: dict[str, Any] = field(default_factory=dict)  # engine.tiers.ExpectedError.as_dict()
    timeline: dict[str, Any] = field(default_factory=dict)  # eager: the two-queue schedule (host/device, bound)
    notes: list[str] = field(default_factory=list)  # what was assumed or changed, printed with the result
    fused_subgraph_of: dict[int, int] = field(default_factory=dict)  # eager kernel -> the fused kernel it is in
    placement: dict[str, Any] = field(default_factory=dict)  # engine.placement: fits on chip, streamed bytes
    energy_split: dict[str, Any] = field(default_factory=dict)  # engine.explain.energy_split: by part, labelled

    @property
    def latency_s(self) -> float:
        return self.latency_sequential_s

    @property
    def bound_by(self) -> str:
        """'host' or 'device' for an eager run (the two-queue timeline), '' otherwise."""
        return str(self.timeline.get("bound", ""))

    def stored_kernels(self) -> list[KernelMapping]:
        """The kernels per stored (fused) subgraph: an eager mapping's per-op kernels summed onto the
        fused kernel that holds each op (`engine.overlay.overlay_kernels`)."""
        from perfgraph.engine.overlay import overlay_kernels

        return overlay_kernels(self)

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


def map_model(mg: ModelGraph, hw: HardwareSpec, precision: str, stages: dict[int, int] | None = None, *,
              runtime: str | Runtime = Runtime.COMPILED, rules: PrecisionRules | None = None,
              profile: Any = None) -> ModelMapping:
    """Map every kernel of `mg` onto `hw` at `precision` under `runtime` (module docstring).

    runtime: 'eager' (PyTorch eager, one kernel per op, the two-queue host/device timeline), 'compiled' (the
    fused kernels of the stored kernel graph, one launch each: this function's default, so that a mapping
    lines up kernel for kernel with `mg.subgraphs`; the CLI and `perfgraph.analyze` default to eager) or
    'graph' (fused kernels replayed, ~no launch cost);
    TPUs and KPUs always run compiled (`engine.runtime`).  rules: PyTorch's fp32 precision rules (TF32
    convolutions by default).  profile: a `engine.calibrated.CalibrationProfile` of this machine, used for
    an eager prediction on the local CPU (tier 'local').

    Raises:
        ValueError: an unknown runtime; PrecisionNotSupportedError for a precision the chip lacks.
    """
    precision = precision.lower()
    rt, rt_note = effective_runtime(runtime, hw)
    rules = rules or DEFAULT_RULES
    notes = [rt_note] if rt_note else []
    chip = hw
    if rt is Runtime.GRAPH:
        launch, why = graph_launch(hw)
        chip = hw.with_overrides({"overhead": {"launch_s": launch}}, source=why)
    graph = eager_graph(mg) if rt is Runtime.EAGER else mg
    if graph is not mg:
        stages = None
    scale = PRECISION_BYTES.get(precision, 4) / _traced_elem(mg)
    residency = gpu.l2_residency(graph, chip, scale) if chip.kind in RESIDENCY_KINDS else {}
    weights, act, total = peak_memory(graph, scale)  # eager: every op's output is materialised
    plan = place_model(graph, chip, weights, act, scale)
    residency = residency or plan.kernels  # TPU / KPU: what stays in the on-chip store (engine.placement)
    curves = curves_for(chip)
    measured_used = 0
    kernels = []
    for sg in graph.subgraphs:
        computed_in = rules.compute_precision(sg.anchor_kind, precision, chip)
        k = map_subgraph(sg, graph.ops, chip, precision, residency.get(sg.index),
                         compute_precision=computed_in if computed_in != precision else None)
        if curves is not None and k.kernel not in ("empty", "collective"):  # links: no curves
            k, used = apply_measured(k, sg.anchor_kind, curves, chip.static_w)
            measured_used += used
        kernels.append(k)
    if precision == "fp32" and chip.kind == "GPU" and any(k.precision_used == "tf32" for k in kernels):
        notes.append(f"PyTorch precision rules: {rules.describe()}")
    by_index = {k.subgraph_index: k for k in kernels}
    if stages is None:
        stages = compute_stages(graph)
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
    cp = critical_path(graph, "latency", node_weights={n: k.latency_s for n, k in by_index.items()})
    cp_len, cp_nodes = float(cp.total), cp.path
    timeline: dict[str, Any] = {}
    fused_of: dict[int, int] = {}
    if rt is Runtime.EAGER:
        dispatch = curves.dispatch_s if curves is not None and curves.dispatch_s else chip.launch_overhead_s
        tl = eager_timeline(graph, kernels, chip, dispatch)
        timeline = {**tl.as_dict(), "dispatch_s": dispatch,
                    "dispatch_source": "calibration.dispatch_s" if curves is not None and curves.dispatch_s
                    else "overhead.launch_s"}
        for k, end, prev in zip(kernels, tl.finish_s, [0.0, *tl.finish_s[:-1]]):
            k.details["timeline_s"] = end - prev  # this kernel's share of the run (for the overlay)
        seq = tl.total_s
        conc = seq  # one stream: eager ops run one after another
        cp_len = min(cp_len, seq)
        fused_of = fused_subgraph_map(mg, graph)
        cp_nodes = list(dict.fromkeys(fused_of[n] for n in cp_nodes if n in fused_of))  # as stored kernels
        stages = compute_stages(mg)
    tier = "spec"
    if profile is None and chip.id == "local":
        notes.append("no calibration profile of this machine was given: a datasheet estimate "
                     "(run `perfgraph calibrate` for a measured prediction)")
    if profile is not None and chip.kind == "CPU" and rt is Runtime.EAGER:
        from perfgraph.engine.calibrated import predict_model

        predicted = predict_model(mg, profile, dtype=precision)
        notes.append(f"latency from this machine's calibration profile ({predicted.profile_device or 'local'}); "
                     "per-kernel figures stay the datasheet model")
        seq = conc = predicted.latency_s
        cp_len = min(cp_len, seq)
        tier = "local"
    elif measured_used:
        tier = "microbench"
    batch = max(int(mg.info.batch or 1), 1)
    dynamic = sum(k.energy_compute_j + k.energy_memory_j for k in kernels)
    energy = sum(k.energy_j for k in kernels) if rt is not Runtime.EAGER and tier != "local" \
        else dynamic + chip.static_w * seq
    flops = sum(k.flops for k in kernels)
    # Utilisation is against the fastest rate any kernel computed at (TF32 convolutions of an fp32 model).
    peak = max([chip.peak(precision)] + [chip.peak(k.precision_used) for k in kernels if k.kernel == "gemm"])
    bound_counts: dict[str, int] = {}
    bound_time: dict[str, float] = {}
    for k in kernels:
        bound_counts[k.bound] = bound_counts.get(k.bound, 0) + 1
        bound_time[k.bound] = bound_time.get(k.bound, 0.0) + k.latency_s
    expected = expected_error(tier, chip.kind).as_dict()
    mm = ModelMapping(
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
        bound_counts=bound_counts, bound_time_s=bound_time, runtime=rt.value, tier=tier,
        expected_error=expected, timeline=timeline, notes=notes, fused_subgraph_of=fused_of,
    )
    mm.placement = {**plan.summary(), "streamed_bytes": streamed_bytes(kernels, plan.stream_level)}
    mm.energy_split = energy_split(kernels, chip, seq)
    return mm


def graph_launch(hw: HardwareSpec) -> tuple[float, str]:
    """(seconds, source) of one kernel's fixed cost under the `graph` runtime: the chip's measured
    ``graph_launch_s`` (its calibration section: a streaming kernel replayed from a CUDA graph, t0 of
    time = t0 + bytes / rate) where there is one, else the `GRAPH_LAUNCH_S` estimate."""
    curves = curves_for(hw)
    measured = curves.mode.graph_launch_s if curves is not None else None
    if measured:
        return float(measured), curves.mode.sources.get("graph_launch_s") or f"measured: {curves.mode.source}"
    return GRAPH_LAUNCH_S, GRAPH_LAUNCH_SOURCE


def eager_timeline(graph: ModelGraph, kernels: list[KernelMapping], hw: HardwareSpec, dispatch_s: float) -> Timeline:
    """The two-queue schedule of eager kernels (`engine.runtime.two_queue`): the host pays `dispatch_s` per
    launch; the device runs each kernel's time without its launch overhead, plus (GPU) the gap between
    back-to-back kernels; a CPU computes what it dispatches (serial)."""
    by_sg = {sg.index: sg for sg in graph.subgraphs}
    host, device, syncs = [], [], []
    gap = GRAPH_LAUNCH_S if hw.kind == "GPU" else 0.0
    for k in kernels:
        launches = 0 if k.kernel == "empty" else max(round(k.overhead_s / hw.launch_overhead_s), 1) \
            if hw.launch_overhead_s > 0 else 1
        host.append(launches * dispatch_s)
        device.append(max(k.latency_s - k.overhead_s, 0.0) + (gap * launches))
        sg = by_sg[k.subgraph_index]
        syncs.append(any(is_sync(graph.ops[i]) for i in sg.op_indices))
    return two_queue(host, device, syncs, serial=hw.kind == "CPU")


def fused_subgraph_map(fused: ModelGraph, eager: ModelGraph) -> dict[int, int]:
    """Eager kernel index -> index of the fused kernel (of `fused`) that holds its op."""
    of_op = {i: sg.index for sg in fused.subgraphs for i in sg.op_indices}
    out = {}
    for sg in eager.subgraphs:
        owners = [of_op[i] for i in sg.op_indices if i in of_op and eager.ops[i].kind not in ("view", "creation")]
        owners = owners or [of_op[i] for i in sg.op_indices if i in of_op]
        if owners:
            out[sg.index] = owners[0]
    return out
