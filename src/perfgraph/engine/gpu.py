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
    utilization   = wave_eff x padding_eff

Small GEMMs whose grid cannot fill the SMs are split along K (split-K, as cuBLAS does):
``split = min(slots // blocks, K // 256)``; the partial sums cost an extra fp32 write + read of the output
and a second launch.  Compute time is ``flops / (peak x utilization)``; memory time is the kernel's
external bytes (rescaled to the precision) over the device-memory bandwidth available to the SMs in use
(``bandwidth x min(1, SMs used / SMs)``).  Data is assumed to stream from device memory (L2 residency
between kernels is not modelled).

**Depthwise convolutions** are not GEMMs on a GPU (cuDNN / PyTorch run a direct depthwise kernel on the
CUDA cores): they are mapped like vector kernels, one thread per output element.

**Vector kernels (elementwise, norms, reductions, pooling, copies)**: one thread per output element in
256-thread blocks; ``blocks_per_sm = min(max_blocks_per_sm, max_threads_per_sm // 256)``; wave
efficiency as above.  They run on the CUDA cores (`vector_flops`) and are normally bandwidth-bound; tiny
ones are launch-overhead-bound.

Overhead: one kernel launch (`overhead.launch_s`) per subgraph, two with split-K.
"""

from __future__ import annotations

import math
from typing import Sequence

from perfgraph.engine.common import (
    PRECISION_BYTES, GemmShape, KernelMapping, ceil_to, finish, output_elements, scaled_bytes, waves,
)
from perfgraph.graph import Op, Subgraph
from perfgraph.hardware.spec import HardwareSpec

TILE_M = 128
TILE_N = 128
TILE_K = 32
THREADS_PER_BLOCK = 256
REGS_PER_THREAD = 128
PIPELINE_STAGES = 3
SMALL_TILE = 64  # a GEMM dimension <= 64 gets a 64-wide tile instead of 128 (as library heuristics do)
SPLIT_K_MIN = 256  # each K split keeps at least this many reduction steps
VECTOR_BLOCK = 256


def _detail(hw: HardwareSpec, key: str, default: int) -> int:
    return int(hw.unit_details.get(key, default))


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


def map_gemm(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, prec_used: str,
             shape: GemmShape) -> KernelMapping:
    sms = hw.unit_count
    elem = PRECISION_BYTES[prec_used]
    tile_m = TILE_M if shape.M > SMALL_TILE else SMALL_TILE
    tile_n = TILE_N if shape.N > SMALL_TILE else SMALL_TILE
    occ = gemm_blocks_per_sm(hw, elem)
    bps = occ["blocks_per_sm"]
    slots = sms * bps
    tiles_m = math.ceil(shape.M / tile_m)
    tiles_n = math.ceil(shape.N / tile_n)
    blocks = shape.batch * shape.groups * tiles_m * tiles_n
    split = 1
    if blocks < slots and shape.K >= 2 * SPLIT_K_MIN:
        split = max(1, min(slots // blocks, shape.K // SPLIT_K_MIN))
    total_blocks = blocks * split
    n_waves, wave_eff = waves(total_blocks, slots)
    m_pad, n_pad = tiles_m * tile_m, tiles_n * tile_n
    k_pad = ceil_to(shape.K, TILE_K)
    pad_eff = (shape.M * shape.N * shape.K) / (m_pad * n_pad * k_pad)
    utilization = wave_eff * pad_eff
    units = min(sms, math.ceil(total_blocks / bps))
    dram_bytes, scale = scaled_bytes(sg, ops, precision)
    split_bytes = 0.0
    if split > 1:  # fp32 partial tiles written by every split and read back by the reduction
        split_bytes = 2.0 * (split - 1) * shape.batch * shape.groups * shape.M * shape.N * 4
    main = hw.dram
    bw = hw.dram_bandwidth * min(1.0, units / sms)
    overhead = hw.launch_overhead_s * (2 if split > 1 else 1)
    peak = hw.peak(prec_used)
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="gemm", flops=sg.flops,
        bytes_by_level={main.name: dram_bytes + split_bytes}, bandwidth_by_level={main.name: bw},
        units_allocated=units, utilization=utilization, overhead_s=overhead, peak=peak,
        details={
            "rule": "gpu.gemm", "gemm": shape.as_dict(), "tile": [tile_m, tile_n, TILE_K],
            "tiles_m": tiles_m, "tiles_n": tiles_n, "blocks": total_blocks, "split_k": split,
            "blocks_per_sm": bps, "occupancy_limits": occ, "slots": slots, "waves": n_waves,
            "wave_efficiency": wave_eff, "padding_efficiency": pad_eff, "padding_waste": 1.0 - pad_eff,
            "threads": total_blocks * THREADS_PER_BLOCK, "warps": total_blocks * THREADS_PER_BLOCK // 32,
            "bytes_scale": scale, "serving_level": main.name,
        },
    )


def map_vector(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str,
               prec_used: str) -> KernelMapping:
    sms = hw.unit_count
    elem = PRECISION_BYTES[precision]
    threads = output_elements(sg, ops, elem)
    blocks = math.ceil(threads / VECTOR_BLOCK)
    bps = max(1, min(_detail(hw, "max_blocks_per_sm", 32), _detail(hw, "max_threads_per_sm", 2048) // VECTOR_BLOCK))
    slots = sms * bps
    n_waves, wave_eff = waves(blocks, slots)
    units = min(sms, blocks)
    warps_per_sm = min(bps * VECTOR_BLOCK // 32, math.ceil(threads / 32 / max(units, 1)))
    occupancy = warps_per_sm / max(_detail(hw, "max_warps_per_sm", 64), 1)
    dram_bytes, scale = scaled_bytes(sg, ops, precision)
    main = hw.dram
    bw = hw.dram_bandwidth * min(1.0, units / sms)
    peak = hw.vector_peak(prec_used)
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="vector", flops=sg.flops,
        bytes_by_level={main.name: dram_bytes}, bandwidth_by_level={main.name: bw},
        units_allocated=units, utilization=wave_eff, overhead_s=hw.launch_overhead_s, peak=peak,
        details={
            "rule": "gpu.vector", "threads": threads, "block": VECTOR_BLOCK, "blocks": blocks,
            "blocks_per_sm": bps, "slots": slots, "waves": n_waves, "wave_efficiency": wave_eff,
            "occupancy": occupancy, "padding_waste": 0.0, "bytes_scale": scale, "serving_level": main.name,
        },
    )
