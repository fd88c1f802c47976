"""GPU mapping: threads -> warps -> thread blocks -> SMs, with occupancy and wave quantisation.

**MAC kernels (matmul, conv, attention) as tiled GEMMs.**  Convolutions are implicit GEMMs
(M = N x H_out x W_out, N = C_out, K = MACs / (M x N), see `common.gemm_shape`).  The output is cut into
thread-block tiles of TILE_M x TILE_N (128 x 128, the CUTLASS/cuBLAS default tensor-core tile; the same
tile is used for the CUDA-core FP32 path), each block computing its tile over K in TILE_K slices:

    blocks        = batch x groups x ceil(M / 128) x ceil(N / 128)     (x split_k, below; a dim <= 64
                                                                     gets a 64-wide tile)
    blocks_per_sm = min(max_blocks_per_sm,
                        max_threads_per_sm // 256,                     256 threads (8 warps) per block
                        registers_per_sm // (256 x 128),               128 registers per thread
                        shared_mem_per_sm // (3 x (128x32 + 32x128) x elem_size))   3-stage A/B pipeline
    slots         = SMs x blocks_per_sm
    waves         = ceil(blocks / slots)
    wave_eff      = blocks / (waves x slots)
    padding_eff   = (M x N x K) / (M_pad x N_pad x K_pad)              pads to 128, 128, 32
    achievable    = spec.achievable(precision)                          measured large-GEMM ceiling
    utilization   = wave_eff x padding_eff x achievable

``achievable`` is the fraction of the dense tensor peak that the best-shaped large GEMMs sustain on that
chip, as measured and published (the spec's ``achievable_fraction``, each value with its source; 1.0 when
none is published).  Why: a tile pipeline never keeps the tensor cores busy 100 % of the time (prologue,
epilogue, shared-memory and issue limits) and clocks drop under sustained tensor load and power caps; a
measured best case folds all of that in, and no kernel of any shape does better.

Small GEMMs whose grid cannot fill the SMs may be split along K (split-K, as cuBLAS does): every factor
from 1 to ``min(slots // blocks, K // 256)`` is costed and the fastest is taken, so a split is used only when
it is faster.  The partial sums cost an extra fp32 write + read of the output per split, reduced either by
a second kernel (its own memory round trips and a back-to-back launch gap) or in place in the output
buffer (cuBLASLt's ``CUBLASLT_REDUCTION_SCHEME_INPLACE``: no second kernel); both are costed.  Compute
time is ``flops / (peak x utilization)``.

**GEMV and skinny GEMMs** (M or N <= 8, below the smallest tensor-core MMA shape, with an arithmetic
intensity under the ridge point peak / DRAM bandwidth -- e.g. the batch-1 classifier, M = 1) also get a
streaming kernel on the CUDA cores (`map_skinny`), one thread per 16 bytes of the large operand, costed
like a vector kernel -- bound by the bytes it moves; the faster of it and the best tiled GEMM is taken.
Tiles: for a grid that cannot fill the SMs with the default tile, a 64-wide tile per dimension too (the
`NARROW_TILES`), chosen with the split-K factor for the lowest latency.

**Memory (`memory_model`).**  Every byte a kernel moves reaches the SMs through the L2, and each SM's
L1 <- L2 load path has a finite width, so a kernel on ``u`` SMs can move at most ``u x per_sm`` bytes/s,
``per_sm = l2_bytes_per_clk_per_sm x clock`` (from the chip spec: the L2 bandwidth measured or published
with every SM loading, divided by the SM count).  By Little's law the SM's path is what limits a
latency-bound stream, and DRAM bandwidth saturates with a fraction of the SMs, not all of them::

    dram_time    = dram_bytes / dram_bandwidth
    l2_sm_time   = (dram_bytes + l2_bytes) / min(l2_bandwidth, u x per_sm)     ("L2->SM" path)
    memory_time  = max(dram_time, l2_sm_time)

so an all-DRAM kernel sees ``min(dram_bandwidth, u x per_sm)``.  ``l2_bytes`` are the bytes the L2 serves
without touching DRAM: the split-K partial sums (written and read back at once) when they fit, and -- from
`l2_residency`, which `model_mapping.map_model` runs over the schedule -- activations written by a recent
kernel and still resident (LRU reuse distance within the L2 capacity), and outputs whose every consumer
finds them resident (absorbed by the write-back L2).  Weights and model inputs come from DRAM.  A kernel
mapped on its own (no schedule) is cold: everything but the split-K partials streams from DRAM.  A spec
without ``l2_bytes_per_clk_per_sm`` falls back to the old linear share (``bandwidth x SMs used / SMs``, no
L2 term and no residency).

**Exposed memory latency (`exposed_latency`).**  The roofline above is a steady-state rate; a short kernel
never reaches it.  Its first thread blocks cannot compute until their first operand tiles arrive (pipeline
fill: one load round trip), and the kernel is not finished until its last output tile has reached the L2
(drain: one store round trip); only the accesses in between overlap.  This is the latency-bandwidth
(Hockney) form ``time = latency + bytes / bandwidth``, applied once per launch::

    fill         = dram_latency   if the kernel reads anything from DRAM (weights, cold inputs)
                   l2_latency     if everything it reads is L2-resident
    drain        = l2_latency     (the write-back L2 acknowledges the store)
    exposed      = fill + drain   (+ l2_latency + l2_latency for a split-K reduction launch, which reads
                                   the partial sums -- dram_latency when they do not fit the L2 -- and
                                   writes the output)
    latency      = max(compute, memory) + exposed + launch overhead

``dram_latency_ns`` and ``l2_latency_ns`` come from the spec's ``compute_units.gpu`` (published
pointer-chasing measurements, each with its source: 405.5 ns / 149.6 ns on A100 80GB, te42kyfo/gpu-benches
``cuda-latency``); a spec without them gets no latency term.  The term is about 0.55 us on an A100: it
dominates a kernel of a few microseconds and vanishes next to a millisecond GEMM.  Little's law in steady
state (bandwidth <= bytes in flight / latency) is met by the GEMM tile pipeline -- 2 blocks x 3 stages x 8 KB
(int8, 128 x 32 + 32 x 128 tiles) = 48 KB in flight per SM sustains 48 KB / 405 ns = 118 GB/s, above
the A100's per-SM L2 -> SM path (35.5 B/clk x 1.41 GHz = 50 GB/s) -- so it adds no separate bound.
A kernel whose exposed latency is at least its compute and memory time is reported memory-bound
(it waits on memory latency).

**Depthwise convolutions** are not GEMMs on a GPU (cuDNN / PyTorch run a direct depthwise kernel on the
CUDA cores): they are mapped like vector kernels, one thread per output element.

**Vector kernels (elementwise, norms, reductions, pooling, copies)**: one thread per output element in
256-thread blocks; ``blocks_per_sm = min(max_blocks_per_sm, max_threads_per_sm // 256)``; wave
efficiency as above.  They run on the CUDA cores (`vector_flops`) and are normally bandwidth-bound; tiny
ones are launch-overhead-bound.

Overhead: one kernel launch (`overhead.launch_s`) per subgraph; with split-K the library enqueues the
reduction kernel in the same call, which adds the device's back-to-back kernel gap
(`engine.runtime.GRAPH_LAUNCH_S`, 1 us) rather than a second dispatch (each launch also pays its exposed
memory latency, above).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Sequence

import networkx as nx

from perfgraph.engine.common import (
    PRECISION_BYTES, GemmShape, KernelMapping, Residency, ceil_to, finish, output_elements, scaled_bytes,
    waves,
)
from perfgraph.engine.runtime import GRAPH_LAUNCH_S
from perfgraph.graph import ModelGraph, Op, Subgraph
from perfgraph.hardware.spec import HardwareSpec, MemoryLevel

TILE_M = 128
TILE_N = 128
TILE_K = 32
THREADS_PER_BLOCK = 256
REGS_PER_THREAD = 128
PIPELINE_STAGES = 3
SMALL_TILE = 64  # a GEMM dimension <= 64 gets a 64-wide tile instead of 128 (as library heuristics do)
# Narrower tiles are not searched: the model does not charge a narrow tile for re-reading its operand panels
# through the L2, so narrow tiles looked free; with them, batch-1 predictions ran 2-4x faster than the
# published batch-1 results (benchmarks/bench_published.py).
NARROW_TILES: tuple[int, ...] = ()
SPLIT_K_MIN = 256  # each K split keeps at least this many reduction steps
# A GEMM with M or N at most this is a GEMV / skinny GEMM: below the N = 8 of the smallest tensor-core MMA
# shape (mma.m16n8k16, PTX ISA "Matrix shape"), libraries run it as a streaming GEMV kernel.
SKINNY_DIM = 8
SKINNY_VECTOR_BYTES = 16  # one 128-bit load per thread per step of a GEMV kernel
VECTOR_BLOCK = 256


def _detail(hw: HardwareSpec, key: str, default: int) -> int:
    return int(hw.unit_details.get(key, default))


def per_sm_bandwidth(hw: HardwareSpec) -> float | None:
    """Bytes/s one SM can load through its L1 <- L2 path: ``l2_bytes_per_clk_per_sm x boost clock``
    (None when the spec does not give the per-SM figure)."""
    per_clk = hw.unit_details.get("l2_bytes_per_clk_per_sm")
    clock = hw.clock_boost_ghz or hw.clock_base_ghz
    if not per_clk or not clock:
        return None
    return float(per_clk) * float(clock) * 1e9


def memory_latency_s(hw: HardwareSpec, level: str) -> float:
    """Measured load latency of `level` ("dram" or "l2") in seconds, from the spec's ``compute_units.gpu``
    (``dram_latency_ns`` / ``l2_latency_ns``); 0.0 when the spec does not give it."""
    value = hw.unit_details.get({"dram": "dram_latency_ns", "l2": "l2_latency_ns"}[level])
    return float(value) * 1e-9 if value else 0.0


def exposed_latency(hw: HardwareSpec, dram_read_bytes: float, split_k: bool = False,
                    partials_in_l2: bool = True) -> dict[str, float]:
    """Memory latency a kernel cannot hide (module docstring, "Exposed memory latency"): the fill of its
    pipeline (first load from DRAM when it reads any DRAM bytes, else from the L2) and the drain of its last
    store into the L2; a split-K reduction launch adds its own fill (the partials: L2, or DRAM when they
    did not fit) and drain.  Returns the parts and their sum (``total_s``); all 0 when the spec gives no
    latencies."""
    dram, l2 = memory_latency_s(hw, "dram"), memory_latency_s(hw, "l2")
    parts = {"fill_s": dram if dram_read_bytes > 0 else l2, "drain_s": l2}
    if split_k:
        parts["reduction_s"] = (l2 if partials_in_l2 else dram) + l2
    parts["total_s"] = sum(parts.values())
    return parts


def last_level_cache(hw: HardwareSpec) -> MemoryLevel | None:
    """The chip-wide cache in front of main memory (the GPU's L2): the last shared, non-main level."""
    shared = [lv for lv in hw.memory if not lv.is_main and lv.scope == "shared" and lv.kind in ("cache", "sram")]
    return shared[-1] if shared else None


def l2_sm_bandwidth(hw: HardwareSpec, units: int) -> float | None:
    """Bandwidth of the L2 -> SM path for a kernel on `units` SMs: ``min(L2 bandwidth, units x per_sm)``
    (either term alone when the spec gives only one; None when it gives neither)."""
    per_sm = per_sm_bandwidth(hw)
    llc = last_level_cache(hw)
    l2_bw = llc.bandwidth_bytes_per_s if llc is not None else None
    terms = []
    if per_sm is not None:
        terms.append(max(int(units), 1) * per_sm)
    if l2_bw:
        terms.append(float(l2_bw) if per_sm is not None else float(l2_bw) * min(1.0, max(units, 1) / hw.unit_count))
    return min(terms) if terms else None


def memory_model(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, units: int,
                 residency: Residency | None, partial_bytes: float = 0.0,
                 partial_buffer_bytes: float = 0.0, panel_bytes: float = 0.0) -> dict[str, Any]:
    """Bytes per level, bandwidths and path times of one kernel (module docstring, "Memory").

    `partial_bytes`: split-K traffic (fp32 partial tiles written and read back); `partial_buffer_bytes`:
    the size of that buffer, which decides whether the L2 holds it.  `panel_bytes`: what a tiled GEMM's
    blocks load through the L2 -> SM path (`panel_traffic`), when more than its distinct bytes.  ``exposed`` is the kernel's
    `exposed_latency` (fill from the level its reads come from, drain into the L2).
    """
    ext, scale = scaled_bytes(sg, ops, precision)
    main = hw.dram
    llc = last_level_cache(hw)
    reads = max(ext - float(sg.output_bytes) * scale, 0.0)  # inputs + weights, at the precision
    split = partial_bytes > 0
    if per_sm_bandwidth(hw) is None:  # legacy linear share: no per-SM figure, everything from DRAM
        bw = hw.dram_bandwidth * min(1.0, units / hw.unit_count)
        return {"bytes": {main.name: ext + partial_bytes}, "bandwidth": {main.name: bw}, "paths": {},
                "scale": scale, "l2_bytes": 0.0, "dram_bytes": ext + partial_bytes, "serving": main.name,
                "exposed": exposed_latency(hw, reads, split, partials_in_l2=False)}
    path_bw = float(l2_sm_bandwidth(hw, units))
    l2 = 0.0
    l2_reads = 0.0
    partials_in_l2 = False
    if llc is not None:
        if residency is not None:
            l2_reads = min(float(residency.input_bytes), float(sg.input_bytes)) * scale
            l2 += l2_reads
            if residency.output_resident:
                l2 += float(sg.output_bytes) * scale
        if partial_bytes and partial_buffer_bytes + ext <= llc.capacity_bytes:
            l2 += partial_bytes
            partials_in_l2 = True
    total = ext + partial_bytes
    l2 = min(l2, total)
    dram = total - l2
    bytes_by_level = {main.name: dram}
    bandwidth = {main.name: hw.dram_bandwidth}
    if l2 > 0 and llc is not None:
        bytes_by_level[llc.name] = l2
        bandwidth[llc.name] = path_bw
    path = f"{llc.name if llc is not None else 'L2'}->SM"
    return {"bytes": bytes_by_level, "bandwidth": bandwidth, "paths": {path: max(total, panel_bytes) / path_bw},
            "scale": scale, "l2_bytes": l2, "dram_bytes": dram, "path_bandwidth": path_bw,
            "serving": llc.name if (llc is not None and dram <= 0) else main.name,
            "exposed": exposed_latency(hw, max(reads - l2_reads, 0.0), split, partials_in_l2)}


def gemm_blocks_per_sm(hw: HardwareSpec, elem_bytes: int) -> dict[str, int]:
    """Occupancy of the GEMM thread block: the binding limit among blocks, threads, registers, smem."""
    smem_per_block = PIPELINE_STAGES * (TILE_M * TILE_K + TILE_K * TILE_N) * elem_bytes
    limits = {
        "max_blocks": _detail(hw, "max_blocks_per_sm", 32),
        "threads": _detail(hw, "max_threads_per_sm", 2048) // THREADS_PER_BLOCK,
        "registers": _detail(hw, "registers_per_sm", 65536) // (THREADS_PER_BLOCK * REGS_PER_THREAD),
        "shared_mem": _detail(hw, "shared_mem_per_sm_bytes", 98304) // smem_per_block,
    }
    limits["blocks_per_sm"] = max(1, min(limits.values()))
    limits["smem_per_block_bytes"] = smem_per_block
    return limits


def is_skinny(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, prec_used: str,
              shape: GemmShape) -> bool:
    """A GEMV or skinny GEMM: M or N below the smallest tensor-core MMA dimension (SKINNY_DIM) and an
    arithmetic intensity below the chip's ridge point (peak / DRAM bandwidth) -- a streaming kernel."""
    if min(shape.M, shape.N) > SKINNY_DIM or hw.dram_bandwidth <= 0:
        return False
    ext, _ = scaled_bytes(sg, ops, precision)
    return ext > 0 and sg.flops / ext < hw.peak(prec_used) / hw.dram_bandwidth


def map_skinny(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, prec_used: str,
               shape: GemmShape, residency: Residency | None = None) -> KernelMapping:
    """GEMV / skinny GEMM as a streaming kernel (module docstring): one thread per SKINNY_VECTOR_BYTES of
    the large operand, on the CUDA cores, so it is costed by the bytes it moves."""
    large = shape.batch * shape.groups * shape.K * max(shape.M, shape.N)
    threads = max(math.ceil(large * PRECISION_BYTES[precision] / SKINNY_VECTOR_BYTES), 1)
    km = map_vector(sg, ops, hw, precision, prec_used, residency, threads=threads)
    km.kernel = "gemm"
    km.details.update(rule="gpu.skinny", gemm=shape.as_dict(),
                      note=f"GEMV / skinny GEMM (min(M, N) = {min(shape.M, shape.N)} <= {SKINNY_DIM}, intensity "
                           "below the ridge point): a streaming kernel on the CUDA cores")
    return km


def map_gemm(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, prec_used: str,
             shape: GemmShape, residency: Residency | None = None) -> KernelMapping:
    """A MAC kernel: the fastest of the tiled GEMM over its tiles and split-K factors (1 included: a split
    is only taken when it is faster) and, for a GEMV / skinny GEMM, the streaming rule."""
    best = map_skinny(sg, ops, hw, precision, prec_used, shape, residency) \
        if is_skinny(sg, ops, hw, precision, prec_used, shape) else None
    for tile in tiles_to_try(hw, prec_used, shape):
        for split in split_k_candidates(hw, prec_used, shape, tile):
            for scheme in (("kernel", "inplace") if split > 1 else ("kernel",)):
                km = map_gemm_split(sg, ops, hw, precision, prec_used, shape, split, residency, tile, scheme)
                if best is None or km.latency_s < best.latency_s:
                    best = km
    if best.details["rule"] == "gpu.gemm":
        best.details["split_k_considered"] = list(split_k_candidates(hw, prec_used, shape,
                                                                     tuple(best.details["tile"][:2])))
    return best


def tile_candidates(shape: GemmShape) -> list[tuple[int, int]]:
    """Thread-block tiles to choose from, the default first: 128 wide in a dimension over 64, else 64; then
    any `NARROW_TILES` (none at present: see there)."""
    def sizes(dim: int, default: int) -> list[int]:
        first = default if dim > SMALL_TILE else SMALL_TILE
        return [first, *(t for t in NARROW_TILES if t < first)]

    return [(m, n) for m in sizes(shape.M, TILE_M) for n in sizes(shape.N, TILE_N)]


def tiles_to_try(hw: HardwareSpec, prec_used: str, shape: GemmShape) -> list[tuple[int, int]]:
    """The default tile (128, or 64 for a dim <= 64); the narrower ones only when its grid cannot fill
    the SMs -- libraries pick small tiles for small problems, not for GEMMs that fill the chip."""
    candidates = tile_candidates(shape)
    g = _grid(hw, prec_used, shape, candidates[0])
    return candidates if g["blocks"] < g["slots"] else candidates[:1]


def _grid(hw: HardwareSpec, prec_used: str, shape: GemmShape, tile: tuple[int, int] | None = None) -> dict[str, Any]:
    tile_m, tile_n = tile or tile_candidates(shape)[0]
    occ = gemm_blocks_per_sm(hw, PRECISION_BYTES[prec_used])
    tiles_m, tiles_n = math.ceil(shape.M / tile_m), math.ceil(shape.N / tile_n)
    return {"tile_m": tile_m, "tile_n": tile_n, "occ": occ, "slots": hw.unit_count * occ["blocks_per_sm"],
            "tiles_m": tiles_m, "tiles_n": tiles_n, "blocks": shape.batch * shape.groups * tiles_m * tiles_n}


def split_k_candidates(hw: HardwareSpec, prec_used: str, shape: GemmShape,
                       tile: tuple[int, int] | None = None) -> range:
    """Split-K factors worth trying: 1, and for a grid that cannot fill the SMs every factor up to
    ``min(slots // blocks, K // SPLIT_K_MIN)`` (each split keeps at least SPLIT_K_MIN reduction steps)."""
    g = _grid(hw, prec_used, shape, tile)
    if g["blocks"] >= g["slots"] or shape.K < 2 * SPLIT_K_MIN:
        return range(1, 2)
    return range(1, max(1, min(g["slots"] // g["blocks"], shape.K // SPLIT_K_MIN)) + 1)


def panel_traffic(shape: GemmShape, tile_m: int, tile_n: int, k_pad: int, elem: int, external: float) -> float:
    """Bytes a tiled GEMM moves through the L2 -> SM path: the B operand (the weights) once per row of
    output tiles, the A operand and the output once; never less than the kernel's distinct bytes.

    Why B is re-read: each row of tiles is computed by other blocks, which load the whole B panel again.
    With one row of tiles a weight-streaming GEMM loads every weight once, with two rows twice; counting
    only distinct bytes made a larger batch look faster (more SMs pulling the same bytes).  Why A is not
    charged per column of tiles as well: the blocks of one row of tiles run together and share its A panel
    (and Hopper multicasts it); charging it would bound large GEMMs below their measured ceilings
    (`achievable_fraction`).

    >>> # fp16: A (256 x 64) once, B (64 x 128) once per row of tiles (2), the output 256 x 128
    >>> panel_traffic(GemmShape(M=256, N=128, K=64), 128, 128, 64, 2, 0.0) == 2 * (256*64 + 2*64*128 + 256*128)
    True
    """
    tiles_m = math.ceil(shape.M / tile_m)
    per = shape.batch * shape.groups
    a_loads = per * shape.M * k_pad * elem
    b_loads = per * tiles_m * shape.N * k_pad * elem  # the weights, once per row of tiles
    out = per * shape.M * shape.N * elem
    return float(max(a_loads + b_loads + out, external))


def map_gemm_split(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, prec_used: str,
                   shape: GemmShape, split: int, residency: Residency | None = None,
                   tile: tuple[int, int] | None = None, scheme: str = "kernel") -> KernelMapping:
    """The tiled GEMM with a given split-K factor and tile (default: 128 x 128, 64 for a dim <= 64).

    `scheme`: how the split-K partials are reduced (cuBLASLt ``cublasLtReductionScheme_t``): "kernel" -- a
    separate reduction kernel (COMPUTE_TYPE / OUTPUT_TYPE: its own fill and drain, a back-to-back launch
    gap); "inplace" -- INPLACE, the splits accumulate into the output buffer in the L2 (same partial
    traffic, no second kernel)."""
    sms = hw.unit_count
    g = _grid(hw, prec_used, shape, tile)
    tile_m, tile_n, occ, slots = g["tile_m"], g["tile_n"], g["occ"], g["slots"]
    bps = occ["blocks_per_sm"]
    tiles_m, tiles_n, blocks = g["tiles_m"], g["tiles_n"], g["blocks"]
    total_blocks = blocks * split
    n_waves, wave_eff = waves(total_blocks, slots)
    m_pad, n_pad = tiles_m * tile_m, tiles_n * tile_n
    k_pad = ceil_to(shape.K, TILE_K)
    pad_eff = (shape.M * shape.N * shape.K) / (m_pad * n_pad * k_pad)
    achievable = hw.achievable(prec_used)
    utilization = wave_eff * pad_eff * achievable
    units = min(sms, math.ceil(total_blocks / bps))
    split_bytes = split_buffer = 0.0
    if split > 1:  # fp32 partial tiles written by every split and read back by the reduction
        split_buffer = float(split * shape.batch * shape.groups * shape.M * shape.N * 4)
        split_bytes = 2.0 * (split - 1) * shape.batch * shape.groups * shape.M * shape.N * 4
    inplace = split > 1 and scheme == "inplace"
    if inplace and (per_sm_bandwidth(hw) is None or last_level_cache(hw) is None):
        # the partials accumulate in the output tile in the L2; a spec that models no L2 does not cost them
        split_bytes = split_buffer = 0.0
    ext, _ = scaled_bytes(sg, ops, precision)
    panels = panel_traffic(shape, tile_m, tile_n, k_pad, PRECISION_BYTES[precision], ext) + split_bytes
    mem = memory_model(sg, ops, hw, precision, units, residency, split_bytes, split_buffer, panels)
    scale = mem["scale"]
    if inplace:  # no reduction kernel: no round trips of its own
        parts = {k: v for k, v in mem["exposed"].items() if k not in ("reduction_s", "total_s")}
        mem["exposed"] = {**parts, "total_s": sum(parts.values())}
    # a reduction kernel is enqueued by the library in the same call: a back-to-back device gap, not a
    # second framework dispatch
    second = split > 1 and not inplace
    overhead = hw.launch_overhead_s + (min(hw.launch_overhead_s, GRAPH_LAUNCH_S) if second else 0.0)
    peak = hw.peak(prec_used)
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="gemm", flops=sg.flops,
        bytes_by_level=mem["bytes"], bandwidth_by_level=mem["bandwidth"], path_times_s=mem["paths"],
        units_allocated=units, utilization=utilization, overhead_s=overhead, peak=peak,
        latency_exposed_s=mem["exposed"]["total_s"],
        details={
            "rule": "gpu.gemm", "gemm": shape.as_dict(), "tile": [tile_m, tile_n, TILE_K],
            "tiles_m": tiles_m, "tiles_n": tiles_n, "blocks": total_blocks, "split_k": split,
            "split_k_reduction": ("inplace" if inplace else "kernel") if split > 1 else "",
            "blocks_per_sm": bps, "occupancy_limits": occ, "slots": slots, "waves": n_waves,
            "wave_efficiency": wave_eff, "padding_efficiency": pad_eff, "padding_waste": 1.0 - pad_eff,
            "achievable_fraction": achievable,
            "threads": total_blocks * THREADS_PER_BLOCK, "warps": total_blocks * THREADS_PER_BLOCK // 32,
            "bytes_scale": scale, "serving_level": mem["serving"], "l2_bytes": mem["l2_bytes"],
            "dram_bytes": mem["dram_bytes"], "split_k_bytes": split_bytes, "exposed_latency": mem["exposed"],
        },
    )


def map_vector(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str,
               prec_used: str, residency: Residency | None = None, threads: int | None = None) -> KernelMapping:
    """One thread per output element (or `threads`, for a streaming GEMV) in 256-thread blocks."""
    sms = hw.unit_count
    elem = PRECISION_BYTES[precision]
    threads = threads or output_elements(sg, ops, elem)
    blocks = math.ceil(threads / VECTOR_BLOCK)
    bps = max(1, min(_detail(hw, "max_blocks_per_sm", 32), _detail(hw, "max_threads_per_sm", 2048) // VECTOR_BLOCK))
    slots = sms * bps
    n_waves, wave_eff = waves(blocks, slots)
    units = min(sms, blocks)
    warps_per_sm = min(bps * VECTOR_BLOCK // 32, math.ceil(threads / 32 / max(units, 1)))
    occupancy = warps_per_sm / max(_detail(hw, "max_warps_per_sm", 64), 1)
    mem = memory_model(sg, ops, hw, precision, units, residency)
    peak = hw.vector_peak(prec_used)
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="vector", flops=sg.flops,
        bytes_by_level=mem["bytes"], bandwidth_by_level=mem["bandwidth"], path_times_s=mem["paths"],
        units_allocated=units, utilization=wave_eff, overhead_s=hw.launch_overhead_s, peak=peak,
        latency_exposed_s=mem["exposed"]["total_s"],
        details={
            "rule": "gpu.vector", "threads": threads, "block": VECTOR_BLOCK, "blocks": blocks,
            "blocks_per_sm": bps, "slots": slots, "waves": n_waves, "wave_efficiency": wave_eff,
            "occupancy": occupancy, "padding_waste": 0.0, "bytes_scale": mem["scale"],
            "serving_level": mem["serving"], "l2_bytes": mem["l2_bytes"], "dram_bytes": mem["dram_bytes"],
            "exposed_latency": mem["exposed"],
        },
    )


def l2_residency(mg: ModelGraph, hw: HardwareSpec, scale: float = 1.0) -> dict[int, Residency]:
    """Which activation bytes each kernel finds in the L2, over the sequential schedule.

    Why: a GPU's L2 (40-50 MB on A100/H100/L4) holds the activations a kernel has just written, so at
    small batch the next kernel reads them from the L2, not DRAM.  Model: an LRU cache of whole tensors
    with the L2's capacity, walked in schedule order (topological, ties by subgraph index -- the order
    kernels are enqueued on one stream).  Per kernel:

    1. each producer -> kernel edge (``mg.subgraph_edges``, distinct bytes) is a hit when the producer's
       output is still in the cache (its LRU reuse distance plus its size fit the capacity); hits count
       toward ``Residency.input_bytes``;
    2. the kernel's inputs are touched (most recently used); its weights and the model inputs it reads
       are inserted cold (read from DRAM once per inference; they occupy the cache after that);
    3. its output is inserted; least recently used tensors are evicted until the total fits.

    A tensor larger than the cache is never resident (whole-tensor granularity: no partial hits).  An
    output is ``output_resident`` when it has consumers and every consumer hit it: the write-back L2
    absorbed the write (its lines were reused before eviction).  Model outputs go to DRAM.
    Sizes are traced bytes; `scale` (precision bytes / traced bytes) converts the capacity.
    Returns {} when the chip has no shared last-level cache.
    """
    llc = last_level_cache(hw)
    if llc is None or llc.capacity_bytes <= 0 or not mg.subgraphs:
        return {}
    capacity = float(llc.capacity_bytes) / max(float(scale), 1e-12)
    by_index = {sg.index: sg for sg in mg.subgraphs}
    g = nx.DiGraph()
    g.add_nodes_from(by_index)
    edges: dict[tuple[int, int], float] = {}
    for src, dst, nbytes in mg.subgraph_edges:
        if src in by_index and dst in by_index:
            edges[(src, dst)] = edges.get((src, dst), 0.0) + float(nbytes)
            g.add_edge(src, dst)
    preds: dict[int, list[tuple[int, float]]] = {n: [] for n in by_index}
    for (src, dst), nbytes in edges.items():
        preds[dst].append((src, nbytes))
    cache: OrderedDict[tuple[str, int], float] = OrderedDict()
    used = 0.0

    def insert(key: tuple[str, int], size: float) -> None:
        nonlocal used
        if key in cache:
            cache.move_to_end(key)
            return
        if size <= 0 or size > capacity:
            return
        cache[key] = size
        used += size
        while used > capacity:
            _, evicted = cache.popitem(last=False)
            used -= evicted

    hits: dict[int, float] = {}
    consumer_hit: dict[int, bool] = {}
    for n in nx.lexicographical_topological_sort(g, key=lambda x: x):
        sg = by_index[n]
        got = 0.0
        edge_in = 0.0
        for src, nbytes in sorted(preds[n]):
            edge_in += nbytes
            key = ("out", src)
            if key in cache:
                got += nbytes
                cache.move_to_end(key)
                consumer_hit.setdefault(src, True)
            else:
                consumer_hit[src] = False
        hits[n] = min(got, float(sg.input_bytes))
        insert(("w", n), float(sg.weight_bytes))
        insert(("x", n), max(float(sg.input_bytes) - edge_in, 0.0))
        insert(("out", n), float(sg.output_bytes))
    return {n: Residency(input_bytes=hits.get(n, 0.0), output_resident=bool(consumer_hit.get(n, False)))
            for n in by_index}
