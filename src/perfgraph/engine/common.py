"""Shared pieces of the mapping rules: the result type, GEMM-shape extraction, the roofline and energy.

Roofline used by every kind (see `finish`)::

    compute_time_s  = flops / peak(precision)                  (ideal, at the chip's dense peak)
    effective       = compute_time_s / utilization             (utilization comes from the mapping:
                                                                 waves, padding, tiles, cores used)
    memory_time_s   = {level: bytes / effective bandwidth}     (the level(s) that serve the kernel)
                      + {path: time}                           (transfer paths that carry bytes already
                                                                 counted at a level, e.g. the GPU's
                                                                 L2 -> SM path: time only, no energy)
    latency_s       = max(effective, max(memory_time_s)) + latency_exposed_s + overhead_s
                      (latency_exposed_s: memory latency the kernel cannot hide -- its pipeline's fill
                       and drain; the GPU rule sets it from measured DRAM/L2 latencies, `engine.gpu`)
    bound           = overhead if overhead_s >= max(effective, memory) + latency_exposed_s,
                      else memory if memory > effective or latency_exposed_s >= max(effective, memory),
                      else compute

Energy (see `finish`)::

    compute  = flops x pJ/FLOP(precision)            useful FLOPs only: padded lanes are assumed
                                                      operand-gated, their cost shows up as time
    memory   = bytes x pJ/byte(serving level)
    static   = static_w x latency_s                   the chip's idle/static share while it runs
    energy_j = compute + memory + static

Bytes: a subgraph's external bytes (inputs + outputs + weights) as traced, rescaled from the traced
dtype to the storage size of the requested precision (tf32 is stored as fp32).

Cache residency between kernels (`Residency`): a single kernel mapped on its own streams everything from
main memory (the cold view).  `engine.model_mapping.map_model` knows the schedule and may tell a kernel
which of its input bytes are still resident in the chip's last-level cache (written by a recent kernel)
and whether its output stays there; the GPU rule uses it (`engine.gpu`), the other kinds keep their
cache-fit rule (`serving_level`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

from perfgraph.graph import Op, Subgraph
from perfgraph.hardware.spec import HardwareSpec, MemoryLevel

MAC_KINDS = ("conv", "matmul", "attention")
BOUNDS = ("compute", "memory", "overhead")

PRECISION_BYTES = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "int8": 1}

# PyTorch's parallel_for grain: a TensorIterator loop is split across threads only in chunks of at least
# this many elements (aten/src/ATen/Parallel.h: at::internal::GRAIN_SIZE = 32768).
TORCH_GRAIN_SIZE = 32768

# Depthwise detection (see `gemm_shape`): square kernel areas of 3x3, 5x5, 7x7 and 9x9 convolutions.
_DEPTHWISE_KERNEL_AREAS = (9, 25, 49, 81)


def dtype_bytes(dtype: str, default: int = 4) -> int:
    """Element size of a dtype string as ingest records it ('torch.float32', 'float16', 'bf16', ...)."""
    d = (dtype or "").lower().replace("torch.", "")
    if not d:
        return default
    if "bfloat16" in d or d in ("bf16",):
        return 2
    if "float16" in d or d in ("half", "fp16"):
        return 2
    if "float64" in d or d in ("double", "fp64") or "int64" in d or d == "long" or "complex64" in d:
        return 8
    if "float32" in d or d in ("float", "fp32", "tf32") or "int32" in d or d == "int":
        return 4
    if "int16" in d or d == "short":
        return 2
    if "int8" in d or "uint8" in d or d == "bool" or "float8" in d:
        return 1
    return default


@dataclass
class KernelMapping:
    """One subgraph (kernel) mapped onto one chip at one precision."""

    subgraph_index: int
    subgraph_uid: str
    hardware_id: str
    precision: str  # requested
    precision_used: str  # what the chip computes it in (after its documented fallback)
    kernel: str  # gemm | vector | empty
    flops: int
    bytes: float  # bytes moved at the serving level (rescaled to the precision)
    units_allocated: int
    units_total: int
    utilization: float  # mapping efficiency in [0, 1]: waves x padding x cores used ...
    compute_time_s: float  # flops / peak, ideal
    compute_time_effective_s: float  # compute_time_s / utilization
    memory_time_s: dict[str, float]
    overhead_s: float
    latency_s: float
    energy_j: float
    energy_compute_j: float
    energy_memory_j: float
    energy_static_j: float
    bound: str
    details: dict[str, Any] = field(default_factory=dict)
    latency_exposed_s: float = 0.0  # memory latency not hidden behind the steady state (fill + drain)

    @property
    def memory_time_max_s(self) -> float:
        return max(self.memory_time_s.values(), default=0.0)

    @property
    def achieved_fraction_of_peak(self) -> float:
        """FLOPs / (latency x peak): what fraction of the chip's peak the kernel sustains end to end."""
        peak = self.details.get("peak_flops", 0.0)
        return self.flops / (self.latency_s * peak) if self.latency_s > 0 and peak > 0 else 0.0

    @property
    def compute_utilization(self) -> float | None:
        """The mapping efficiency, reported only for a compute-bound kernel: a kernel bound by memory or
        launch overhead is not limited by how well it fills the units, so its efficiency is no utilisation
        (None; the bound names what limits it)."""
        return self.utilization if self.bound == "compute" and self.flops > 0 else None

    @property
    def padding_waste(self) -> float:
        return float(self.details.get("padding_waste", 0.0))

    def properties(self) -> dict[str, Any]:
        """Flat properties for a (:Subgraph)-[:MAPPED_TO]->(:Hardware) relationship."""
        return {
            "precision": self.precision, "latency_s": self.latency_s, "energy_j": self.energy_j,
            "utilization": self.utilization, "units": self.units_allocated, "bound": self.bound,
            "compute_time_s": self.compute_time_s, "memory_time_s": self.memory_time_max_s,
            "overhead_s": self.overhead_s, "padding_waste": self.padding_waste,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Residency:
    """What the schedule leaves in the last-level cache for one kernel (see `engine.gpu.l2_residency`).

    ``input_bytes``: traced bytes of the kernel's activation inputs that are still resident (LRU reuse
    distance within the cache capacity); ``output_resident``: every consumer of the kernel's output finds
    it resident, so the write is absorbed by the write-back cache and never reaches main memory.
    """

    input_bytes: float = 0.0
    output_resident: bool = False


@dataclass
class GemmShape:
    """A MAC kernel seen as `batch` independent GEMMs of (M x K) @ (K x N), in `groups` groups each
    (grouped / depthwise convolution: per group K and N; M is shared)."""

    M: int
    N: int  # per group
    K: int  # per group
    groups: int = 1
    batch: int = 1
    op_kind: str = "matmul"
    depthwise: bool = False
    how: str = ""

    @property
    def macs(self) -> int:
        return self.batch * self.groups * self.M * self.N * self.K

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_ops(sg: Subgraph, ops: Sequence[Op]) -> list[Op]:
    """The subgraph's ops, whether `ops` is the whole model's op list or already the subgraph's."""
    wanted = set(sg.op_indices)
    by_index = [op for op in ops if op.index in wanted]
    return by_index if by_index else list(ops)


def anchor_op(sg: Subgraph, ops: Sequence[Op]) -> Op | None:
    """The MAC op that dominates the kernel (largest MACs among conv / matmul / attention ops)."""
    mac_ops = [op for op in ops if op.kind in MAC_KINDS and op.macs > 0]
    if not mac_ops:
        return None
    return max(mac_ops, key=lambda op: op.macs)


def _prod(xs: Iterable[int]) -> int:
    return math.prod(int(x) for x in xs)


def gemm_shape(op: Op) -> GemmShape:
    """M, N, K of a MAC op from its output shape and MAC count.

    * matmul / linear: out [..., M, N]; a weight matmul (weight_bytes > 0, e.g. nn.Linear) folds every
      leading dim into M; an activation x activation matmul (bmm, attention scores) keeps the leading dims
      as `batch` independent GEMMs; K = macs / (batch x M x N).
    * conv: implicit GEMM, out [N, C_out, *spatial]: M = N x prod(spatial), N = C_out, K = macs / (M x N)
      (= C_in/groups x prod(kernel)).  Groups: `op.groups` when ingest records it; otherwise a depthwise
      convolution is recognised when K is a square kernel area (9, 25, 49, 81) and the activation input
      holds at least C_out channels (C_in estimated as bytes_read / (elem size x M), which over-counts by
      stride^2 and so never misses a strided depthwise): then groups = C_out, N = 1 per group.
    * attention (fused SDPA): out [B, H, L, D]: batch = B x H, M = L, N = D, K = macs / (batch x M x N).
    * no usable shape: M = parallelism_batch x parallelism_spatial, N = parallelism_channels.
    """
    out = [int(x) for x in (op.output_shape or []) if int(x) > 0]
    macs = max(int(op.macs), 1)
    kind = op.kind
    if kind == "conv" and len(out) >= 2:
        n_out = out[1]
        m = max(out[0] * _prod(out[2:]), 1)
        k = max(round(macs / (m * n_out)), 1)
        groups = int(getattr(op, "groups", 0) or 0)
        how = "conv implicit GEMM"
        depthwise = False
        if groups <= 1:
            esize = dtype_bytes(op.dtype)
            cin_est = op.bytes_read / (esize * m) if op.bytes_read else 0.0
            if k in _DEPTHWISE_KERNEL_AREAS and n_out >= 2 and cin_est >= n_out:
                groups, depthwise = n_out, True
                how += f" (depthwise: K={k} is a kernel area and C_in~{cin_est:.0f} >= C_out={n_out})"
            else:
                groups = 1
        else:
            depthwise = groups == n_out
            how += f" (groups={groups} from op)"
        n_g = max(n_out // groups, 1)
        return GemmShape(M=m, N=n_g, K=k, groups=groups, op_kind="conv", depthwise=depthwise, how=how)
    if kind == "attention" and len(out) >= 3:
        batch = _prod(out[:-2])
        m, n = out[-2], out[-1]
        k = max(round(macs / (batch * m * n)), 1)
        return GemmShape(M=m, N=n, K=k, batch=batch, op_kind="attention", how="attention as batched GEMM")
    if len(out) >= 2:
        n = out[-1]
        if op.weight_bytes > 0 or len(out) == 2:
            m = _prod(out[:-1])
            k = max(round(macs / (m * n)), 1)
            return GemmShape(M=m, N=n, K=k, op_kind=kind, how="matmul, leading dims folded into M")
        batch = _prod(out[:-2])
        m = out[-2]
        k = max(round(macs / (batch * m * n)), 1)
        return GemmShape(M=m, N=n, K=k, batch=batch, op_kind=kind, how="batched matmul")
    m = max(int(op.parallelism_batch) * int(op.parallelism_spatial), 1)
    n = max(int(op.parallelism_channels), 1)
    k = max(round(macs / (m * n)), 1)
    return GemmShape(M=m, N=n, K=k, op_kind=kind, how="from parallelism fields")


REDUCING_KINDS = ("reduction", "pool", "norm")


def output_elements(sg: Subgraph, ops: Sequence[Op], esize: int) -> int:
    """Parallel work items of a vector kernel (one thread / SIMD lane each): the largest op output in the
    kernel — for reductions, pooling and norms the larger of output and input elements, since those
    kernels parallelise over what they read — else output bytes / element size."""
    best = 0
    for op in ops:
        n = _prod(op.output_shape) if op.output_shape else 0
        if op.kind in REDUCING_KINDS and op.bytes_read:
            n = max(n, int(op.bytes_read // dtype_bytes(op.dtype)))
        best = max(best, n)
    if best <= 0:
        best = int(sg.output_bytes // max(esize, 1)) if sg.output_bytes else 0
    return max(best, 1)


def traced_elem_bytes(sg: Subgraph, ops: Sequence[Op]) -> int:
    anchor = anchor_op(sg, ops)
    for op in ([anchor] if anchor else []) + list(ops):
        if op is not None and op.dtype:
            return dtype_bytes(op.dtype)
    return 4


def scaled_bytes(sg: Subgraph, ops: Sequence[Op], precision: str) -> tuple[float, float]:
    """External bytes rescaled from the traced dtype to the requested precision's storage size."""
    traced = traced_elem_bytes(sg, ops)
    scale = PRECISION_BYTES.get(precision, 4) / traced
    return float(sg.external_bytes) * scale, scale


def serving_level(hw: HardwareSpec, working_set: float, unit_fraction: float) -> tuple[MemoryLevel, float]:
    """The fastest memory level (with a known bandwidth) whose capacity holds the kernel's working set,
    and the bandwidth available to it.

    A per-unit level's capacity counts only the units the kernel uses; a level's aggregate bandwidth is
    scaled by the fraction of units in use (each unit drives its share).  Main memory always qualifies.
    This is the usual cache-aware roofline simplification: it assumes the working set is already resident
    in that level (produced by the previous kernel or kept from the previous inference).
    """
    frac = min(max(unit_fraction, 1e-9), 1.0)
    used_units = max(1, round(frac * hw.unit_count))
    for lv in hw.memory:
        if not lv.bandwidth_bytes_per_s:
            continue
        cap = lv.capacity_bytes * (used_units if lv.scope == "per_unit" else 1)
        if lv.is_main or working_set <= cap:
            return lv, lv.bandwidth_bytes_per_s * frac
    main = hw.dram
    return main, float(main.bandwidth_bytes_per_s or 1.0) * frac


def waves(work_items: int, slots: int) -> tuple[int, float]:
    """Wave quantisation: `waves = ceil(items / slots)`, efficiency = items / (waves x slots)."""
    items = max(int(work_items), 1)
    s = max(int(slots), 1)
    w = math.ceil(items / s)
    return w, items / (w * s)


def ceil_to(x: int, m: int) -> int:
    m = max(int(m), 1)
    return int(math.ceil(max(int(x), 1) / m) * m)


def finish(
    *, sg: Subgraph, hw: HardwareSpec, precision: str, precision_used: str, kernel: str, flops: int,
    bytes_by_level: dict[str, float], bandwidth_by_level: dict[str, float], units_allocated: int,
    utilization: float, overhead_s: float, peak: float, details: dict[str, Any],
    path_times_s: dict[str, float] | None = None, latency_exposed_s: float = 0.0,
    pj_per_byte_by_level: dict[str, float] | None = None,
) -> KernelMapping:
    """Apply the roofline and the energy model (module docstring) to a mapping's numbers.

    `path_times_s` adds transfer times of paths whose bytes are already counted at a level (they bound the
    latency like a level does, but carry no bytes or energy of their own).  `latency_exposed_s` is memory
    latency the kernel cannot overlap (added to the steady-state time; default 0).  `pj_per_byte_by_level`
    overrides a level's energy per byte (a level whose spec gives none, costed at a stated stand-in);
    the memory energy per level lands in ``details["energy_memory_by_level_j"]``."""
    util = min(max(float(utilization), 1e-12), 1.0)
    compute = flops / peak if (flops > 0 and peak > 0) else 0.0
    effective = compute / util if compute > 0 else 0.0
    mem_times = {
        name: (b / bandwidth_by_level[name] if bandwidth_by_level.get(name) else 0.0)
        for name, b in bytes_by_level.items()
    }
    for name, t in (path_times_s or {}).items():
        mem_times[name] = max(mem_times.get(name, 0.0), float(t))
    mem = max(mem_times.values(), default=0.0)
    exposed = max(float(latency_exposed_s), 0.0)
    steady = max(effective, mem)
    busy = steady + exposed
    latency = busy + overhead_s
    if overhead_s >= busy:
        bound = "overhead"
    elif mem > effective or exposed >= steady:
        bound = "memory"  # bandwidth-bound, or waiting on memory latency (a short kernel)
    else:
        bound = "compute"
    e_compute = flops * hw.pj_per_flop[precision_used] * 1e-12
    pj = dict(pj_per_byte_by_level or {})
    e_by_level = {name: b * pj.get(name, hw.pj_per_byte(name)) * 1e-12 for name, b in bytes_by_level.items()}
    e_memory = sum(e_by_level.values())
    e_static = hw.static_w * latency
    details = dict(details)
    details.setdefault("peak_flops", peak)
    details["energy_memory_by_level_j"] = e_by_level
    details["level_bytes"] = {name: float(b) for name, b in bytes_by_level.items()}
    return KernelMapping(
        subgraph_index=sg.index, subgraph_uid=sg.uid, hardware_id=hw.id, precision=precision,
        precision_used=precision_used, kernel=kernel, flops=int(flops),
        bytes=float(sum(bytes_by_level.values())), units_allocated=int(units_allocated),
        units_total=hw.unit_count, utilization=util if flops > 0 else float(utilization),
        compute_time_s=compute, compute_time_effective_s=effective, memory_time_s=mem_times,
        overhead_s=overhead_s, latency_s=latency, energy_j=e_compute + e_memory + e_static,
        energy_compute_j=e_compute, energy_memory_j=e_memory, energy_static_j=e_static, bound=bound,
        details=details, latency_exposed_s=exposed,
    )
