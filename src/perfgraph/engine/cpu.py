"""CPU mapping: cores x SIMD lanes (or AMX tiles), work split over cores, cache-fit tiling, dispatch cost.

**MAC kernels** (matmul, conv as implicit GEMM, attention) are split the way oneDNN / MKL partition a GEMM:
the output is cut into 64 x 64 blocks and the blocks are shared out over the cores.

    items        = batch x groups x ceil(M / 64) x ceil(N / 64)
    cores_used   = min(cores, items)                 a tiny GEMM cannot use every core
    wave_eff     = items / (ceil(items / cores) x cores)   idle cores and load balance (last round)
    inner_eff    = N / ceil_to(N, lanes)             SIMD path: the vector runs along N,
                                                      lanes = simd_width_bits / (8 x element bytes)
                 = (M N K) / (M_pad N_pad K_pad)      matrix-tile path (Intel AMX: C 16 x 16 tiles,
                                                      K 32 for bf16 / 64 for int8, from the spec)
    utilization  = wave_eff x inner_eff

**Depthwise convolutions** run as direct SIMD kernels (oneDNN / PyTorch do not lower them to GEMM): they
are mapped like vector kernels.

**Vector kernels** (elementwise, norms, reductions, ...): PyTorch splits the loop over threads in chunks
of at least GRAIN_SIZE = 32768 elements, so ``cores_used = min(cores, ceil(elements / 32768))``;
``utilization = cores_used / cores``; rate = `vector_flops`.

**Cache-fit tiling**: the kernel's working set (its external bytes, rescaled to the precision) is served by
the fastest level that holds it — a per-core level counts the capacity of the cores in use — at that
level's bandwidth scaled by ``cores_used / cores`` (`common.serving_level`).  So a layer whose tensors fit
in L2 runs at L2 bandwidth, a big one streams from DRAM.

**Overhead**: one per-op dispatch (`overhead.launch_s`, framework dispatch + thread-pool fork/join) per
kernel; a tiny op is overhead-bound.
"""

from __future__ import annotations

import math
from typing import Sequence

from perfgraph.engine.common import (
    PRECISION_BYTES, TORCH_GRAIN_SIZE, GemmShape, KernelMapping, ceil_to, finish, output_elements,
    scaled_bytes, serving_level, waves,
)
from perfgraph.graph import Op, Subgraph
from perfgraph.hardware.spec import HardwareSpec

GEMM_BLOCK = 64


def _matrix_tile(hw: HardwareSpec, prec_used: str) -> list[int] | None:
    tile = hw.unit_details.get(f"matrix_tile_{prec_used}")
    if isinstance(tile, list) and len(tile) == 3:
        return [int(x) for x in tile]
    return None


def map_gemm(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, prec_used: str,
             shape: GemmShape) -> KernelMapping:
    cores = hw.unit_count
    items = shape.batch * shape.groups * math.ceil(shape.M / GEMM_BLOCK) * math.ceil(shape.N / GEMM_BLOCK)
    cores_used = min(cores, items)
    n_waves, wave_eff = waves(items, cores)
    tile = _matrix_tile(hw, prec_used)
    if tile:
        tm, tn, tk = tile
        inner = (shape.M * shape.N * shape.K) / (ceil_to(shape.M, tm) * ceil_to(shape.N, tn) * ceil_to(shape.K, tk))
        path = f"matrix tile {tm}x{tn}x{tk}"
        lanes = None
    else:
        simd = int(hw.unit_details.get("simd_width_bits", 256))
        lanes = max(1, simd // (8 * PRECISION_BYTES[prec_used]))
        inner = shape.N / ceil_to(shape.N, lanes)
        path = f"SIMD {simd}-bit, {lanes} lanes along N"
    frac = cores_used / cores
    utilization = wave_eff * inner  # wave_eff already counts idle cores (items < cores)
    ws, scale = scaled_bytes(sg, ops, precision)
    level, bw = serving_level(hw, ws, frac)
    peak = hw.peak(prec_used)
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="gemm", flops=sg.flops,
        bytes_by_level={level.name: ws}, bandwidth_by_level={level.name: bw}, units_allocated=cores_used,
        utilization=utilization, overhead_s=hw.launch_overhead_s, peak=peak,
        details={
            "rule": "cpu.gemm", "gemm": shape.as_dict(), "block": GEMM_BLOCK, "work_items": items,
            "cores_used": cores_used, "waves": n_waves, "wave_efficiency": wave_eff, "inner_path": path,
            "simd_lanes": lanes, "inner_efficiency": inner, "padding_waste": 1.0 - inner,
            "working_set_bytes": ws, "serving_level": level.name, "bytes_scale": scale,
        },
    )


def map_vector(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str,
               prec_used: str) -> KernelMapping:
    cores = hw.unit_count
    elements = output_elements(sg, ops, PRECISION_BYTES[precision])
    chunks = math.ceil(elements / TORCH_GRAIN_SIZE)
    cores_used = min(cores, chunks)
    frac = cores_used / cores
    ws, scale = scaled_bytes(sg, ops, precision)
    level, bw = serving_level(hw, ws, frac)
    peak = hw.vector_peak(prec_used)
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="vector", flops=sg.flops,
        bytes_by_level={level.name: ws}, bandwidth_by_level={level.name: bw}, units_allocated=cores_used,
        utilization=frac, overhead_s=hw.launch_overhead_s, peak=peak,
        details={
            "rule": "cpu.vector", "elements": elements, "grain": TORCH_GRAIN_SIZE, "chunks": chunks,
            "cores_used": cores_used, "working_set_bytes": ws, "serving_level": level.name,
            "padding_waste": 0.0, "bytes_scale": scale,
        },
    )
