"""TPU mapping: weight-stationary systolic MXUs with padding to the array size.

Each MXU is a d_r x d_c systolic array (128 x 128 on TPU v4/v5e/v5p, 64 x 64 assumed for the Edge TPU).
A weight tile of K x N (K on the array's rows, N on its columns) is loaded, then the M rows of the
activation stream through it, one row per cycle.  So K and N are padded to the array, and M to the
8-row sublane granularity of the TPU's (8, 128) vector layout.

Grouped and depthwise convolutions: a group has its own K_g x N_g weights, and every column needs its own
input stream, so groups can only share one weight tile block-diagonally:
``p = min(G, d_r // K_g, d_c // N_g)`` groups per tile.  A depthwise 3x3 conv (K_g = 9, N_g = 1) packs 14
channels into a 128 x 128 tile and uses 126 of its 16,384 cells — the classic bad case.

    weight_tiles = batch x ceil(G / p) x ceil(K_g / d_r) x ceil(N_g / d_c)
    M_pad        = ceil_to(M, 8)
    padding_eff  = (batch x M x G x K_g x N_g) / (weight_tiles x M_pad x d_r x d_c)
    row_blocks   = weight_tiles x M_pad / 8        (8-row blocks, the unit spread over the MXUs)
    waves        = ceil(row_blocks / MXUs);  wave_eff = row_blocks / (waves x MXUs)
    utilization  = padding_eff x wave_eff
    padding_waste = 1 - padding_eff

Compute time is ``flops / (peak x utilization)`` (= weight_tiles x M_pad cycles spread over the MXUs);
weight-load and pipeline fill are assumed hidden by double buffering.

Vector kernels run on the VPU (`vector_flops`); the TPU lays tensors out in (8, 128) tiles, so the last
dim is padded to 128 lanes and the second-last to 8 sublanes: utilization = that layout efficiency.

Memory: in a model (`model_mapping.map_model`), the on-chip store placement of `engine.placement`: what
fits the Edge TPU's 8 MB SRAM (or the TPU v4's CMEM) stays there, the rest streams every inference from
the main level (the Edge TPU's PCIe host link, HBM).  A kernel mapped on its own: the fastest level with a
known bandwidth that holds its working set (`common.serving_level`).  Precisions the MXU lacks run in the chip's
documented fallback (fp32 -> bf16 on Cloud TPUs, everything -> int8 on the Edge TPU).
"""

from __future__ import annotations

import math
from typing import Sequence

from perfgraph.engine.common import (
    PRECISION_BYTES, GemmShape, KernelMapping, ceil_to, finish, output_elements, waves,
)
from perfgraph.engine.placement import KernelPlacement, memory_details as _memory_details, scratchpad_memory
from perfgraph.graph import Op, Subgraph
from perfgraph.hardware.spec import HardwareSpec

SUBLANES = 8
LANES = 128


def mxu_dims(hw: HardwareSpec) -> tuple[int, int]:
    d = hw.unit_details.get("mxu_dims") or [128, 128]
    return int(d[0]), int(d[1])


def systolic_tiling(shape: GemmShape, d_r: int, d_c: int, n_arrays: int, m_align: int = SUBLANES) -> dict:
    """Weight-stationary tiling of a (grouped) GEMM onto `n_arrays` d_r x d_c arrays (see module doc)."""
    g, k_g, n_g = shape.groups, shape.K, shape.N
    if k_g <= d_r and n_g <= d_c:
        p = max(1, min(g, d_r // k_g, d_c // n_g))
    else:
        p = 1
    weight_tiles = shape.batch * math.ceil(g / p) * math.ceil(k_g / d_r) * math.ceil(n_g / d_c)
    m_pad = ceil_to(shape.M, m_align)
    useful = shape.batch * shape.M * g * k_g * n_g
    capacity = weight_tiles * m_pad * d_r * d_c
    pad_eff = useful / capacity
    row_blocks = weight_tiles * (m_pad // m_align)
    n_waves, wave_eff = waves(row_blocks, n_arrays)
    return {
        "groups_per_tile": p, "weight_tiles": weight_tiles, "m_pad": m_pad, "useful_macs": useful,
        "capacity_macs": capacity, "padding_efficiency": pad_eff, "padding_waste": 1.0 - pad_eff,
        "row_blocks": row_blocks, "waves": n_waves, "wave_efficiency": wave_eff,
        "units": min(n_arrays, row_blocks),
    }


def map_gemm(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, prec_used: str,
             shape: GemmShape, residency: KernelPlacement | None = None) -> KernelMapping:
    d_r, d_c = mxu_dims(hw)
    t = systolic_tiling(shape, d_r, d_c, hw.unit_count)
    utilization = t["padding_efficiency"] * t["wave_efficiency"]
    mem = scratchpad_memory(sg, ops, hw, precision, residency)
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="gemm", flops=sg.flops,
        bytes_by_level=mem["bytes"], bandwidth_by_level=mem["bandwidth"], path_times_s=mem["paths"],
        pj_per_byte_by_level=mem["pj"], units_allocated=t["units"],
        utilization=utilization, overhead_s=hw.launch_overhead_s, peak=hw.peak(prec_used),
        details={"rule": "tpu.systolic", "gemm": shape.as_dict(), "mxu_dims": [d_r, d_c], **t,
                 **_memory_details(mem)},
    )


def map_vector(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str,
               prec_used: str, residency: KernelPlacement | None = None) -> KernelMapping:
    shape = next((op.output_shape for op in ops if op.output_shape), None) or []
    eff = 1.0
    if shape:
        last = max(int(shape[-1]), 1)
        eff *= last / ceil_to(last, LANES)
        if len(shape) >= 2:
            second = max(int(shape[-2]), 1)
            eff *= second / ceil_to(second, SUBLANES)
    elements = output_elements(sg, ops, PRECISION_BYTES[precision])
    mem = scratchpad_memory(sg, ops, hw, precision, residency)
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="vector", flops=sg.flops,
        bytes_by_level=mem["bytes"], bandwidth_by_level=mem["bandwidth"], path_times_s=mem["paths"],
        pj_per_byte_by_level=mem["pj"],
        units_allocated=hw.unit_count, utilization=eff, overhead_s=hw.launch_overhead_s,
        peak=hw.vector_peak(prec_used),
        details={"rule": "tpu.vector", "elements": elements, "layout_efficiency": eff,
                 "padding_waste": 1.0 - eff, **_memory_details(mem)},
    )
