"""FLOPs, MACs and the kind of every ATen op.

MAC ops (matmul, convolution, attention) use torch's own formulas from `torch.utils.flop_counter`, which
count FLOPs = 2 x MACs. Where torch has no formula we register our own here, one function per op family,
in the style of `flop_counter.py`. Each docstring states what is counted; the README lists them all.

An op with no rule and real work (tensor outputs that are not views) is returned as uncosted, so reports
can name it instead of silently counting zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.utils.flop_counter import flop_registry as torch_flop_registry
from torch.utils.flop_counter import sdpa_flop_count

aten = torch.ops.aten


@dataclass(frozen=True)
class OpCost:
    kind: str
    macs: int
    flops: int
    costed: bool = True


# Ops whose work torch.utils.flop_counter counts; all are multiply-accumulate ops (FLOPs = 2 x MACs).
_MAC_KIND = {
    "mm": "matmul", "addmm": "matmul", "bmm": "matmul", "baddbmm": "matmul", "_scaled_mm": "matmul",
    "convolution": "conv", "_convolution": "conv", "cudnn_convolution": "conv",
    "convolution_overrideable": "conv", "_slow_conv2d_forward": "conv",
    "_scaled_dot_product_efficient_attention": "attention",
    "_scaled_dot_product_flash_attention": "attention",
    "_scaled_dot_product_cudnn_attention": "attention",
    "_flash_attention_forward": "attention", "_efficient_attention_forward": "attention",
}

# Our own formulas: packet name -> (kind, formula(args, kwargs, outputs) -> (macs, flops)).
_FORMULAS: dict[str, tuple[str, Callable[..., tuple[int, int]]]] = {}


def register(kind: str, *names: str):
    """Register one formula for the ATen op packets `names` (e.g. "native_layer_norm")."""

    def wrap(fn):
        for name in names:
            if name in _FORMULAS or name in _MAC_KIND:
                raise RuntimeError(f"duplicate cost formula for aten.{name}")
            _FORMULAS[name] = (kind, fn)
        return fn

    return wrap


def _numel(x: Any) -> int:
    return x.numel() if isinstance(x, torch.Tensor) else 0


def _first_tensor(out: Any) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            if isinstance(o, torch.Tensor):
                return o
    return None


# ---- attention the torch counter misses ------------------------------------------------------------
SOFTMAX_FLOPS_PER_ELEMENT = 5  # max, subtract, exp, sum, divide


@register("attention", "_scaled_dot_product_flash_attention_for_cpu",
          "_scaled_dot_product_fused_attention_overrideable", "_scaled_dot_product_attention_math_for_mps")
def sdpa_cpu_flops(args, kwargs, out, name):
    """Fused SDPA kernels torch's counter does not list (the CPU flash kernel among them): the two
    batched matmuls Q@K^T and P@V as MACs, plus the softmax over the score matrix (5 FLOPs/score)."""
    q, k, v = args[0], args[1], args[2]
    mm_flops = sdpa_flop_count(q.shape, k.shape, v.shape)
    b, h, lq, _ = q.shape
    scores = b * h * lq * k.shape[-2]
    return mm_flops // 2, mm_flops + SOFTMAX_FLOPS_PER_ELEMENT * scores


@register("attention", "_native_multi_head_attention")
def native_mha_flops(args, kwargs, out, name):
    """nn.MultiheadAttention's fused inference path: QKV projection, attention matmuls, output
    projection as MACs; softmax at 5 FLOPs/score."""
    query, key = args[0], args[1]
    embed_dim, num_heads = int(args[3]), int(args[4])
    b, lq = (query.shape[0], query.shape[1]) if query.dim() == 3 else (1, query.shape[0])
    lk = key.shape[1] if key.dim() == 3 else key.shape[0]
    proj = b * lq * embed_dim * embed_dim + 2 * b * lk * embed_dim * embed_dim  # q from query, k,v from key
    attn = 2 * b * lq * lk * embed_dim  # QK^T and PV over all heads
    out_proj = b * lq * embed_dim * embed_dim
    macs = proj + attn + out_proj
    return macs, 2 * macs + SOFTMAX_FLOPS_PER_ELEMENT * b * num_heads * lq * lk


# ---- matrix-vector products torch's counter does not list ---------------------------------------
@register("matmul", "mv", "addmv")
def mv_flops(args, kwargs, out, name):
    """Matrix-vector product: rows x cols MACs."""
    mat = args[1] if len(args) > 2 and args[1].dim() == 2 else args[0]
    macs = mat.shape[0] * mat.shape[1]
    return macs, 2 * macs


@register("matmul", "dot", "vdot")
def dot_flops(args, kwargs, out, name):
    """Dot product: n MACs."""
    macs = _numel(args[0])
    return macs, 2 * macs


@register("matmul", "addbmm")
def addbmm_flops(args, kwargs, out, name):
    """Batched matmul reduced over the batch: b*n*m*p MACs."""
    b1, b2 = args[1], args[2]
    macs = b1.shape[0] * b1.shape[1] * b1.shape[2] * b2.shape[2]
    return macs, 2 * macs


@register("matmul", "_grouped_mm")
def grouped_mm_flops(args, kwargs, out, name):
    """Grouped GEMM (MoE experts): every output element is one K-long dot product, whichever group its
    row belongs to: out.numel() x K MACs (K = the first operand's last dimension)."""
    macs = _numel(_first_tensor(out)) * args[0].shape[-1]
    return macs, 2 * macs


# ---- normalisation ---------------------------------------------------------------------------------
@register("norm", "native_batch_norm", "_native_batch_norm_legit_no_training", "_native_batch_norm_legit",
          "batch_norm", "cudnn_batch_norm", "miopen_batch_norm")
def batch_norm_flops(args, kwargs, out, name):
    """(x - mean) * invstd * weight + bias: 4 FLOPs per element."""
    return 0, 4 * _numel(args[0])


@register("norm", "native_layer_norm", "native_group_norm", "layer_norm")
def layer_norm_flops(args, kwargs, out, name):
    """mean (1), variance (3), normalise (2), affine (2): 8 FLOPs per element."""
    return 0, 8 * _numel(args[0])


@register("norm", "_fused_rms_norm", "rms_norm")
def rms_norm_flops(args, kwargs, out, name):
    """square (1), sum (1), scale by rsqrt(mean + eps) (2), affine (2): 6 FLOPs per element."""
    return 0, 6 * _numel(args[0])


# ---- reductions ------------------------------------------------------------------------------------
@register("reduction", "_softmax", "_safe_softmax", "_log_softmax", "softmax", "log_softmax")
def softmax_flops(args, kwargs, out, name):
    """Softmax: max, subtract, exp, sum, divide: 5 FLOPs per input element."""
    return 0, SOFTMAX_FLOPS_PER_ELEMENT * _numel(args[0])


@register("reduction", "sum", "mean", "amax", "amin", "max", "min", "prod", "argmax", "argmin", "any",
          "all", "logsumexp", "norm", "linalg_vector_norm", "cumsum", "var", "std", "var_mean", "std_mean",
          "topk", "sort")
def reduction_flops(args, kwargs, out, name):
    """A reduction touches every input element once: 1 FLOP per input element."""
    return 0, _numel(args[0])


@register("reduction", "histc", "nll_loss_forward", "nll_loss2d_forward")
def histogram_flops(args, kwargs, out, name):
    """Histogram / negative log-likelihood: one read-and-accumulate per input element (target for the loss)."""
    return 0, _numel(args[1] if name.startswith("nll") else args[0])


@register("reduction", "_softmax_backward_data", "_log_softmax_backward_data")
def softmax_backward_flops(args, kwargs, out, name):
    """Softmax backward y * (g - sum(g * y)) and log-softmax backward g - exp(y) * sum(g): 4 FLOPs per
    element."""
    return 0, 4 * _numel(args[0])


@register("data", "embedding_dense_backward")
def embedding_backward_flops(args, kwargs, out, name):
    """Scatter-add of the output gradient into the embedding table: 1 FLOP per gradient element."""
    return 0, _numel(args[0])


# ---- pooling and resampling ------------------------------------------------------------------------
def _kernel_area(kernel_size, dims: int) -> int:
    ks = [kernel_size] if isinstance(kernel_size, int) else list(kernel_size)
    if len(ks) == 1:
        ks = ks * dims  # ATen reads a single size as a square (cubic) window
    return math.prod(int(k) for k in ks)


@register("pool", "max_pool2d_with_indices", "max_pool2d", "avg_pool2d", "max_pool3d_with_indices",
          "max_pool3d", "avg_pool3d", "max_pool1d", "avg_pool1d", "max_pool1d_with_indices")
def pool_flops(args, kwargs, out, name):
    """Window pooling: one compare/add per window element per output element."""
    dims = next(int(d) for d in "321" if f"{d}d" in name)
    return 0, _numel(_first_tensor(out)) * _kernel_area(args[1], dims)


@register("pool", "_adaptive_avg_pool2d", "adaptive_avg_pool2d", "_adaptive_avg_pool3d",
          "adaptive_avg_pool3d", "adaptive_max_pool2d", "adaptive_max_pool3d", "adaptive_avg_pool1d")
def adaptive_pool_flops(args, kwargs, out, name):
    """Adaptive pooling visits each input element about once: 1 FLOP per input element."""
    return 0, _numel(args[0])


# Longest names first: "linear" is a substring of "bilinear" and "trilinear".
_TAPS = {"nearest": 0, "bilinear": 4, "trilinear": 8, "bicubic": 16, "linear": 2}


@register("data", "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact2d",
          "upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d", "upsample_bicubic2d",
          "_upsample_bilinear2d_aa", "_upsample_bicubic2d_aa", "grid_sampler_2d")
def upsample_flops(args, kwargs, out, name):
    """Interpolation: one multiply-add per tap per output element (nearest 0, linear 2, bilinear 4,
    trilinear 8, bicubic 16); grid_sample counts as bilinear."""
    taps = next((t for mode, t in _TAPS.items() if mode in name), 4)
    return 0, _numel(_first_tensor(out)) * taps


# ---- torchvision detection ops (kind "detection": costed by a rule, unlike "other") -------------
@register("detection", "roi_align", "_roi_align", "ps_roi_align")
def roi_align_flops(args, kwargs, out, name):
    """RoIAlign: bilinear interpolation (4 taps) at sampling_ratio^2 points per output element; an
    adaptive sampling ratio (<= 0) counts as 2x2 points."""
    ratio = int(args[5]) if len(args) > 5 else 2
    points = (ratio if ratio > 0 else 2) ** 2
    return 0, _numel(_first_tensor(out)) * points * 4


@register("detection", "nms")
def nms_flops(args, kwargs, out, name):
    """Non-maximum suppression, worst case: every pair of N boxes compared by IoU (about 12 FLOPs each)."""
    n = args[0].shape[0]
    return 0, 12 * n * (n - 1) // 2


# ---- zero-FLOP ops: data movement and creation (bytes only) ---------------------------------------
_DATA_OPS = {
    "cat", "stack", "clone", "copy_", "copy", "_to_copy", "contiguous", "index", "index_select", "gather",
    "scatter", "scatter_add", "embedding", "constant_pad_nd", "reflection_pad2d", "replication_pad2d",
    "roll", "flip", "repeat", "index_put_", "index_put", "_unsafe_index", "_unsafe_index_put",
    "masked_scatter", "masked_select", "nonzero", "unique", "_unique2", "take", "tril", "triu",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "im2col", "col2im",
    "_local_scalar_dense", "item", "lift_fresh_copy", "lift_fresh", "split_with_sizes_copy",
    "unbind_copy", "slice_scatter", "select_scatter", "diagonal_scatter", "narrow_copy",
    "_pad_packed_sequence", "searchsorted", "bucketize", "resize_", "set_", "new_empty_strided",
    "_assert_async", "_assert_tensor_metadata", "sym_constrain_range_for_size", "_functional_assert_async",
    "repeat_interleave", "one_hot", "index_copy", "slice_backward", "nll_loss_backward", "select_backward",
}
_CREATION_OPS = {
    "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
    "arange", "linspace", "scalar_tensor", "new_zeros", "new_ones", "new_full", "new_empty", "rand", "randn",
    "randint", "rand_like", "randn_like", "randperm", "eye", "tensor", "normal", "bernoulli", "uniform_",
    "normal_", "fill_", "zero_", "fill", "detach_",
}
# Ops that are metadata-only although their schema does not say "alias".
_VIEW_LIKE = {"_unsafe_view", "reshape", "view_as", "expand_as", "_reshape_alias", "lift", "detach",
              "alias", "view_copy", "as_strided_", "unsqueeze_", "squeeze_", "t_", "transpose_",
              "_nested_tensor_size", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset", "dim",
              "size", "stride", "is_contiguous", "_shape_as_tensor", "split", "split_with_sizes", "chunk",
              "unbind", "unflatten", "flatten", "movedim", "swapaxes", "narrow"}


def packet_name(func: Any) -> str:
    """`aten.convolution.default` -> `convolution`; custom namespaces keep their op name."""
    packet = getattr(func, "_overloadpacket", func)
    return getattr(packet, "__name__", str(func)).split(".")[-1]


def is_view_op(func: Any) -> bool:
    if packet_name(func) in _VIEW_LIKE:
        return True
    return bool(getattr(func, "is_view", False))


# Pointwise ops whose schema lacks torch's `pointwise` tag (checked against torch 2.14).
_UNTAGGED_POINTWISE = {"hardswish", "glu", "prelu", "_prelu_kernel", "log_sigmoid_forward", "native_dropout",
                       "dropout", "feature_dropout", "alpha_dropout", "floor_divide"}


def is_pointwise(func: Any, name: str) -> bool:
    if name.rstrip("_") in _UNTAGGED_POINTWISE:
        return True
    if torch.Tag.pointwise in getattr(func, "tags", ()):
        return True
    if name.endswith("_") and getattr(func, "namespace", "") == "aten":
        # In-place variants may carry fewer tags than their functional twin.
        twin = getattr(torch.ops.aten, name[:-1], None)
        overload = getattr(twin, getattr(func, "_overloadname", "default"), None)
        return overload is not None and torch.Tag.pointwise in overload.tags
    return False


def cost_of(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Kind, MACs and FLOPs of one executed ATen op, from its arguments and outputs."""
    name = packet_name(func)
    packet = getattr(func, "_overloadpacket", None)
    if packet is not None and packet in torch_flop_registry and name in _MAC_KIND:
        flops = int(torch_flop_registry[packet](*args, **kwargs, out_val=out))
        return OpCost(_MAC_KIND[name], flops // 2, flops)
    # An overload torch tags pointwise is element-wise even where its packet's other overloads reduce
    # (aten.max.other is torch.max(a, b); aten.max.default reduces).
    tagged_pointwise = torch.Tag.pointwise in getattr(func, "tags", ())
    if name in _FORMULAS and not tagged_pointwise:
        kind, fn = _FORMULAS[name]
        macs, flops = fn(args, kwargs, out, name)
        return OpCost(kind, int(macs), int(flops))
    if is_view_op(func):
        return OpCost("view", 0, 0)
    if is_pointwise(func, name):
        # One FLOP per output element for every pointwise op (add, mul, relu, gelu, where, ...).
        return OpCost("elementwise", 0, _numel(_first_tensor(out)))
    if name in _DATA_OPS or name.rstrip("_") in _DATA_OPS:
        return OpCost("data", 0, 0)
    if name in _CREATION_OPS or name.rstrip("_") in _CREATION_OPS:
        return OpCost("creation", 0, 0)
    if _first_tensor(out) is None:
        return OpCost("other", 0, 0)  # returns no tensor: nothing to cost
    return OpCost("other", 0, 0, costed=False)


def registered_formulas() -> dict[str, str]:
    """op name -> first line of its formula's docstring (for the docs and `perfgraph` help)."""
    rows = {name: f"torch.utils.flop_counter ({kind}; FLOPs = 2 x MACs)" for name, kind in _MAC_KIND.items()}
    for name, (kind, fn) in _FORMULAS.items():
        rows[name] = f"{kind}: {(fn.__doc__ or '').strip().splitlines()[0]}"
    return rows
