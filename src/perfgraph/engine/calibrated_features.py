"""Which calibration table serves an op, and the op's features in that table (pure Python: no torch).

The calibration (`measure.calibrate`) computes a microbenchmark's features with these same functions from
a description of the op in the trace's own terms, and the predictor (`engine.calibrated`) computes a
traced op's, so calibration and prediction cannot drift apart::

    conv (dense | grouped | depthwise | im2col)   `conv_table_and_features`   FLOP-rate tables
    addmm/mm (gemm), bmm                          `gemm_table_and_features`   FLOP-rate tables
    elementwise, norms, reductions, pooling, cat  `memory_table_name`, `memory_features`   time-per-byte tables

An elementwise op whose own name was not measured is served by its family's table (`elementwise_family`,
`FALLBACK`).
"""

from __future__ import annotations

import math
import re
from typing import Iterable

from perfgraph.engine.calibration_table import Table
from perfgraph.engine.common import dtype_bytes, gemm_shape
from perfgraph.graph import Op

# Elementwise op families, by ATen base name (the packet: `aten.relu_.default` -> `relu_`).
TRANSCENDENTAL = {"sigmoid", "silu", "gelu", "tanh", "exp", "erf", "log", "softplus", "mish", "elu", "sqrt",
                  "rsqrt", "pow", "log_sigmoid", "erfc", "sin", "cos", "reciprocal", "div"}
BINARY = {"add", "sub", "mul", "div", "where", "maximum", "minimum", "masked_fill", "eq", "ne", "lt", "gt",
          "le", "ge", "logical_and", "logical_or", "bitwise_and"}
COPY_LIKE = {"clone", "copy", "contiguous", "_to_copy", "to", "constant_pad_nd", "roll", "index", "gather",
             "index_select", "repeat", "expand_copy", "slice_scatter", "select_scatter", "embedding",
             "_unsafe_index", "flip", "narrow_copy", "split_with_sizes_copy", "upsample_nearest2d",
             "_reshape_alias", "unfold", "im2col", "pixel_shuffle", "channel_shuffle", "native_channel_shuffle"}
NORM_TABLE = {"native_batch_norm": "batch_norm", "_native_batch_norm_legit_no_training": "batch_norm",
              "_native_batch_norm_legit": "batch_norm", "batch_norm": "batch_norm",
              "cudnn_batch_norm": "batch_norm", "miopen_batch_norm": "batch_norm",
              "native_layer_norm": "layer_norm", "layer_norm": "layer_norm", "native_group_norm": "layer_norm",
              "_fused_rms_norm": "layer_norm", "rms_norm": "layer_norm"}
REDUCTION_TABLE = {"_softmax": "softmax", "_safe_softmax": "softmax", "softmax": "softmax",
                   "_log_softmax": "softmax", "log_softmax": "softmax", "mean": "mean", "sum": "mean",
                   "amax": "mean", "amin": "mean", "max": "mean", "var": "mean", "var_mean": "mean",
                   "std": "mean", "argmax": "mean", "logsumexp": "softmax"}
POOL_TABLE = {"max_pool2d_with_indices": "max_pool2d", "max_pool2d": "max_pool2d", "avg_pool2d": "avg_pool2d",
              "_adaptive_avg_pool2d": "adaptive_avg_pool2d", "adaptive_avg_pool2d": "adaptive_avg_pool2d",
              "adaptive_max_pool2d": "max_pool2d"}
FILL_CREATION = {"zeros", "ones", "full", "new_zeros", "new_ones", "new_full", "zeros_like", "ones_like",
                 "full_like", "fill", "arange", "randn", "rand"}

# Table layout: name -> (features, scales, work).  The calibration fills them with these names.
TABLE_LAYOUT: dict[str, tuple[list[str], list[float], str]] = {
    "conv": (["M", "N", "K", "r"], [1.0, 1.0, 1.0, 0.5], "flops"),
    "conv_im2col": (["M", "N", "K", "r"], [1.0, 1.0, 1.0, 0.5], "flops"),
    "conv_grouped": (["M", "N", "K", "g"], [1.0, 1.0, 1.0, 0.5], "flops"),
    "conv_dw": (["M", "C", "k", "s"], [1.0, 1.0, 1.0, 1.0], "flops"),
    "gemm": (["M", "N", "K"], [1.0, 1.0, 1.0], "flops"),
    "bmm": (["B", "M", "N", "K"], [0.7, 1.0, 1.0, 1.0], "flops"),
}
MEMORY_TABLE_FEATURES: dict[str, tuple[list[str], list[float]]] = {
    "batch_norm": (["elems", "inner"], [1.0, 0.5]),
    "layer_norm": (["elems", "inner"], [1.0, 0.5]),
    "softmax": (["elems", "inner"], [1.0, 0.5]),
    "mean": (["elems", "reduced"], [1.0, 0.5]),
    # the window area: a 3x3 window costs about 1.5x a 2x2 one on the same tensors
    "max_pool2d": (["elems", "ratio", "window"], [1.0, 0.5, 1.0]),
    "avg_pool2d": (["elems", "ratio", "window"], [1.0, 0.5, 1.0]),
    "adaptive_avg_pool2d": (["elems", "ratio"], [1.0, 0.5]),
    "cat": (["elems", "parts"], [1.0, 0.5]),
}
# Which table serves an elementwise / data op whose own name was not measured.
FALLBACK = {"binary": "add", "binary_": "add_", "unary": "relu", "unary_": "relu_",
            "transcendental": "sigmoid", "transcendental_": "silu_", "copy": "clone", "broadcast": "mul_bcast"}


def base_name(op: Op) -> str:
    """`aten.relu_.default` -> `relu_`."""
    parts = (op.target or "").split(".")
    if len(parts) >= 2 and parts[0] in ("aten", "prims", "torchvision", "quantized"):
        return parts[1]
    return re.sub(r"_\d+$", "", op.name or "")


def _prod(xs: Iterable[int]) -> int:
    return math.prod(int(x) for x in xs)


def _l2(x: float) -> float:
    return math.log2(max(float(x), 1e-30))


def elem_bytes(op: Op) -> int:
    return dtype_bytes(op.dtype)


def out_elems(op: Op) -> int:
    return max(_prod(op.output_shape), 1) if op.output_shape else max(op.bytes_written // max(elem_bytes(op), 1), 1)


def _in_elems(op: Op) -> int:
    return max(op.bytes_read // max(elem_bytes(op), 1), 1)


# The convolution tables whose path is oneDNN (see `conv_table_and_features`); "conv_im2col" is native.
ONEDNN_CONV_TABLES = frozenset({"conv", "conv_grouped", "conv_dw"})


def conv_table_and_features(op: Op, im2col_max_input: int = 0, threads: int = 2) -> tuple[str, list[float]]:
    """Table and log2 features of a convolution.

    out [N, C_out, *spatial]; M = N x prod(spatial); groups g from the op.  K = C_in/g x kernel volume
    = MACs / (M x C_out).  r = K x g x M / input elements = kernel volume / stride^2 (how much im2col
    would inflate the input; 1 for a 1x1 stride-1 conv).  Depthwise (g = C_out, one input channel per
    group): features M, C, kernel volume k (= K) and stride s (~ sqrt(input / output spatial)).

    Two code paths for dense convolutions (PyTorch's CPU dispatch, `ConvParams::use_mkldnn` in
    aten/src/ATen/native/ConvUtils.h, fp32): oneDNN ("conv"), except that a batch-1, ungrouped conv
    with a kernel of at most 3x3 and an input of at most `im2col_max_input` elements (20480 in torch
    2.x; 0 = no such path, as the calibration detected) runs the native im2col + GEMM path
    ("conv_im2col"), as does a 1x1 stride-1 conv below batch 16 on one thread.  Kernels above 3x3 are
    recognised by r > 9.5 (5x5 and 7x7 at stride 1, 7x7 at stride 2).
    """
    out = [int(x) for x in op.output_shape] or [1, 1, 1]
    n, c_out = out[0], out[1] if len(out) > 1 else 1
    spatial = _prod(out[2:]) if len(out) > 2 else 1
    m = max(n * spatial, 1)
    g = max(int(op.groups or 1), 1)
    k = max(op.macs / (m * max(c_out, 1)), 1.0)
    e_in = _in_elems(op)
    r = k * g * m / e_in
    if g > 1 and g == c_out and k <= 81:
        # depthwise: input elems = N x C x H_in x W_in -> stride^2 ~ input spatial / output spatial
        s2 = e_in / max(n * c_out * spatial, 1)
        return "conv_dw", [_l2(m), _l2(c_out), _l2(k), 0.5 * _l2(max(s2, 1.0))]
    if g > 1:
        return "conv_grouped", [_l2(m), _l2(max(c_out // g, 1)), _l2(k), _l2(g)]
    f = [_l2(m), _l2(c_out), _l2(k), _l2(r)]
    small_kernel = r <= 9.5
    if im2col_max_input and n == 1 and small_kernel and e_in <= im2col_max_input:
        return "conv_im2col", f
    if threads == 1 and n < 16 and 0.9 <= r <= 1.1:  # 1x1, stride 1, one thread
        return "conv_im2col", f
    return "conv", f


def dense_conv_features(op: Op) -> list[float]:
    """Features of the dense-conv table for any convolution (fallback when a grouped table is missing)."""
    out = [int(x) for x in op.output_shape] or [1, 1, 1]
    m = max(out[0] * (_prod(out[2:]) if len(out) > 2 else 1), 1)
    c_out = out[1] if len(out) > 1 else 1
    k = max(op.macs / (m * max(c_out, 1)), 1.0)
    return [_l2(m), _l2(c_out), _l2(k), _l2(k * max(op.groups, 1) * m / _in_elems(op))]


def gemm_table_and_features(op: Op) -> tuple[str, list[float]]:
    shape = gemm_shape(op)
    name = base_name(op)
    if shape.batch > 1 or name in ("bmm", "baddbmm"):
        return "bmm", [_l2(shape.batch), _l2(shape.M), _l2(shape.N), _l2(shape.K)]
    return "gemm", [_l2(shape.M), _l2(shape.N), _l2(shape.K)]


def gemm_features_2d(op: Op) -> list[float]:
    shape = gemm_shape(op)
    return [_l2(shape.M * shape.batch), _l2(shape.N), _l2(shape.K)]


def memory_features(table: str, op: Op) -> list[float]:
    out = [int(x) for x in op.output_shape]
    oe, ie = out_elems(op), _in_elems(op)
    if table == "batch_norm":
        inner = _prod(out[2:]) if len(out) > 2 else 1
        return [_l2(oe), _l2(inner)]
    if table in ("layer_norm", "softmax"):
        return [_l2(oe), _l2(out[-1] if out else 1)]
    if table == "mean":
        return [_l2(ie), _l2(max(ie / oe, 1.0))]
    if table in ("max_pool2d", "avg_pool2d"):  # window area = FLOPs per output (ingest.op_costs.pool_flops)
        return [_l2(ie), _l2(max(ie / oe, 1.0)), _l2(max(op.flops / max(oe, 1), 1.0))]
    if table == "adaptive_avg_pool2d":
        return [_l2(ie), _l2(max(ie / oe, 1.0))]
    if table == "cat":
        parts = max(len(op.inputs), 2)
        return [_l2(oe), _l2(parts)]
    return [_l2(oe)]


def elementwise_family(op: Op) -> str:
    name = base_name(op)
    inplace = name.endswith("_") and not name.startswith("_")
    bare = name.rstrip("_")
    if bare in COPY_LIKE or op.kind == "data":
        return "copy"
    if bare in BINARY:
        oe = out_elems(op) * elem_bytes(op)
        if op.bytes_read >= 1.5 * oe:
            return "binary_" if inplace else "binary"
        if bare in ("mul", "add", "sub", "div") and op.bytes_read > oe:  # [N,C,H,W] x [N,C,1,1]
            return "broadcast"
        return "unary_" if inplace else "unary"
    if bare in TRANSCENDENTAL or bare in ("hardswish", "hardsigmoid", "silu", "gelu", "sigmoid", "mish"):
        return "transcendental_" if inplace else "transcendental"
    return "unary_" if inplace else "unary"


def memory_table_name(op: Op, tables: dict[str, Table]) -> str | None:
    """The table for a non-MAC op: its own name when measured, else its family's."""
    name = base_name(op)
    bare = name.rstrip("_")
    if op.kind == "norm" or name in NORM_TABLE:
        return NORM_TABLE.get(name, "batch_norm" if "batch" in name else "layer_norm")
    if op.kind == "pool" or name in POOL_TABLE:
        return POOL_TABLE.get(name, "max_pool2d" if "max" in name else "avg_pool2d")
    if op.kind == "reduction" or name in REDUCTION_TABLE:
        return REDUCTION_TABLE.get(name, "mean")
    if bare == "cat" or name == "stack":
        return "cat"
    fam = elementwise_family(op)
    if fam == "broadcast":
        return "mul_bcast"
    if name in tables and op.kind in ("elementwise", "data") and (bare not in BINARY or fam.startswith("binary")):
        return name  # its own table (a binary op's only when both operands are full size: not mul.Scalar)
    if fam == "copy":
        return "clone"
    return FALLBACK.get(fam)
