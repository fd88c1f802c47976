"""Output metadata of shape-preserving ops on meta tensors, without running their meta kernels.

Many meta kernels are Python decompositions (torch._refs): a batch norm or a hardswish costs orders of
magnitude more on meta tensors than the ops implemented in C++. For the ops below the output's
shape, dtype and layout follow from the inputs, so the recorder creates it directly. Anything outside
these narrow cases (mixed dtypes, broadcasting with no full-shape input, bool results) runs the real
kernel. `tests/test_meta_fast.py` checks that recordings with and without this path are identical.
"""

from __future__ import annotations

from typing import Any

import torch

aten = torch.ops.aten
ENABLED = True

# Pointwise ops whose result is not the inputs' floating dtype.
_NOT_SAME_DTYPE = {"eq", "ne", "lt", "gt", "le", "ge", "logical_and", "logical_or", "logical_xor", "logical_not",
                   "isnan", "isinf", "isfinite", "isneginf", "isposinf", "signbit", "bitwise_and", "bitwise_or",
                   "bitwise_not", "bitwise_xor", "where", "masked_fill", "_to_copy", "to", "type_as", "copy"}
_BATCH_NORM = {"_native_batch_norm_legit_no_training": 7, "native_batch_norm": 8}


def fast_output(func: Any, name: str, pointwise: bool, args: tuple, kwargs: dict) -> Any:
    """The op's output on meta tensors, or None when the real kernel must run."""
    if not ENABLED or kwargs:
        return None
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if not tensors or any(t.device.type != "meta" for t in tensors):
        return None
    first = tensors[0]
    if name in _BATCH_NORM:
        if len(args) != _BATCH_NORM[name] or first.dim() < 2:
            return None
        stats = torch.empty(first.shape[1], device="meta", dtype=torch.float32)
        return torch.empty_like(first), stats, torch.empty_like(stats)
    if name == "native_layer_norm":
        axis = first.dim() - len(args[1])
        stat_shape = list(first.shape[:axis]) + [1] * len(args[1])
        stats = torch.empty(stat_shape, device="meta", dtype=torch.float32)
        return torch.empty_like(first, memory_format=torch.contiguous_format), stats, torch.empty_like(stats)
    if not pointwise or name.rstrip("_") in _NOT_SAME_DTYPE:
        return None
    dtype = first.dtype
    if not dtype.is_floating_point or any(t.dtype != dtype for t in tensors):
        return None
    if any(isinstance(a, (list, tuple)) for a in args):
        return None
    if name.endswith("_"):
        return first  # in place: the result is the mutated tensor itself
    full = [t for t in tensors if t.shape == torch.broadcast_shapes(*(t.shape for t in tensors))]
    if not full:
        return None
    return torch.empty_like(full[0])
