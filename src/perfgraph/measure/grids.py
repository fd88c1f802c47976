"""The shapes `perfgraph calibrate` times: generic grids, chosen once, never taken from any model
(`measure.calibrate` describes what each covers; `measure.cases` turns a shape into a timed case).
`quick` grids are a small subset for `calibrate --quick` and the tests.
"""

from __future__ import annotations


def conv_grid(quick: bool) -> list[tuple[int, int, int, int, int, int, int]]:
    """(batch, C_in, H_out, C_out, kernel, stride, groups) — generic CNN shapes, capped in FLOPs."""
    g: list[tuple[int, int, int, int, int, int, int]] = []
    if quick:
        for n, c, h, co, k, s in [(1, 16, 56, 16, 1, 1), (1, 64, 28, 64, 3, 1), (1, 256, 14, 256, 1, 1),
                                  (1, 128, 14, 256, 3, 2), (1, 3, 112, 32, 3, 2), (8, 64, 14, 128, 1, 1),
                                  (1, 512, 7, 512, 3, 1)]:
            g.append((n, c, h, co, k, s, 1))
        g += [(1, 32, 56, 32, 3, 1, 32), (1, 256, 14, 256, 3, 1, 256), (1, 96, 28, 96, 5, 2, 96),
              (1, 128, 28, 128, 3, 1, 8), (1, 256, 14, 256, 3, 1, 32)]
        return g
    sizes = [7, 14, 28, 56, 112]
    chans = [16, 32, 64, 128, 256, 512, 1024, 2048]
    for h in sizes:
        for c in chans:
            for co in (c // 4, c, 4 * c):  # 1x1 stride 1: projections, expansions, reductions
                if 8 <= co <= 2048:
                    g.append((1, c, h, co, 1, 1, 1))
            if c <= 512:
                g.append((1, c, h, c, 3, 1, 1))  # 3x3 stride 1
            if h <= 56 and c <= 1024:
                g.append((1, c, h, 2 * c, 3, 2, 1))  # 3x3 stride 2, downsampling
                g.append((1, c, h, 2 * c, 1, 2, 1))  # 1x1 stride 2 shortcut
    for h in (14, 28):
        for c in (32, 96, 192):
            g.append((1, c, h, 2 * c, 5, 1, 1))
    for co in (16, 32, 64):  # stems from 3 channels
        for k, s, h in ((3, 2, 112), (7, 2, 112), (5, 2, 56), (11, 4, 56)):
            g.append((1, 3, h, co, k, s, 1))
    for h in (7, 14, 28):  # batch 8
        for c in (32, 128, 512):
            g.append((8, c, h, c, 3, 1, 1))
            g.append((8, c, h, 4 * c, 1, 1, 1))
            g.append((8, 4 * c, h, c, 1, 1, 1))
    g.append((8, 3, 112, 64, 7, 2, 1))
    # small batch-1 inputs (<= 20480 elements), which torch runs on its native im2col path
    for h, cs in ((7, (24, 48, 96, 192, 384)), (14, (24, 48, 96)), (28, (8, 24))):
        for c in cs:
            g.append((1, c, h, c, 1, 1, 1))
            g.append((1, c, h, c, 3, 1, 1))
            if c <= 96:
                g.append((1, c, h, 4 * c, 1, 1, 1))
            if h == 7 and c <= 96:
                g.append((1, c, h, 2 * c, 3, 2, 1))
    # depthwise
    for h in sizes:
        for c in (16, 32, 64, 128, 256, 512, 1024):
            if c * h * h <= 2_000_000:
                g.append((1, c, h, c, 3, 1, c))
                if h <= 56:
                    g.append((1, c, h, c, 3, 2, c))
                if h <= 56 and c >= 32:
                    g.append((1, c, h, c, 5, 1, c))
                if h <= 28 and c >= 64:
                    g.append((1, c, h, c, 7, 1, c))
    for h in (7, 14, 28, 56):
        for c in (96, 384):
            g.append((8, c, h, c, 3, 1, c))
        g.append((8, 192, h, 192, 5, 2, 192))
    # grouped
    for h in (7, 14, 28, 56):  # channels per group alternate between sizes so the grid stays small
        for groups in (2, 4, 8, 16, 32, 64):
            for cpg in ((8, 32, 128) if h in (7, 28) else (16, 64)):
                c = groups * cpg
                if 32 <= c <= 2048:
                    g.append((1, c, h, c, 3, 1, groups))
        g.append((8, 256, h, 256, 3, 1, 32))
        g.append((8, 128, h, 128, 3, 1, 8))
    return g


def gemm_grid(quick: bool) -> list[tuple[int, int, int]]:
    if quick:
        return [(1, 1000, 512), (1, 4096, 4096), (8, 1000, 2048), (64, 256, 256), (256, 768, 768),
                (1024, 1024, 256), (16, 64, 64)]
    g = []
    for m in (1, 8, 64, 256, 1024, 4096):
        for n in (64, 256, 1000, 4096):
            for k in (64, 256, 1024, 4096):
                g.append((m, n, k))
    return g


def bmm_grid(quick: bool) -> list[tuple[int, int, int, int]]:
    """(batch, M, N, K): attention scores (L x L, K = head dim) and context (L x head dim, K = L)."""
    if quick:
        return [(12, 197, 197, 64), (12, 197, 64, 197), (96, 49, 49, 32)]
    g = []
    for b in (1, 12, 96):
        for L in (49, 197, 784):
            for d in (32, 64):
                g.append((b, L, L, d))
                g.append((b, L, d, L))
    return g


ELEMENTWISE = ["relu", "relu_", "hardtanh_", "add", "add_", "mul", "mul_bcast", "sigmoid", "silu", "silu_",
               "gelu", "hardswish", "hardswish_", "hardsigmoid", "clone", "copy_"]


def elem_sizes(quick: bool) -> list[int]:
    """Up to 4 M elements (16 MiB): outputs stay below the allocator's mmap threshold, whose page-fault
    cost is a separate, explicit term (`measure_fresh_pages`)."""
    return [2 ** 10, 2 ** 16, 2 ** 21] if quick else [2 ** e for e in range(8, 23, 2)] + [3 * 2 ** 21]


def bandwidth_sizes(quick: bool) -> list[int]:
    return [2 ** 15, 2 ** 19, 2 ** 24, 2 ** 27] if quick else [2 ** e for e in range(14, 29, 2)]
