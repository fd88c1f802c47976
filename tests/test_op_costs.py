"""The cost rules of `perfgraph.ingest.op_costs`, one op at a time, on small hand-built shapes.

Every expected number is worked out by hand in the comment beside it (README, "Costing"): MAC ops count
FLOPs = 2 x MACs; other ops count the element-wise work their rule states. Inputs are meta tensors (shapes
only) unless the op needs real data (NMS, the fused CPU attention kernels). torch runs each op only to give
its output, as the recorder does; the cost comes from `cost_of` alone.
"""

from __future__ import annotations

import pytest
import torch
import torchvision  # noqa: F401 - registers torchvision::roi_align and torchvision::nms
from torch import nn

from perfgraph.ingest.model_source import BuiltModel
from perfgraph.ingest.op_costs import cost_of, is_view_op, registered_formulas
from perfgraph.ingest.trace import trace

aten = torch.ops.aten


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(*shape, device="meta", dtype=dtype)


def cost(op, *args, **kwargs):
    """Run `op` for its output (as the recorder does), then cost it."""
    out = op(*args, **kwargs)
    return cost_of(op, args, kwargs, out)


def assert_cost(c, kind: str, macs: int, flops: int) -> None:
    assert (c.kind, c.macs, c.flops, c.costed) == (kind, macs, flops, True)


# ---- convolution ---------------------------------------------------------------------------------
def test_conv_with_groups_stride_dilation_and_padding():
    # x 2x4x8x8, w 6x2x3x3 (groups 2: 4/2 = 2 input channels per group), stride 2, padding 1, dilation 2.
    # Output side: floor((8 + 2*1 - 2*(3-1) - 1) / 2) + 1 = floor(5/2) + 1 = 3 -> output 2x6x3x3 = 108.
    # Each output: 2 channels x 3x3 taps = 18 MACs -> 108 x 18 = 1944 MACs, 3888 FLOPs.
    args = (meta(2, 4, 8, 8), meta(6, 2, 3, 3), None, [2, 2], [1, 1], [2, 2], False, [0, 0], 2)
    assert_cost(cost(aten.convolution.default, *args), "conv", 1944, 3888)


def test_conv_bias_adds_no_macs():
    # Same conv as above with a bias: torch's counter counts the multiply-accumulates only, 1944 MACs.
    args = (meta(2, 4, 8, 8), meta(6, 2, 3, 3), meta(6), [2, 2], [1, 1], [2, 2], False, [0, 0], 2)
    assert_cost(cost(aten.convolution.default, *args), "conv", 1944, 3888)


def test_depthwise_conv():
    # x 1x8x10x10, w 8x1x3x3, groups 8, stride 1, padding 1 -> out 1x8x10x10 = 800 outputs x 9 taps x 1 channel
    # = 7200 MACs, 14400 FLOPs.
    args = (meta(1, 8, 10, 10), meta(8, 1, 3, 3), None, [1, 1], [1, 1], [1, 1], False, [0, 0], 8)
    assert_cost(cost(aten.convolution.default, *args), "conv", 7200, 14400)


def test_conv1d():
    # x 2x3x10, w 5x3x4, stride 2, no padding: out length floor((10 - 4) / 2) + 1 = 4 -> 2x5x4 = 40 outputs,
    # 3 channels x 4 taps = 12 MACs each -> 480 MACs.
    args = (meta(2, 3, 10), meta(5, 3, 4), None, [2], [0], [1], False, [0], 1)
    assert_cost(cost(aten.convolution.default, *args), "conv", 480, 960)


def test_transposed_conv():
    # x 1x4x3x3, w 4x2x2x2 (in, out, kh, kw), stride 2 -> out 1x2x6x6. Every input element is scattered
    # into 2 output channels x 2x2 taps = 8 MACs: 1*4*9 inputs x 8 = 288 MACs.
    args = (meta(1, 4, 3, 3), meta(4, 2, 2, 2), None, [2, 2], [0, 0], [1, 1], True, [0, 0], 1)
    assert_cost(cost(aten.convolution.default, *args), "conv", 288, 576)


# ---- matrix products -----------------------------------------------------------------------------
def test_mm():
    # (3x5) @ (5x7): 3*7 outputs x 5 = 105 MACs.
    assert_cost(cost(aten.mm.default, meta(3, 5), meta(5, 7)), "matmul", 105, 210)


def test_addmm_bias_adds_no_macs():
    # bias (7) + (3x5) @ (5x7): 105 MACs, the bias add is not counted by torch's formula.
    assert_cost(cost(aten.addmm.default, meta(7), meta(3, 5), meta(5, 7)), "matmul", 105, 210)


def test_bmm():
    # 4 x (3x5 @ 5x7) = 4 * 105 = 420 MACs.
    assert_cost(cost(aten.bmm.default, meta(4, 3, 5), meta(4, 5, 7)), "matmul", 420, 840)


def test_baddbmm():
    # 4x3x7 + 4 x (3x5 @ 5x7): 420 MACs.
    assert_cost(cost(aten.baddbmm.default, meta(4, 3, 7), meta(4, 3, 5), meta(4, 5, 7)), "matmul", 420, 840)


def test_mv_and_addmv():
    # (6x5) @ (5): 6 * 5 = 30 MACs; addmv adds a 6-vector, still 30 MACs.
    assert_cost(cost(aten.mv.default, meta(6, 5), meta(5)), "matmul", 30, 60)
    assert_cost(cost(aten.addmv.default, meta(6), meta(6, 5), meta(5)), "matmul", 30, 60)


def test_dot():
    # 7-long dot product: 7 MACs.
    assert_cost(cost(aten.dot.default, meta(7), meta(7)), "matmul", 7, 14)


def test_addbmm():
    # (3x7) + sum over 4 of (3x5 @ 5x7): 4*3*5*7 = 420 MACs.
    assert_cost(cost(aten.addbmm.default, meta(3, 7), meta(4, 3, 5), meta(4, 5, 7)), "matmul", 420, 840)


# ---- attention -----------------------------------------------------------------------------------
def test_flash_attention_counted_by_torch():
    # q 1x2x5x8, k = v 1x2x7x8: Q@K^T = 1*2*5*7*8 = 560 MACs, P@V = 1*2*5*7*8 = 560 -> 1120 MACs, 2240 FLOPs
    # (torch's formula: no softmax term).
    q, k = meta(1, 2, 5, 8), meta(1, 2, 7, 8)
    assert_cost(cost(aten._scaled_dot_product_flash_attention.default, q, k, k), "attention", 1120, 2240)


def test_efficient_attention_counted_by_torch():
    # Same shapes as the flash case: 1120 MACs.
    q, k = meta(1, 2, 5, 8), meta(1, 2, 7, 8)
    c = cost(aten._scaled_dot_product_efficient_attention.default, q, k, k, None, False)
    assert_cost(c, "attention", 1120, 2240)


def test_cpu_flash_attention_that_torchs_counter_misses():
    # q 1x2x5x4, k = v 1x2x7x4: Q@K^T 1*2*5*7*4 = 280 MACs, P@V 280 -> 560 MACs = 1120 FLOPs;
    # softmax over 1*2*5*7 = 70 scores x 5 FLOPs = 350 -> 1470 FLOPs.
    q, k = torch.zeros(1, 2, 5, 4), torch.zeros(1, 2, 7, 4)
    c = cost(aten._scaled_dot_product_flash_attention_for_cpu.default, q, k, k)
    assert_cost(c, "attention", 560, 1470)


def test_cpu_flash_attention_as_traced_under_inference():
    # What `F.scaled_dot_product_attention` executes on CPU tensors (the real tracer): one fused kernel.
    # q = k = v 1x2x5x8: 2 x (1*2*5*5*8) = 800 MACs = 1600 FLOPs; 50 scores x 5 = 250 -> 1850 FLOPs.
    class Attend(nn.Module):
        def forward(self, q):
            return nn.functional.scaled_dot_product_attention(q, q, q)

    built = BuiltModel(name="attend", source="user", build=Attend, input_shape=[1, 2, 5, 8], batch=1,
                       make_inputs=lambda device, dtype: (torch.zeros(1, 2, 5, 8, device=device, dtype=dtype),))
    mg = trace(built, tracers=("real",))
    fused = [o for o in mg.ops if o.kind == "attention"]
    assert [(o.target, o.macs, o.flops) for o in fused] == [
        ("aten._scaled_dot_product_flash_attention_for_cpu.default", 800, 1850)]


def test_native_multi_head_attention():
    # Self-attention (the fused CPU path needs query, key and value of one shape): batch 2, length 3, embed 4,
    # 2 heads. Projections: q, k and v 3 x (2*3*4*4) = 288; attention Q@K^T + P@V = 2 x (2*3*3*4) = 144;
    # output projection 2*3*4*4 = 96 -> 528 MACs = 1056 FLOPs; softmax 2 batch x 2 heads x 3x3 = 36 scores
    # x 5 = 180 -> 1236 FLOPs.
    e = 4
    x = torch.zeros(2, 3, e)
    args = (x, x, x, e, 2, torch.zeros(3 * e, e), torch.zeros(3 * e), torch.zeros(e, e), torch.zeros(e))
    assert_cost(cost(aten._native_multi_head_attention.default, *args), "attention", 528, 1236)


# ---- pointwise -----------------------------------------------------------------------------------
def test_pointwise_counts_output_elements_after_broadcast():
    # (2x1x4) + (3x1) broadcasts to 2x3x4 = 24 outputs: 24 FLOPs (not 8 + 3 inputs).
    assert_cost(cost(aten.add.Tensor, meta(2, 1, 4), meta(3, 1)), "elementwise", 0, 24)


@pytest.mark.parametrize("op, args, flops", [
    (aten.relu.default, (meta(3, 5),), 15),  # 15 elements
    (aten.relu_.default, (meta(3, 5),), 15),  # in place: same work
    (aten.gelu.default, (meta(2, 6),), 12),
    (aten.mul.Scalar, (meta(4, 4), 2.0), 16),
    (aten.hardswish.default, (meta(7),), 7),  # no pointwise tag in torch's schema: listed by perfgraph
    (aten.native_dropout.default, (meta(10), 0.5, False), 10),  # (output, mask): the output's 10 elements
])
def test_pointwise_one_flop_per_output_element(op, args, flops):
    assert_cost(cost(op, *args), "elementwise", 0, flops)


def test_binary_max_is_pointwise_not_a_reduction():
    # torch.max(a, b) is element-wise (aten.max.other): 1x1 vs 3x4 broadcasts to 12 outputs -> 12 FLOPs;
    # the reduction torch.max(x) over 12 elements is 12 FLOPs of kind reduction.
    assert_cost(cost(aten.max.other, meta(1, 1), meta(3, 4)), "elementwise", 0, 12)
    assert_cost(cost(aten.max.default, meta(3, 4)), "reduction", 0, 12)


# ---- normalisation -------------------------------------------------------------------------------
def test_batch_norm():
    # x 2x3x4x4 = 96 elements x 4 FLOPs = 384.
    args = (meta(2, 3, 4, 4), meta(3), meta(3), meta(3), meta(3), 0.1, 1e-5)
    assert_cost(cost(aten._native_batch_norm_legit_no_training.default, *args), "norm", 0, 384)


def test_layer_norm():
    # x 2x3x4 = 24 elements x 8 FLOPs = 192.
    assert_cost(cost(aten.native_layer_norm.default, meta(2, 3, 4), [4], meta(4), meta(4), 1e-5), "norm", 0, 192)


def test_group_norm():
    # x 2x4x3x3 = 72 elements x 8 FLOPs = 576.
    args = (meta(2, 4, 3, 3), meta(4), meta(4), 2, 4, 9, 2, 1e-5)
    assert_cost(cost(aten.native_group_norm.default, *args), "norm", 0, 576)


def test_rms_norm():
    # x 2x5 = 10 elements x 6 FLOPs = 60.
    assert_cost(cost(aten._fused_rms_norm.default, meta(2, 5), [5], meta(5), 1e-6), "norm", 0, 60)


# ---- softmax and reductions ----------------------------------------------------------------------
def test_softmax_and_log_softmax():
    # 3x7 = 21 input elements x 5 FLOPs = 105.
    assert_cost(cost(aten._softmax.default, meta(3, 7), 1, False), "reduction", 0, 105)
    assert_cost(cost(aten._log_softmax.default, meta(3, 7), 1, False), "reduction", 0, 105)


@pytest.mark.parametrize("op, args", [
    (aten.sum.dim_IntList, (meta(4, 5), [1])),
    (aten.mean.dim, (meta(4, 5), [0])),
    (aten.amax.default, (meta(4, 5), [1])),
    (aten.var.correction, (meta(4, 5), [1])),
    (aten.argmax.default, (meta(4, 5), 1)),
])
def test_reduction_one_flop_per_input_element(op, args):
    # 4x5 = 20 input elements, whatever the output size (5 or 4): 20 FLOPs.
    assert_cost(cost(op, *args), "reduction", 0, 20)


# ---- pooling -------------------------------------------------------------------------------------
def test_max_pool_window():
    # x 1x2x6x6, kernel 3x3, stride 2, padding 1: side floor((6 + 2 - 3) / 2) + 1 = 3 -> 1x2x3x3 = 18 outputs
    # x 9 window elements = 162 FLOPs.
    c = cost(aten.max_pool2d_with_indices.default, meta(1, 2, 6, 6), [3, 3], [2, 2], [1, 1])
    assert_cost(c, "pool", 0, 162)


def test_avg_pool_window():
    # x 1x2x6x6, kernel 2x2, stride 2 -> 1x2x3x3 = 18 outputs x 4 = 72 FLOPs.
    assert_cost(cost(aten.avg_pool2d.default, meta(1, 2, 6, 6), [2, 2], [2, 2]), "pool", 0, 72)


def test_pool_single_kernel_size_means_a_square_window():
    # ATen reads kernel_size [3] of a 2-d pool as 3x3 (F.max_pool2d(x, [3]) passes it so): the same 162
    # FLOPs as the explicit [3, 3] above, not 18 x 3.
    c = cost(aten.max_pool2d_with_indices.default, meta(1, 2, 6, 6), [3], [2], [1])
    assert_cost(c, "pool", 0, 162)
    # avg_pool3d with kernel [2] on 1x1x4x4x4 is a 2x2x2 window: out 1x1x2x2x2 = 8 outputs x 8 = 64 FLOPs.
    assert_cost(cost(aten.avg_pool3d.default, meta(1, 1, 4, 4, 4), [2]), "pool", 0, 64)


def test_adaptive_pool_one_flop_per_input_element():
    # x 1x3x7x7 = 147 input elements -> 147 FLOPs, whatever the output size.
    assert_cost(cost(aten._adaptive_avg_pool2d.default, meta(1, 3, 7, 7), [2, 2]), "pool", 0, 147)
    assert_cost(cost(aten.adaptive_max_pool2d.default, meta(1, 3, 7, 7), [1, 1]), "pool", 0, 147)


# ---- interpolation -------------------------------------------------------------------------------
@pytest.mark.parametrize("op, args, flops", [
    # 1x2x3x3 -> 1x2x6x6 = 72 outputs
    (aten.upsample_nearest2d.default, (meta(1, 2, 3, 3), [6, 6]), 0),  # 0 taps
    (aten.upsample_bilinear2d.default, (meta(1, 2, 3, 3), [6, 6], False), 288),  # 72 x 4 taps
    (aten.upsample_bicubic2d.default, (meta(1, 2, 3, 3), [6, 6], False), 1152),  # 72 x 16 taps
    # 1x2x5 -> 1x2x10 = 20 outputs x 2 taps = 40
    (aten.upsample_linear1d.default, (meta(1, 2, 5), [10], False), 40),
    # 1x1x2x2x2 -> 1x1x4x4x4 = 64 outputs x 8 taps = 512
    (aten.upsample_trilinear3d.default, (meta(1, 1, 2, 2, 2), [4, 4, 4], False), 512),
])
def test_interpolation_taps_per_output_element(op, args, flops):
    assert_cost(cost(op, *args), "data", 0, flops)


# ---- torchvision detection -----------------------------------------------------------------------
def test_roi_align():
    # 2 RoIs over 3 channels, 2x2 bins -> 2x3x2x2 = 24 outputs; sampling ratio 2 -> 2*2 = 4 points x 4 taps
    # = 16 FLOPs each -> 384. An adaptive ratio (0) counts as 2x2 too: 384. Ratio 3: 9 x 4 = 36 -> 864.
    roi_align = torch.ops.torchvision.roi_align.default
    x, rois = meta(1, 3, 8, 8), meta(2, 5)
    assert_cost(cost(roi_align, x, rois, 1.0, 2, 2, 2, False), "detection", 0, 384)
    assert_cost(cost(roi_align, x, rois, 1.0, 2, 2, 0, False), "detection", 0, 384)
    assert_cost(cost(roi_align, x, rois, 1.0, 2, 2, 3, False), "detection", 0, 864)


def test_nms_worst_case_pairs():
    # 5 boxes: 5*4/2 = 10 pairs x 12 FLOPs = 120.
    boxes = torch.tensor([[0.0, 0, 1, 1], [0, 0, 2, 2], [1, 1, 3, 3], [5, 5, 6, 6], [0, 5, 1, 6]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
    assert_cost(cost(torch.ops.torchvision.nms.default, boxes, scores, 0.5), "detection", 0, 120)


# ---- data movement, creation, views, uncosted ----------------------------------------------------
@pytest.mark.parametrize("op, args", [
    (aten.cat.default, ([meta(2, 3), meta(4, 3)],)),
    (aten.copy_.default, (meta(2, 3), meta(2, 3))),
    (aten.index_select.default, (meta(5, 3), 0, torch.zeros(2, dtype=torch.long, device="meta"))),
    (aten.constant_pad_nd.default, (meta(2, 3), [1, 1])),
    (aten.embedding.default, (meta(10, 4), torch.zeros(3, dtype=torch.long, device="meta"))),
])
def test_data_movement_has_no_flops(op, args):
    assert_cost(cost(op, *args), "data", 0, 0)


def test_clone_follows_its_pointwise_tag():
    # torch tags clone pointwise, and that tag decides before the data-movement list: 2x3 = 6 elements,
    # 6 FLOPs, kind elementwise (so a contiguous copy fuses into a chain instead of starting a kernel).
    assert_cost(cost(aten.clone.default, meta(2, 3)), "elementwise", 0, 6)


@pytest.mark.parametrize("op, args", [
    (aten.zeros.default, ([2, 3],)),
    (aten.arange.default, (6,)),
])
def test_creation_has_no_flops(op, args):
    assert_cost(cost(op, *args, device="meta"), "creation", 0, 0)


@pytest.mark.parametrize("op, args", [
    (aten.view.default, (meta(2, 6), [3, 4])),
    (aten.t.default, (meta(2, 6),)),
    (aten.permute.default, (meta(2, 3, 4), [2, 0, 1])),
    (aten.expand.default, (meta(1, 3), [4, 3])),
    (aten.slice.Tensor, (meta(5, 3), 0, 1, 4)),
    (aten._unsafe_view.default, (meta(2, 6), [12])),
])
def test_views_are_free(op, args):
    assert is_view_op(op)
    assert_cost(cost(op, *args), "view", 0, 0)


def test_op_without_rule_is_named_uncosted():
    # cumprod has no formula and does real work: kind "other", costed False (never a silent 0 passed as costed).
    c = cost(aten.cumprod.default, meta(4, 5), 1)
    assert (c.kind, c.macs, c.flops, c.costed) == ("other", 0, 0, False)
    assert "cumprod" not in registered_formulas()


def test_op_returning_no_tensor_is_nothing_to_cost():
    # aten.is_same_size returns a bool: no tensor, nothing to cost, and nothing to report as uncosted.
    c = cost(aten.is_same_size.default, meta(2), meta(2))
    assert (c.kind, c.flops, c.costed) == ("other", 0, True)


# ---- bytes, as the tracer charges them -----------------------------------------------------------
class _Tiny(nn.Module):
    """conv (3->4, 3x3, pad 1, no bias) -> relu -> flatten -> cat with its negation -> linear (64->2) -> cumprod."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.fc = nn.Linear(64, 2)

    def forward(self, x):
        y = torch.relu(self.conv(x)).flatten(1)
        return self.fc(torch.cat([y, -y], 0)).cumprod(1)


def _trace_tiny(dtype: torch.dtype):
    built = BuiltModel(name="tiny", source="user", build=_Tiny, input_shape=[1, 3, 4, 4], batch=1,
                       make_inputs=lambda device, dt: (torch.zeros(1, 3, 4, 4, device=device, dtype=dt),))
    return trace(built, dtype=dtype, tracers=("meta",))


@pytest.mark.parametrize("dtype, size", [(torch.float32, 4), (torch.float16, 2)])
def test_op_bytes_are_inputs_weights_and_outputs_at_dtype_size(dtype, size):
    mg = _trace_tiny(dtype)
    rows = [(o.target, o.bytes_read, o.weight_bytes, o.bytes_written) for o in mg.ops]
    # conv: reads x 1*3*4*4 = 48 elements, weight 4*3*3*3 = 108, writes 1*4*4*4 = 64.
    # relu: 64 in, 64 out. flatten: a view, 0 bytes. neg: 64 in, 64 out. cat: 2 x 64 in, 128 out.
    # t (of the fc weight): a view, 0. addmm: reads the 2x64 = 128 activations, weights 2 (bias) + 2*64 = 130,
    # writes 2x2 = 4. cumprod: 4 in, 4 out.
    elements = [
        ("aten.convolution.default", 48, 108, 64),
        ("aten.relu.default", 64, 0, 64),
        ("aten.view.default", 0, 0, 0),
        ("aten.neg.default", 64, 0, 64),
        ("aten.cat.default", 128, 0, 128),
        ("aten.t.default", 0, 0, 0),
        ("aten.addmm.default", 128, 130, 4),
        ("aten.cumprod.default", 4, 0, 4),
    ]
    assert rows == [(t, r * size, w * size, o * size) for t, r, w, o in elements]


def test_traced_costs_and_uncosted_names():
    mg = _trace_tiny(torch.float32)
    # conv 64 outputs x 27 = 1728 MACs; addmm 2x2 outputs x 64 = 256 MACs -> model MACs 1984.
    # FLOPs: 2 x 1984 = 3968 + relu 64 + neg 64 (views, cat, cumprod 0) = 4096.
    assert (mg.info.macs, mg.info.flops) == (1984, 4096)
    assert [o.name for o in mg.uncosted] == ["cumprod_7"]
