"""KPU mapping: output-stationary tiles of a domain-flow tile array (Stillwater KPU T64/T256/T768).

Each KPU compute tile holds a p_r x p_c array of processing elements (PEs).  In the output-stationary
domain-flow schedule every PE owns one output element C[m, n] and the A rows / B columns flow through the
array as K advances; so M and N are padded to the PE array and K streams (no padding).  Output blocks are
distributed over the tiles; the wavefront needs p_r + p_c cycles to fill and drain per block.

    blocks       = batch x G x ceil(M / p_r) x ceil(N_g / p_c)     (grouped conv: per group, N_g)
    waves        = ceil(blocks / tiles);  wave_eff = blocks / (waves x tiles)
    padding_eff  = (M x N_g) / (ceil_to(M, p_r) x ceil_to(N_g, p_c))
    pipeline_eff = K / (K + p_r + p_c)                             fill + drain per output block
    utilization  = wave_eff x padding_eff x pipeline_eff

A depthwise conv (N_g = 1) fills one PE column in p_c: padding waste 1 - 1/p_c.

Vector kernels stream elements through the PEs: ``tiles_used = min(tiles, ceil(elements / PEs per
tile))``, utilization = tiles_used / tiles, rate = `vector_flops`.

Memory: in a model, the on-chip placement of `engine.placement`: what fits the distributed L3 scratchpads
(tiles x 256 KiB) stays on chip, the rest streams from DRAM every inference; the L3 has no published
bandwidth, so its bytes share the DRAM bandwidth (DMA engines feed every tile).  A kernel mapped on its own
streams from main memory (`common.serving_level`).  These are planned configurations; see the spec sources.
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


def pe_array(hw: HardwareSpec) -> tuple[int, int]:
    d = hw.unit_details.get("pe_array") or [16, 16]
    return int(d[0]), int(d[1])


def map_gemm(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, prec_used: str,
             shape: GemmShape, residency: KernelPlacement | None = None) -> KernelMapping:
    p_r, p_c = pe_array(hw)
    tiles = hw.unit_count
    blocks = shape.batch * shape.groups * math.ceil(shape.M / p_r) * math.ceil(shape.N / p_c)
    n_waves, wave_eff = waves(blocks, tiles)
    pad_eff = (shape.M * shape.N) / (ceil_to(shape.M, p_r) * ceil_to(shape.N, p_c))
    pipe_eff = shape.K / (shape.K + p_r + p_c)
    utilization = wave_eff * pad_eff * pipe_eff
    mem = scratchpad_memory(sg, ops, hw, precision, residency)  # DMA engines stream for all tiles
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="gemm", flops=sg.flops,
        bytes_by_level=mem["bytes"], bandwidth_by_level=mem["bandwidth"], path_times_s=mem["paths"],
        pj_per_byte_by_level=mem["pj"],
        units_allocated=min(tiles, blocks), utilization=utilization, overhead_s=hw.launch_overhead_s,
        peak=hw.peak(prec_used),
        details={
            "rule": "kpu.output_stationary", "gemm": shape.as_dict(), "pe_array": [p_r, p_c],
            "blocks": blocks, "waves": n_waves, "wave_efficiency": wave_eff, "padding_efficiency": pad_eff,
            "padding_waste": 1.0 - pad_eff, "pipeline_efficiency": pipe_eff, **_memory_details(mem),
        },
    )


def map_vector(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str,
               prec_used: str, residency: KernelPlacement | None = None) -> KernelMapping:
    p_r, p_c = pe_array(hw)
    tiles = hw.unit_count
    elements = output_elements(sg, ops, PRECISION_BYTES[precision])
    tiles_used = min(tiles, math.ceil(elements / (p_r * p_c)))
    frac = tiles_used / tiles
    mem = scratchpad_memory(sg, ops, hw, precision, residency)
    return finish(
        sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="vector", flops=sg.flops,
        bytes_by_level=mem["bytes"], bandwidth_by_level=mem["bandwidth"], path_times_s=mem["paths"],
        pj_per_byte_by_level=mem["pj"], units_allocated=tiles_used,
        utilization=frac, overhead_s=hw.launch_overhead_s, peak=hw.vector_peak(prec_used),
        details={"rule": "kpu.vector", "elements": elements, "tiles_used": tiles_used,
                 "padding_waste": 0.0, **_memory_details(mem)},
    )
