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


**Memory** (`engine.gpu_memory`): every byte reaches the SMs through the L2 -> SM path, a kernel pays its
exposed memory latency (pipeline fill and drain) once per launch, and `l2_residency` walks the schedule
to find the activations a kernel reads from the L2.  **Tiles and split-K** (`engine.gpu_tiles`): the
occupancy of the GEMM block, the tiles and split factors searched, and the panel traffic.

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
from typing import Sequence

from perfgraph.engine.common import (
    PRECISION_BYTES, GemmShape, KernelMapping, Residency, ceil_to, finish, output_elements, scaled_bytes, waves,
)
from perfgraph.engine.gpu_memory import (  # noqa: F401 - l2_residency: the rule's entry point for model_mapping
    l2_residency, last_level_cache, memory_model, per_sm_bandwidth,
)
from perfgraph.engine.gpu_tiles import (
    TILE_K, THREADS_PER_BLOCK, panel_traffic, sm_detail, split_k_candidates, tile_grid, tiles_to_try,
)
from perfgraph.engine.runtime import GRAPH_LAUNCH_S
from perfgraph.graph import Op, Subgraph
from perfgraph.hardware.spec import HardwareSpec

# A GEMM with M or N at most this is a GEMV / skinny GEMM: below the N = 8 of the smallest tensor-core MMA
# shape (mma.m16n8k16, PTX ISA "Matrix shape"), libraries run it as a streaming GEMV kernel.
SKINNY_DIM = 8
SKINNY_VECTOR_BYTES = 16  # one 128-bit load per thread per step of a GEMV kernel
VECTOR_BLOCK = 256


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


def map_gemm_split(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, prec_used: str,
                   shape: GemmShape, split: int, residency: Residency | None = None,
                   tile: tuple[int, int] | None = None, scheme: str = "kernel") -> KernelMapping:
    """The tiled GEMM with a given split-K factor and tile (default: 128 x 128, 64 for a dim <= 64).

    `scheme`: how the split-K partials are reduced (cuBLASLt ``cublasLtReductionScheme_t``): "kernel" -- a
    separate reduction kernel (COMPUTE_TYPE / OUTPUT_TYPE: its own fill and drain, a back-to-back launch
    gap); "inplace" -- INPLACE, the splits accumulate into the output buffer in the L2 (same partial
    traffic, no second kernel)."""
    sms = hw.unit_count
    g = tile_grid(hw, prec_used, shape, tile)
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
    bps = max(1, min(sm_detail(hw, "max_blocks_per_sm", 32), sm_detail(hw, "max_threads_per_sm", 2048) // VECTOR_BLOCK))
    slots = sms * bps
    n_waves, wave_eff = waves(blocks, slots)
    units = min(sms, blocks)
    warps_per_sm = min(bps * VECTOR_BLOCK // 32, math.ceil(threads / 32 / max(units, 1)))
    occupancy = warps_per_sm / max(sm_detail(hw, "max_warps_per_sm", 64), 1)
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
