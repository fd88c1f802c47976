"""GPU GEMM tiling: the thread-block tile, its occupancy, the tiles and split-K factors searched, and the
bytes a tiled GEMM moves through the L2 (`panel_traffic`).

Part of the GPU rule (`engine.gpu`, whose docstring gives the formulas these numbers enter).
"""

from __future__ import annotations

import math
from typing import Any

from perfgraph.engine.common import PRECISION_BYTES, GemmShape
from perfgraph.hardware.spec import HardwareSpec

TILE_M = 128
TILE_N = 128
TILE_K = 32
THREADS_PER_BLOCK = 256
REGS_PER_THREAD = 128
PIPELINE_STAGES = 3
SMALL_TILE = 64  # a GEMM dimension <= 64 gets a 64-wide tile instead of 128 (as library heuristics do)
# Narrower tiles are not searched: the model does not charge a narrow tile for re-reading its operand panels
# through the L2, so narrow tiles looked free and batch-1 predictions came out far faster than the
# published batch-1 results (docs/hardware.md, benchmarks/bench_published.py).
NARROW_TILES: tuple[int, ...] = ()
SPLIT_K_MIN = 256  # each K split keeps at least this many reduction steps


def sm_detail(hw: HardwareSpec, key: str, default: int) -> int:
    """An integer of the chip's `compute_units.gpu` details (`default` when the spec does not give it)."""
    return int(hw.unit_details.get(key, default))


def gemm_blocks_per_sm(hw: HardwareSpec, elem_bytes: int) -> dict[str, int]:
    """Occupancy of the GEMM thread block: the binding limit among blocks, threads, registers, smem."""
    smem_per_block = PIPELINE_STAGES * (TILE_M * TILE_K + TILE_K * TILE_N) * elem_bytes
    limits = {
        "max_blocks": sm_detail(hw, "max_blocks_per_sm", 32),
        "threads": sm_detail(hw, "max_threads_per_sm", 2048) // THREADS_PER_BLOCK,
        "registers": sm_detail(hw, "registers_per_sm", 65536) // (THREADS_PER_BLOCK * REGS_PER_THREAD),
        "shared_mem": sm_detail(hw, "shared_mem_per_sm_bytes", 98304) // smem_per_block,
    }
    limits["blocks_per_sm"] = max(1, min(limits.values()))
    limits["smem_per_block_bytes"] = smem_per_block
    return limits


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
    g = tile_grid(hw, prec_used, shape, candidates[0])
    return candidates if g["blocks"] < g["slots"] else candidates[:1]


def tile_grid(hw: HardwareSpec, prec_used: str, shape: GemmShape,
              tile: tuple[int, int] | None = None) -> dict[str, Any]:
    """The grid of a tiled GEMM: its tile, occupancy, SM slots and thread blocks."""
    tile_m, tile_n = tile or tile_candidates(shape)[0]
    occ = gemm_blocks_per_sm(hw, PRECISION_BYTES[prec_used])
    tiles_m, tiles_n = math.ceil(shape.M / tile_m), math.ceil(shape.N / tile_n)
    return {"tile_m": tile_m, "tile_n": tile_n, "occ": occ, "slots": hw.unit_count * occ["blocks_per_sm"],
            "tiles_m": tiles_m, "tiles_n": tiles_n, "blocks": shape.batch * shape.groups * tiles_m * tiles_n}


def split_k_candidates(hw: HardwareSpec, prec_used: str, shape: GemmShape,
                       tile: tuple[int, int] | None = None) -> range:
    """Split-K factors worth trying: 1, and for a grid that cannot fill the SMs every factor up to
    ``min(slots // blocks, K // SPLIT_K_MIN)`` (each split keeps at least SPLIT_K_MIN reduction steps)."""
    g = tile_grid(hw, prec_used, shape, tile)
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


