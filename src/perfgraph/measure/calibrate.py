"""`perfgraph calibrate`: microbenchmarks on this machine -> a `CalibrationProfile`.

Only single ops on synthetic tensors are run, never a model (so a model validated against the
profile played no part in fitting it).  Everything runs under `torch.inference_mode()` at a fixed
thread count (`torch.set_num_threads`), each timing with warm-up and a median over samples
(`measure.timing.Timer`); samples during which another process took our CPU are discarded and retaken,
and cases timed while a probe conv says the machine was in a slow phase are timed again at the end.

What is measured (the grids are generic shapes, chosen once, not taken from any model):

Data is reused at the distance a model reuses it: weights are cold (`CaseBuilder.cold_weights`: each call
reads another copy from a pool of twice the last-level cache); conv/GEMM inputs are hot, as the previous op
just wrote them; memory-bound ops rotate over 2-3 operand sets and every op's output buffer rotates
(`CaseBuilder.rotating`), so small tensors stay cached and batch-8 activations stream from memory, as in a
model.

* GEMM (`F.linear`: addmm) over M x N x K from 1 to 4096 — M = 1 and 8 are the skinny batch-1/8 linear
  layers; batched GEMM (`torch.bmm`) over batch x sequence x head-size shapes.
* conv2d (`F.conv2d`, NCHW, as eager runs it through oneDNN): 1x1, 3x3, 5x5, 7x7 and stems, strides 1
  and 2, channels 16..2048, outputs 7x7..112x112, batch 1 and 8; grouped convs (2..64 groups);
  depthwise 3x3, 5x5, 7x7.
* elementwise ops (relu, add, mul, broadcast mul, sigmoid, silu, gelu, hardswish, hardsigmoid,
  hardtanh, strided copy) from 256 to 16 M elements; batch norm, layer norm, softmax, mean, max/avg
  pooling, adaptive pooling and cat over sizes and inner extents.
* memory bandwidth: copy and add over working sets from 16 KiB to 256 MiB (L1, L2, L3, DRAM).
* overheads: a tiny op (dispatch), a view, an allocation, a bare nn.Module call, and the cost of the
  module wrapper around conv, norm, linear, activation and pooling ops.

A point's features are computed from a description of the op in the trace's own terms (an `Op` with
the shapes, bytes and MACs the recorder would give it) by the same functions the predictor uses
(`engine.calibrated`), so calibration and prediction cannot drift apart.
"""

from __future__ import annotations

import collections
import datetime as _dt
import itertools
import math
import os
import platform
import time
from dataclasses import dataclass
from typing import Any, Callable

from perfgraph.engine.calibrated import (
    MEMORY_TABLE_FEATURES, TABLE_LAYOUT, CalibrationProfile, Table, conv_table_and_features, cross_validate,
    gemm_table_and_features, memory_features,
)
from perfgraph.graph import Op
from perfgraph.measure.timing import CpuActivity, Timer

TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


@dataclass
class Case:
    table: str
    op: Op  # the op as the trace would describe it
    setup: Callable[[], Callable[[], Any]]  # builds tensors, returns the timed call
    label: str
    budget_s: float | None = None
    features: list[float] | None = None  # set where the table choice needs the machine's conv rule


# ------------------------------------------------------------------------------------------ pseudo ops


def _op(target: str, kind: str, out: list[int], *, esize: int, dtype: str, read: int, written: int | None = None,
        weight: int = 0, macs: int = 0, groups: int = 1, n_inputs: int = 1) -> Op:
    out_elems = math.prod(out) if out else 1
    return Op(uid="calibration", model_id="calibration", index=0, name=target.split(".")[1], target=target,
              kind=kind, macs=int(macs), flops=int(2 * macs), bytes_read=int(read),
              bytes_written=int(out_elems * esize if written is None else written), weight_bytes=int(weight),
              output_shape=list(out), dtype=dtype, groups=groups, inputs=list(range(n_inputs)))


# --------------------------------------------------------------------------------------------- grids


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


# --------------------------------------------------------------------------------------------- cases


class CaseBuilder:
    def __init__(self, torch, device: str, dtype: str, im2col_max_input: int = 0, threads: int = 2,
                 pool_bytes: int = 64 * 2 ** 20):
        self.pool_bytes = int(pool_bytes)
        self._pool = None
        self.im2col_max_input = im2col_max_input
        self.threads = threads
        self.torch = torch
        self.F = torch.nn.functional
        self.device = device
        self.dtype_name = dtype
        self.dt = getattr(torch, TORCH_DTYPES[dtype])
        self.esize = torch.empty((), dtype=self.dt).element_size()
        self.trace_dtype = TORCH_DTYPES[dtype]

    @staticmethod
    def rotating(make: Callable[[], tuple], fn: Callable[..., Any], sets: int = 2, keep: int = 2):
        """The timed call: `fn(*operands)` over `sets` operand sets from `make()`, in turn, keeping the last
        `keep` results alive so the allocator hands out a different output buffer each time.

        Eager execution reuses data at a distance: an op's output buffer last held some other tensor a
        few ops ago, and an activation was last touched one or two ops ago, with those ops' traffic in
        between.  Rotating operands (3 sets for in-place ops, 2 otherwise; conv and GEMM inputs stay hot:
        the previous op just wrote them) and outputs reproduces that: small tensors stay in cache as in a
        model, large ones (b8 activations) stream from memory as in a model."""
        operands = itertools.cycle([make() for _ in range(max(sets, 1))])
        ring: collections.deque = collections.deque(maxlen=max(keep, 1))
        return lambda: ring.append(fn(*next(operands)))

    def cold_weights(self, *shape):
        """An endless cycle of distinct weight tensors of `shape`, views into one pool of at least twice
        the last-level cache: each call reads weights that are no longer cached, as in a model, where
        every other layer's data passes through the caches before a layer's weights are used again (the
        input, produced by the previous op, stays hot)."""
        numel = math.prod(shape)
        need = max(self.pool_bytes, 2 * numel * self.esize) // self.esize
        if self._pool is None or self._pool.numel() < need:
            self._pool = self.randn(int(need))
        copies = max(1, self._pool.numel() // numel)
        views = [self._pool[i * numel:(i + 1) * numel].view(*shape) for i in range(min(copies, 100_000))]
        return itertools.cycle(views)

    def randn(self, *shape):
        """Random values in [-1, 1) (uniform_ fills large tensors several times faster than randn)."""
        return self.torch.empty(*shape, device=self.device, dtype=self.dt).uniform_(-1.0, 1.0)

    def conv(self, n, c, h, co, k, s, g) -> Case:
        hin = h * s
        p = k // 2
        ho = (hin + 2 * p - k) // s + 1
        macs = n * co * ho * ho * (c // g) * k * k
        op = _op("aten.convolution.default", "conv", [n, co, ho, ho], esize=self.esize, dtype=self.trace_dtype,
                 read=n * c * hin * hin * self.esize, weight=co * (c // g) * k * k * self.esize, macs=macs,
                 groups=g)
        table, feats = conv_table_and_features(op, self.im2col_max_input, self.threads)

        def setup():
            x = self.randn(n, c, hin, hin)
            ws = self.cold_weights(co, c // g, k, k)
            return self.rotating(lambda: (x,), lambda x_: self.F.conv2d(x_, next(ws), None, s, p, 1, g), sets=1)

        return Case(table, op, setup, f"conv {n}x{c}x{hin}x{hin} k{k} s{s} g{g} -> {co}", features=feats)

    def gemm(self, m, n, k) -> Case:
        op = _op("aten.addmm.default", "matmul", [m, n], esize=self.esize, dtype=self.trace_dtype,
                 read=m * k * self.esize, weight=(n * k + n) * self.esize, macs=m * n * k)

        def setup():
            x, b = self.randn(m, k), self.randn(n)
            ws = self.cold_weights(n, k)
            return self.rotating(lambda: (x,), lambda x_: self.F.linear(x_, next(ws), b), sets=1)

        return Case("gemm", op, setup, f"linear M{m} N{n} K{k}")

    def bmm(self, b, m, n, k) -> Case:
        op = _op("aten.bmm.default", "matmul", [b, m, n], esize=self.esize, dtype=self.trace_dtype,
                 read=(b * m * k + b * k * n) * self.esize, macs=b * m * n * k)

        def setup():
            x, y = self.randn(b, m, k), self.randn(b, k, n)
            return self.rotating(lambda: (x, y), self.torch.bmm, sets=1)

        return Case("bmm", op, setup, f"bmm B{b} M{m} N{n} K{k}")

    def elementwise(self, name: str, elems: int) -> Case:
        torch, F, es = self.torch, self.F, self.esize
        dt = self.trace_dtype
        target = {"mul_bcast": "aten.mul.Tensor", "clone": "aten.clone.default", "copy_": "aten.copy_.default",
                  "add": "aten.add.Tensor", "add_": "aten.add_.Tensor", "mul": "aten.mul.Tensor"}.get(
            name, f"aten.{name}.default")
        kind = "data" if name == "copy_" else "elementwise"
        if name in ("add", "add_", "mul"):
            op = _op(target, kind, [elems], esize=es, dtype=dt, read=2 * elems * es, n_inputs=2)
        elif name == "mul_bcast":
            hw = max(1, min(3136, elems // 16))
            c = max(1, elems // hw)
            elems = c * hw
            op = _op(target, kind, [1, c, hw], esize=es, dtype=dt, read=(elems + c) * es, n_inputs=2)
        else:
            op = _op(target, kind, [elems], esize=es, dtype=dt, read=elems * es)

        def setup():
            rnd = self.randn
            one = lambda: (rnd(elems),)  # noqa: E731
            two = lambda: (rnd(elems), rnd(elems))  # noqa: E731
            if name == "mul_bcast":
                hw_ = op.output_shape[2]
                return self.rotating(lambda: (rnd(1, elems // hw_, hw_, 1), rnd(1, elems // hw_, 1, 1)), torch.mul)
            if name == "clone":
                # a strided copy, as `.contiguous()` after a transpose/permute runs it: contiguous runs of
                # 64 elements (a head dimension, a spatial row) gathered across 2-16 groups
                rows = max(elems // 64, 1)
                g = 16 if rows >= 32 else 2 if rows >= 2 else 1

                def make():
                    return (rnd(elems)[: (rows // g) * g * 64].view(rows // g, g, 64).transpose(0, 1),)

                return self.rotating(make, lambda x: x.contiguous())
            if name == "add_":
                return self.rotating(lambda: (rnd(elems), rnd(elems) * 1e-6), lambda x, y: x.add_(y), sets=3)
            if name == "copy_":
                return self.rotating(two, lambda x, y: y.copy_(x))
            fns = {"relu": (torch.relu, False), "relu_": (lambda x: F.relu(x, inplace=True), True),
                   "hardtanh_": (lambda x: F.hardtanh(x, 0.0, 6.0, inplace=True), True),
                   "add": (torch.add, False), "mul": (torch.mul, False), "sigmoid": (torch.sigmoid, False),
                   "silu": (F.silu, False), "silu_": (lambda x: F.silu(x, inplace=True), True),
                   "gelu": (F.gelu, False), "hardswish": (F.hardswish, False),
                   "hardswish_": (lambda x: F.hardswish(x, inplace=True), True), "hardsigmoid": (F.hardsigmoid, False)}
            fn, inplace = fns[name]
            return self.rotating(two if name in ("add", "mul") else one, fn, sets=3 if inplace else 2)

        return Case(name, op, setup, f"{name} {elems} elements")

    def memory(self, table: str, shape: tuple[int, ...], extra: Any = None) -> Case:
        torch, F, es, dt = self.torch, self.F, self.esize, self.trace_dtype
        elems = math.prod(shape)
        if table == "batch_norm":
            c = shape[1]
            op = _op("aten.native_batch_norm.default", "norm", list(shape), esize=es, dtype=dt, read=elems * es,
                     weight=4 * c * es)

            def setup():
                rm, rv, w, b = self.randn(c), self.randn(c).abs() + 1, self.randn(c), self.randn(c)
                return self.rotating(lambda: (self.randn(*shape),),
                                     lambda x: F.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5))
        elif table == "layer_norm":
            d = shape[-1]
            op = _op("aten.native_layer_norm.default", "norm", list(shape), esize=es, dtype=dt, read=elems * es,
                     weight=2 * d * es)

            def setup():
                w, b = self.randn(d), self.randn(d)
                return self.rotating(lambda: (self.randn(*shape),), lambda x: F.layer_norm(x, (d,), w, b))
        elif table == "softmax":
            op = _op("aten._softmax.default", "reduction", list(shape), esize=es, dtype=dt, read=elems * es)

            def setup():
                return self.rotating(lambda: (self.randn(*shape),), lambda x: torch.softmax(x, -1))
        elif table == "mean":
            out = [shape[0], shape[1], 1, 1]
            op = _op("aten.mean.dim", "reduction", out, esize=es, dtype=dt, read=elems * es)

            def setup():
                return self.rotating(lambda: (self.randn(*shape),), lambda x: x.mean((2, 3), keepdim=True))
        elif table in ("max_pool2d", "avg_pool2d"):
            k, s, p = extra
            n, c, h, w = shape
            ho = (h + 2 * p - k) // s + 1
            target = "aten.max_pool2d_with_indices.default" if table == "max_pool2d" else "aten.avg_pool2d.default"
            op = _op(target, "pool", [n, c, ho, ho], esize=es, dtype=dt, read=elems * es)

            def setup():
                pool = F.max_pool2d if table == "max_pool2d" else F.avg_pool2d
                return self.rotating(lambda: (self.randn(*shape),), lambda x: pool(x, k, s, p))
        elif table == "adaptive_avg_pool2d":
            n, c, h, w = shape
            o = extra
            op = _op("aten._adaptive_avg_pool2d.default", "pool", [n, c, o, o], esize=es, dtype=dt, read=elems * es)

            def setup():
                return self.rotating(lambda: (self.randn(*shape),), lambda x: F.adaptive_avg_pool2d(x, o))
        elif table == "cat":
            parts = extra
            n, c, h, w = shape
            op = _op("aten.cat.default", "data", [n, c * parts, h, w], esize=es, dtype=dt,
                     read=elems * parts * es, n_inputs=parts)

            def setup():
                return self.rotating(lambda: ([self.randn(*shape) for _ in range(parts)],), lambda xs: torch.cat(xs, 1))
        else:
            raise ValueError(table)
        return Case(table, op, setup, f"{table} {'x'.join(map(str, shape))}" + (f" {extra}" if extra else ""))


def memory_cases(cb: CaseBuilder, quick: bool) -> list[Case]:
    cases: list[Case] = []
    for name in ELEMENTWISE:
        for e in elem_sizes(quick):
            cases.append(cb.elementwise(name, e))
    hws = [7, 28, 112] if quick else [7, 14, 28, 56, 112]
    chans = [64, 512] if quick else [16, 64, 256, 1024]
    for h in hws:
        for c in chans:
            if c * h * h <= 4_000_000:
                cases.append(cb.memory("batch_norm", (1, c, h, h)))
                cases.append(cb.memory("mean", (1, c, h, h)))
    if not quick:
        for h in (7, 14, 28, 56):
            cases.append(cb.memory("batch_norm", (8, 256, h, h)))
            cases.append(cb.memory("mean", (8, 256, h, h)))
    rows_d = [(197, 768), (3136, 96)] if quick else [
        (r, d) for r in (49, 197, 784, 3136, 12544) for d in (96, 192, 384, 768, 1024) if r * d <= 4_000_000]
    for r, d in rows_d:
        cases.append(cb.memory("layer_norm", (r, d)))
    rows_l = [(12 * 197, 197)] if quick else [
        (b * L, L) for b in (1, 12, 96) for L in (49, 197, 784, 1000) if b * L * L <= 8_000_000]
    for r, L in rows_l:
        cases.append(cb.memory("softmax", (r, L)))
    pool_shapes = [(1, 64, 112, 112)] if quick else [
        (n, c, h, h) for n, c, h in ((1, 24, 112), (1, 64, 112), (1, 64, 56), (1, 192, 56), (1, 256, 28),
                                     (1, 480, 28), (8, 64, 112), (8, 192, 28), (1, 832, 14), (1, 256, 13))]
    for shp in pool_shapes:
        cases.append(cb.memory("max_pool2d", shp, (3, 2, 1)))
        if not quick:
            cases.append(cb.memory("max_pool2d", shp, (2, 2, 0)))
            cases.append(cb.memory("max_pool2d", shp, (3, 1, 1)))
            cases.append(cb.memory("avg_pool2d", shp, (2, 2, 0)))
            cases.append(cb.memory("avg_pool2d", shp, (3, 1, 1)))
    if not quick:
        for n, c, h, o in ((1, 256, 6, 6), (1, 512, 7, 7), (1, 256, 13, 6), (1, 512, 14, 7), (8, 512, 7, 7),
                           (8, 256, 13, 6), (1, 2048, 10, 5)):
            cases.append(cb.memory("adaptive_avg_pool2d", (n, c, h, h), o))
    cat_shapes = [(1, 64, 28, 28)] if quick else [(1, c, h, h) for c, h in ((32, 56), (58, 28), (116, 14),
                                                                            (128, 28), (256, 14), (32, 7),
                                                                            (8, 112), (64, 56))]
    for shp in cat_shapes:
        cases.append(cb.memory("cat", shp, 2))
        if not quick:
            cases.append(cb.memory("cat", shp, 4))
    return cases


def table_cases(cb: CaseBuilder, quick: bool) -> list[Case]:
    cases: list[Case] = []
    cap = 2.5e8 if quick else 1.5e9
    for n, c, h, co, k, s, g in conv_grid(quick):
        case = cb.conv(n, c, h, co, k, s, g)
        if case.op.flops <= cap:
            cases.append(case)
    for m, n, k in gemm_grid(quick):
        if 2 * m * n * k <= min(cap, 1.0e9) and n * k * cb.esize <= 80e6:
            cases.append(cb.gemm(m, n, k))
    for b, m, n, k in bmm_grid(quick):
        if 2 * b * m * n * k <= cap:
            cases.append(cb.bmm(b, m, n, k))
    cases += memory_cases(cb, quick)
    return cases


# ---------------------------------------------------------------------------------- overhead/bandwidth


def measure_overheads(torch, device: str, timer: Timer) -> dict[str, Any]:
    nn, F = torch.nn, torch.nn.functional

    class Bare(nn.Module):
        def forward(self, x):
            return x

    x = torch.randn(1, 4, 2, 2, device=device)
    w = torch.randn(4, 4, 1, 1, device=device)
    xl, wl, bl = torch.randn(1, 16, device=device), torch.randn(16, 16, device=device), torch.randn(16, device=device)
    t = lambda fn: best_of(timer, fn, 0.05).median_s  # noqa: E731
    bare = Bare()
    conv = nn.Conv2d(4, 4, 1, bias=False).to(device)
    bn = nn.BatchNorm2d(4).to(device).eval()
    lin = nn.Linear(16, 16).to(device)
    act = nn.ReLU(inplace=True)
    pool = nn.MaxPool2d(3, 2, 1)
    rm, rv = bn.running_mean, bn.running_var
    out: dict[str, Any] = {
        "dispatch_s": t(lambda: F.relu(x, inplace=True)),
        "dispatch_alloc_s": t(lambda: torch.add(x, x)),
        "view_s": t(lambda: x.view(-1)),
        "alloc_s": t(lambda: torch.empty(0, device=device)),
        "module_call_s": t(lambda: bare(x)),
    }
    pairs = {
        "conv": (lambda: conv(x), lambda: F.conv2d(x, conv.weight)),
        "norm": (lambda: bn(x), lambda: F.batch_norm(x, rm, rv, bn.weight, bn.bias, False, 0.1, 1e-5)),
        "linear": (lambda: lin(xl), lambda: F.linear(xl, wl, bl)),
        "act": (lambda: act(x), lambda: F.relu(x, inplace=True)),
        "pool": (lambda: pool(x), lambda: F.max_pool2d(x, 3, 2, 1)),
    }
    extra = {}
    for kind, (module_fn, functional_fn) in pairs.items():
        extra[kind] = max(t(module_fn) - t(functional_fn), 0.5 * out["module_call_s"])
    out["module_extra_s"] = extra
    return out


def best_of(timer: Timer, fn: Callable[[], Any], budget_s: float | None = None, rounds: int = 5):
    """The lowest of `rounds` medians, undisturbed ones preferred (interference only adds time): for
    the overhead and bandwidth figures, which feed every prediction."""
    best = None
    for _ in range(rounds):
        tm = timer.time(fn, budget_s=budget_s)
        if best is None or (best.disturbed and not tm.disturbed) or (
                tm.disturbed == best.disturbed and tm.median_s < best.median_s):
            best = tm
    return best


def measure_anchors(torch, device: str = "cpu", timer: Timer | None = None) -> dict[str, float]:
    """Three fixed microbenchmarks, timed at calibration and again by `validate`: their ratio tells how
    much the machine's speed has drifted (a shared host: other tenants' memory traffic, clocks).
    compute: a 3x3 conv 64 -> 64 on 56x56 (cold weights); memory: in-place relu on 4 M elements (16 MiB,
    rotating operands); dispatch: an in-place relu on one element."""
    timer = timer or Timer(device, budget_s=0.1)
    cb = CaseBuilder(torch, device, "fp32", pool_bytes=64 * 2 ** 20)
    out = {}
    with torch.inference_mode():
        out["compute"] = best_of(timer, cb.conv(1, 64, 56, 64, 3, 1, 1).setup()).median_s
        out["memory"] = best_of(timer, cb.elementwise("relu_", 2 ** 22).setup()).median_s
        x = torch.randn(1, device=device)
        out["dispatch"] = best_of(timer, lambda: torch.nn.functional.relu(x, inplace=True), 0.05).median_s
    return out


def measure_fresh_pages(torch, timer: Timer, quick: bool = False) -> dict[str, float]:
    """Allocations above the C allocator's mmap threshold (glibc: dynamic, at most 32 MiB on 64-bit)
    get fresh pages from the kernel on every call, and the first write to each page faults.  Measured as
    `torch.empty(n).fill_(1)` minus `x.fill_(1)` on an existing tensor, over sizes on both sides of the
    threshold: `fresh_page_threshold_bytes` (midway between the last cheap and the first expensive size;
    0 when no cliff was found) and `fresh_page_s_per_byte` (the extra cost per byte above it, net of the
    extra below it)."""
    mib = 2 ** 20
    sizes = [16 * mib, 48 * mib] if quick else [8 * mib, 16 * mib, 30 * mib, 31.5 * mib, 32.5 * mib, 34 * mib,
                                               48 * mib, 64 * mib]
    extra = []
    for size in sizes:
        n = int(size) // 4
        x = torch.empty(n)
        fill = best_of(timer, lambda: x.fill_(1.0), rounds=2).median_s
        fresh = best_of(timer, lambda: torch.empty(n).fill_(1.0), rounds=2).median_s
        extra.append((n * 4, max(fresh - fill, 0.0) / (n * 4)))
        del x
    base = min(e for _, e in extra)
    top = max(e for _, e in extra)
    # the cliff: the first size costing more than half the largest extra (below it the extra is small
    # and noisy, above it ten times larger); none when nothing stands out
    cliff = next((i for i, (_, e) in enumerate(extra) if i > 0 and e > 0.5 * top), None)
    if cliff is None or top < 4 * max(base, 1e-12):
        return {"fresh_page_threshold_bytes": 0.0, "fresh_page_s_per_byte": 0.0}
    above = sorted(e - base for _, e in extra[cliff:])
    return {"fresh_page_threshold_bytes": float((extra[cliff - 1][0] + extra[cliff][0]) // 2),
            "fresh_page_s_per_byte": above[len(above) // 2]}


def bandwidth_sizes(quick: bool) -> list[int]:
    return [2 ** 15, 2 ** 19, 2 ** 24, 2 ** 27] if quick else [2 ** e for e in range(14, 29, 2)]


def measure_bandwidth(torch, device: str, timer: Timer, size: int, which: str):
    """(bytes/s, timing) of copy (dst.copy_(src): working set 2 n x 4 B) or add (c = a + b: 3 n x 4 B)."""
    parts = 2 if which == "copy" else 3
    n = max(size // (4 * parts), 256)
    a = torch.randn(n, device=device)
    b = torch.empty_like(a)
    if which == "copy":
        fn = lambda: b.copy_(a)  # noqa: E731
    else:
        c = torch.randn(n, device=device)
        fn = lambda: torch.add(a, c, out=b)  # noqa: E731
    tm = best_of(timer, fn)
    return parts * n * 4 / tm.median_s, tm


# ----------------------------------------------------------------------------------------------- run


def bf16_supported(torch) -> tuple[bool, str]:
    from perfgraph.hardware.local import cpu_flags

    flags, _, _ = cpu_flags()
    native = {"avx512_bf16", "amx_bf16", "bf16"} & flags
    try:
        mkldnn_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - older torch
        mkldnn_bf16 = False
    if native:
        return True, f"cpu flags {', '.join(sorted(native))}"
    return False, ("no avx512_bf16 / amx_bf16 flag" + (" (oneDNN would emulate bf16 on avx512)" if mkldnn_bf16 else ""))


def device_info(torch, device: str, threads: int) -> dict[str, Any]:
    info: dict[str, Any] = {"kind": device, "torch": torch.__version__, "host": platform.node(),
                            "python": platform.python_version()}
    if device == "cuda":
        idx = torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        info.update(name=torch.cuda.get_device_name(idx), threads=None, sms=props.multi_processor_count,
                    memory_bytes=props.total_memory, capability=f"{props.major}.{props.minor}",
                    cuda=torch.version.cuda)
        return info
    from perfgraph.hardware.local import cpu_flags, detect_cores

    flags, model, _ = cpu_flags()
    cores, logical, _ = detect_cores()
    info.update(name=model, threads=threads, cores=cores, logical_cpus=logical, machine=platform.machine(),
                simd=sorted(f for f in flags if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "fma", "asimd",
                                                       "sve")),
                mkldnn=bool(torch.backends.mkldnn.is_available()),
                parallel=torch.__config__.parallel_info().splitlines()[-1].strip())
    return info


def memory_levels(torch, device: str) -> list[dict[str, Any]]:
    if device == "cuda":
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        levels = []
        l2 = getattr(props, "L2_cache_size", 0)
        if l2:
            levels.append({"name": "L2", "kind": "cache", "capacity_bytes": int(l2)})
        levels.append({"name": "DRAM", "kind": "dram", "capacity_bytes": int(props.total_memory)})
        return levels
    from perfgraph.hardware.local import local_spec_dict

    spec = local_spec_dict()
    cores = spec["compute_units"]["count"]
    out = []
    for lv in spec["memory"]:
        cap = lv["capacity_bytes"] * (cores if lv.get("scope") == "per_unit" else 1)
        out.append({"name": lv["name"], "kind": lv["kind"], "capacity_bytes": int(cap)})
    return out


def run_calibration(*, threads: int | None = None, dtypes: tuple[str, ...] = ("fp32",), quick: bool = False,
                    device: str = "auto", progress: Callable[[int], Any] | None = None,
                    notes: list[str] | None = None, sequence: bool = True) -> CalibrationProfile:
    """Run the microbenchmarks and return the profile (not saved).

    `progress(total)` is a context manager factory yielding `advance(label)` (like `cli.output.progress`).
    `notes` collects one-line remarks (skipped dtypes, ...).  `sequence`: fit the in-sequence term on
    synthetic networks (`measure.sequences`, CPU only) after the tables.
    """
    import contextlib

    import torch

    notes = notes if notes is not None else []
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: torch sees no CUDA device")
    prev_threads = torch.get_num_threads()
    if device == "cpu":
        threads = int(threads or prev_threads)
        torch.set_num_threads(threads)
    keep: list[str] = []
    for dt in dtypes:
        if dt not in TORCH_DTYPES:
            raise ValueError(f"unknown dtype {dt!r}; choose from {', '.join(TORCH_DTYPES)}")
        if dt == "bf16" and device == "cpu":
            ok, why = bf16_supported(torch)
            if not ok:
                notes.append(f"bf16 skipped: {why}")
                continue
        keep.append(dt)
    if not keep:
        raise ValueError("no dtype left to calibrate")
    timer = (Timer(device, budget_s=0.03, min_samples=3, max_samples=9, warmup=1, attempts=2) if quick
             else Timer(device, budget_s=0.1))
    t_start = time.perf_counter()
    im2col_max = detect_im2col_path(torch) if device == "cpu" else 0
    levels = memory_levels(torch, device)
    llc = max((lv["capacity_bytes"] for lv in levels if lv["kind"] == "cache"), default=32 * 2 ** 20)
    builders = {dt: CaseBuilder(torch, device, dt, im2col_max, threads or 1, pool_bytes=2 * llc) for dt in keep}
    cases = {dt: table_cases(cb, quick) for dt, cb in builders.items()}
    bw_sizes = bandwidth_sizes(quick)
    total = 1 + 2 * len(bw_sizes) + sum(len(c) for c in cases.values())
    ctx = progress(total) if progress else contextlib.nullcontext(lambda label: None)
    tables: dict[str, dict[str, Table]] = {}
    bandwidth: dict[str, list[list[float]]] = {"copy": [], "add": []}
    torch.manual_seed(0)
    with CpuActivity() as activity, torch.inference_mode(), ctx as advance:
        try:
            # Warm up first (thread pool, oneDNN JIT, allocator, clocks): timings taken in the first
            # second of a process run up to twice too slow.
            t_warm = time.perf_counter()
            while time.perf_counter() - t_warm < (0.2 if quick else 1.0):
                torch.nn.functional.conv2d(torch.randn(1, 32, 28, 28, device=device),
                                           torch.randn(32, 32, 3, 3, device=device), None, 1, 1)
            bw_timing = {}
            for which in ("copy", "add"):
                for size in bw_sizes:
                    advance(f"bandwidth {which} {size / 2 ** 20:g} MiB")
                    bw_timing[(which, size)] = measure_bandwidth(torch, device, timer, size, which)
            # The machine's speed itself drifts (a shared host: other tenants' memory traffic, clocks),
            # invisibly to the interference counters.  A small conv, timed before every few cases, tracks
            # it; cases timed while the probe ran > SLOW_PHASE x its best are measured again at the end.
            probe = builders[keep[0]].conv(1, 32, 28, 32, 3, 1, 1).setup()
            probe_t: list[float] = []

            def speed() -> float:
                probe_t.append(timer.time(probe, budget_s=0.01).median_s)
                return probe_t[-1]

            timings: dict[tuple[str, int], Any] = {}
            phase: dict[tuple[str, int], float] = {}
            for dt, dt_cases in cases.items():
                for i, case in enumerate(dt_cases):
                    advance(f"{dt} {case.label}")
                    if i % 5 == 0:
                        now = speed()
                    timings[(dt, i)] = _time_case(timer, case)
                    phase[(dt, i)] = now
            best_speed = min(probe_t)
            slow = [key for key, v in phase.items() if v > SLOW_PHASE * best_speed] if not quick else []
            for key in slow:
                if speed() > SLOW_PHASE * best_speed:
                    time.sleep(0.2)  # still slow: one more chance
                    if speed() > SLOW_PHASE * best_speed:
                        continue
                tm = _time_case(timer, cases[key[0]][key[1]])
                if not tm.disturbed and tm.median_s < timings[key].median_s:
                    timings[key] = tm
            # Timings another process disturbed throughout get up to two more chances at the end.
            for _ in range(2):
                again = [key for key, tm in timings.items() if tm.disturbed]
                bw_again = [key for key, (_, tm) in bw_timing.items() if tm.disturbed]
                if not again and not bw_again:
                    break
                time.sleep(0.5)
                for key in again:
                    tm = _time_case(timer, cases[key[0]][key[1]])
                    if not tm.disturbed or tm.median_s < timings[key].median_s:
                        timings[key] = tm
                for key in bw_again:
                    bw, tm = measure_bandwidth(torch, device, timer, key[1], key[0])
                    if not tm.disturbed or bw > bw_timing[key][0]:
                        bw_timing[key] = (bw, tm)
            for (which, size), (bw, _) in sorted(bw_timing.items()):
                bandwidth[which].append([float(size), bw])
            # the overheads and anchors last, on a process that has run for a while
            advance("overheads")
            overhead = measure_overheads(torch, device, timer)
            if device == "cpu":
                overhead.update(measure_fresh_pages(torch, timer, quick))
            anchors = measure_anchors(torch, device, timer) if not quick else {}
            tables = _build_tables(cases, timings)
            # Interference only ever slows a timing down.  A point much slower than its neighbours
            # predict is measured once more, and the faster of the two medians is kept (a genuinely
            # slow shape measures slow twice and stays).
            suspects = _slow_outliers(cases, timings, tables) if not quick else []
            for key in suspects:
                tm = _time_case(timer, cases[key[0]][key[1]])
                if not tm.disturbed and tm.median_s < timings[key].median_s:
                    timings[key] = tm
            if suspects:
                tables = _build_tables(cases, timings)
            disturbed_left = sum(1 for tm in timings.values() if tm.disturbed) + sum(
                1 for _, tm in bw_timing.values() if tm.disturbed)
        finally:
            if device == "cpu":
                torch.set_num_threads(prev_threads)
    duration = time.perf_counter() - t_start
    dev = device_info(torch, device, threads or 0)
    if device == "cpu":
        dev["conv_im2col_max_input"] = im2col_max
    profile = CalibrationProfile(device=dev, overhead=overhead, anchors=anchors,
                                 bandwidth=bandwidth, levels=levels, tables=tables, quick=quick,
                                 created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                                 duration_s=round(duration, 2))
    for lv in profile.levels:  # bandwidth with a working set of half the level (the largest set for DRAM)
        ws = lv["capacity_bytes"] / 2 if lv["kind"] == "cache" else float("inf")
        lv["copy_bytes_per_s"] = profile.bandwidth_at(ws, "copy")
        lv["add_bytes_per_s"] = profile.bandwidth_at(ws, "add")
    if sequence and device == "cpu" and "fp32" in profile.tables:
        # the in-sequence term, fitted on synthetic networks against this profile's own prediction
        from perfgraph.measure.sequences import measure_sequences
        from perfgraph.measure.timing import RunDelay

        torch.set_num_threads(threads)
        delay = RunDelay()
        try:
            with CpuActivity() as seq_activity:
                fit, samples = measure_sequences(torch, profile, quick=quick, delay=delay,
                                                 rounds=2 if quick else 3, run_s=0.05 if quick else 0.25,
                                                 warmup_s=0.05 if quick else 0.3,
                                                 quiet_wait_s=0.0 if quick else 5.0)
        finally:
            delay.close()
            torch.set_num_threads(prev_threads)
        profile.overhead["sequence_op_s"] = fit.get("sequence_op_s", 0.0)
        profile.overhead["sequence_s_per_byte"] = fit.get("sequence_s_per_byte", 0.0)
        fit["other_cpu_share"] = seq_activity.other_cpu_share
        fit["networks"] = [{k: v for k, v in smp.items() if k != "family"} for smp in samples]
        profile.overhead["sequence_fit"] = fit
        duration = time.perf_counter() - t_start
        profile.duration_s = round(duration, 2)
    noise = sorted(timer.noise_seen)
    profile.noise = {
        "timings": len(noise),
        "median_iqr_over_median": noise[len(noise) // 2] if noise else 0.0,
        "p90_iqr_over_median": noise[int(0.9 * (len(noise) - 1))] if noise else 0.0,
        "max_iqr_over_median": noise[-1] if noise else 0.0,
        "samples": timer.samples_taken,
        "samples_rejected": timer.samples_rejected,  # this process waited for a CPU during them
        "disturbed_timings": disturbed_left,  # still disturbed after the retries: left out of the tables
        "outliers_remeasured": len(suspects),
        "slow_phase_remeasured": len(slow),  # timed while the probe conv ran > 1.25 x its best
        "probe_spread": (max(probe_t) / min(probe_t)) if probe_t else 1.0,  # machine speed, slowest / fastest
        **activity.as_dict(),
    }
    profile.source = (f"calibrated: perfgraph calibrate on {profile.device.get('name', device)}, "
                      f"{threads if device == 'cpu' else 'GPU'}{' threads' if device == 'cpu' else ''}, "
                      f"{profile.created}{' (quick)' if quick else ''}")
    profile.overrides = overrides_from(profile, keep[0])
    return profile


def _new_table(name: str) -> Table:
    if name in TABLE_LAYOUT:
        feats, scales, work = TABLE_LAYOUT[name]
    else:
        feats, scales = MEMORY_TABLE_FEATURES.get(name, (["elems"], [1.0]))
        work = "bytes"
    return Table(name, list(feats), list(scales), work)


def _build_tables(cases: dict[str, list[Case]], timings: dict) -> dict[str, dict[str, Table]]:
    """Tables from the timings; a timing still disturbed after its retries is left out (its neighbours
    interpolate for it)."""
    tables: dict[str, dict[str, Table]] = {}
    for dt, dt_cases in cases.items():
        tabs: dict[str, Table] = {}
        for i, case in enumerate(dt_cases):
            tm = timings[(dt, i)]
            tab = tabs.get(case.table) or tabs.setdefault(case.table, _new_table(case.table))
            if tm.disturbed:
                continue
            f, work_amount = point_features(case)
            tab.add(f, work_amount, tm.median_s, tm.noise, case.label)
        tables[dt] = {n: t for n, t in tabs.items() if t.points}
    return tables


OUTLIER_RATIO = 1.6
SLOW_PHASE = 1.25  # probe conv slower than this x its best: the machine was in a slow phase


def _slow_outliers(cases: dict[str, list[Case]], timings: dict, tables: dict[str, dict[str, Table]]) -> list:
    """Keys of timings more than OUTLIER_RATIO x slower than the interpolation from their neighbours."""
    out = []
    for dt, dt_cases in cases.items():
        index: dict[str, int] = {}
        for i, case in enumerate(dt_cases):
            tm = timings[(dt, i)]
            if tm.disturbed:
                continue
            tab = tables[dt].get(case.table)
            k = index.get(case.table, 0)
            index[case.table] = k + 1
            if tab is None or len(tab.points) < 4:
                continue
            p = tab.points[k]
            if p.t > OUTLIER_RATIO * tab.predict(p.f, p.work, exclude=k):
                out.append((dt, i))
    return out


def _time_case(timer: Timer, case: Case):
    fn = case.setup()
    try:
        return timer.time(fn, budget_s=case.budget_s)
    finally:
        del fn


IM2COL_MAX_INPUT = 20480  # torch 2.x: ConvParams::use_mkldnn, "for some case, native is faster"


def detect_im2col_path(torch) -> int:
    """Does this torch run small batch-1 convs on its native im2col path (`_slow_conv2d_forward`)
    instead of oneDNN?  Returns the input-size limit of that path (checked on both sides of it), or 0."""
    F = torch.nn.functional

    def kernel_of(c: int, h: int) -> str:
        x, w = torch.randn(1, c, h, h), torch.randn(c, c, 3, 3)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            F.conv2d(x, w, None, 1, 1)
        names = {e.key for e in prof.key_averages()}
        return "native" if any("slow_conv2d" in n or "thnn_conv2d" in n for n in names) else "other"

    saved = None
    try:
        saved = os.dup(2)  # the profiler's C++ side prints start/stop lines on stderr: silence them
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        saved = None
    try:
        below = kernel_of(20, 32)  # 20480 elements
        above = kernel_of(21, 32)  # 21504
    except Exception:  # noqa: BLE001 - no profiler: assume the documented torch 2.x rule
        return IM2COL_MAX_INPUT
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    return IM2COL_MAX_INPUT if below == "native" and above != "native" else 0


def point_features(case: Case) -> tuple[list[float], float]:
    op = case.op
    if case.features is not None:
        return case.features, float(op.flops if case.table in TABLE_LAYOUT else op.bytes_total)
    if case.table in TABLE_LAYOUT:
        if op.kind == "conv":
            name, f = conv_table_and_features(op)
        else:
            name, f = gemm_table_and_features(op)
        if name != case.table:
            raise AssertionError(f"calibration case {case.label} lands in table {name}, not {case.table}")
        return f, float(op.flops)
    return memory_features(case.table, op), float(op.bytes_total)


def overrides_from(profile: CalibrationProfile, dtype: str) -> dict[str, Any]:
    """Measured numbers in the hardware spec's shape, for `hardware.local.apply_calibration`."""
    ov: dict[str, Any] = {"overhead": {"launch_s": profile.overhead["dispatch_s"]}}
    mem: dict[str, Any] = {}
    for lv in profile.levels:
        mem[lv["name"]] = {"bandwidth_bytes_per_s": lv["copy_bytes_per_s"]}
    ov["memory"] = mem
    gemm = profile.table(dtype, "gemm")
    if gemm and gemm.points:
        ov["peak_flops"] = {dtype: max(p.work / p.t for p in gemm.points)}
    return ov


def table_quality(profile: CalibrationProfile) -> list[dict[str, Any]]:
    """Per table: points, leave-one-out interpolation error, median noise."""
    rows = []
    for dt, tabs in profile.tables.items():
        for name, tab in sorted(tabs.items()):
            cv = cross_validate(tab)
            noise = sorted(p.noise for p in tab.points)
            rows.append({"dtype": dt, "table": name, "points": cv["points"],
                         "loo_median_err": cv["loo_median"], "loo_p90_err": cv["loo_p90"],
                         "median_noise": noise[len(noise) // 2] if noise else 0.0,
                         "best_rate": max((p.work / p.t for p in tab.points), default=0.0), "work": tab.work})
    return rows


def thread_default() -> int:
    from perfgraph.hardware.local import detect_cores

    return detect_cores()[0] or (os.cpu_count() or 1)
