"""Calibration cases: one op on synthetic tensors, described as the trace would describe it.

Data is reused at the distance a model reuses it: weights are cold (`CaseBuilder.cold_weights`: each call
reads another copy from a pool of twice the last-level cache); conv/GEMM inputs are hot, as the previous op
just wrote them; memory-bound ops rotate over 2-3 operand sets and every op's output buffer rotates
(`CaseBuilder.rotating`), so small tensors stay cached and batch-8 activations stream from memory, as in a
model.

A point's features are computed from a description of the op in the trace's own terms (an `Op` with
the shapes, bytes and MACs the recorder would give it) by the same functions the predictor uses
(`engine.calibrated_features`), so calibration and prediction cannot drift apart.
"""

from __future__ import annotations

import collections
import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable

from perfgraph.engine.calibrated_features import (
    TABLE_LAYOUT, conv_table_and_features, gemm_table_and_features, memory_features,
)
from perfgraph.graph import Op
from perfgraph.measure.grids import ELEMENTWISE, bmm_grid, conv_grid, elem_sizes, gemm_grid

TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


@dataclass
class Case:
    table: str
    op: Op  # the op as the trace would describe it
    setup: Callable[[], Callable[[], Any]]  # builds tensors, returns the timed call
    label: str
    budget_s: float | None = None
    features: list[float] | None = None  # set where the table choice needs the machine's conv rule


def _op(target: str, kind: str, out: list[int], *, esize: int, dtype: str, read: int, written: int | None = None,
        weight: int = 0, macs: int = 0, groups: int = 1, n_inputs: int = 1, flops: int | None = None) -> Op:
    out_elems = math.prod(out) if out else 1
    return Op(uid="calibration", model_id="calibration", index=0, name=target.split(".")[1], target=target,
              kind=kind, macs=int(macs), flops=int(2 * macs if flops is None else flops), bytes_read=int(read),
              bytes_written=int(out_elems * esize if written is None else written), weight_bytes=int(weight),
              output_shape=list(out), dtype=dtype, groups=groups, inputs=list(range(n_inputs)))


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
            # FLOPs as the trace counts them (ingest.op_costs.pool_flops): one per window element per output
            op = _op(target, "pool", [n, c, ho, ho], esize=es, dtype=dt, read=elems * es, flops=n * c * ho * ho * k * k)

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
