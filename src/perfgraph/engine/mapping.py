"""Map one subgraph (kernel) onto one chip: `map_subgraph(sg, ops, hw, precision) -> KernelMapping`.

The rule depends on the chip's kind (one module each, with the model in its docstring):

* GPU — `engine.gpu`: threads -> warps -> thread blocks -> SMs, occupancy, wave quantisation.
* CPU — `engine.cpu`: cores x SIMD lanes / AMX tiles, work split over cores, cache-fit tiling.
* TPU — `engine.tpu`: systolic MXUs, K/N padded to the array, depthwise packing, padding waste.
* KPU — `engine.kpu`: output-stationary domain-flow tiles, M/N padded to the PE array.

A subgraph whose ops include a MAC op (conv, matmul, attention) is mapped as a GEMM shaped by its
dominant MAC op (`common.gemm_shape`) — except depthwise convolutions on GPUs and CPUs, which run as
direct vector kernels there; the rest are vector kernels.  A collective (anchor kind "collective": an
all-reduce, all-gather or send of a parallel graph) is costed by the chip's interconnect
(`engine.collective`).  A subgraph with neither FLOPs nor
bytes (pure views) launches nothing: zero latency, bound "overhead".

Precision: the chip's peak for the requested precision, or its documented fallback (`precision_fallback`
in the spec, e.g. fp32 -> bf16 on a TPU); a precision with neither raises
`PrecisionNotSupportedError`.  The roofline and energy model are in `engine.common`.
"""

from __future__ import annotations

from typing import Sequence

from perfgraph.engine import collective, cpu, gpu, kpu, tpu
from perfgraph.engine.common import (
    KernelMapping, Residency, anchor_op, finish, gemm_shape, select_ops,
)
from perfgraph.graph import Op, Subgraph
from perfgraph.hardware.spec import HardwareSpec, PrecisionNotSupportedError  # noqa: F401 (re-export)

RULES = {"GPU": gpu, "CPU": cpu, "TPU": tpu, "KPU": kpu}
# Kinds whose rule takes the schedule's cache residency (the others keep their cache-fit rule).
RESIDENCY_KINDS = ("GPU",)
# GPUs and CPUs run depthwise convolutions as direct kernels on their vector units; systolic arrays
# (TPU, KPU) have no such path and pay the padding of the GEMM mapping.
DIRECT_DEPTHWISE_KINDS = ("GPU", "CPU")


def map_subgraph(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str,
                 residency: Residency | None = None, compute_precision: str | None = None) -> KernelMapping:
    """Map one subgraph onto `hw` at `precision` (fp32 | tf32 | fp16 | bf16 | int8).

    `ops` may be the whole model's op list (selected by `sg.op_indices`) or just the subgraph's ops.
    `residency`: what the schedule leaves in the last-level cache for this kernel (`common.Residency`,
    computed by `model_mapping.map_model`); used by the GPU rule; None = cold (everything from DRAM).
    `compute_precision`: what the kernel computes in when that differs from its storage precision (PyTorch
    runs fp32 convolutions as TF32 on GPUs that have it, `engine.runtime.PrecisionRules`).
    """
    precision = precision.lower()
    prec_used = hw.resolve_precision(compute_precision or precision)
    rule = RULES[hw.kind]
    sg_ops = select_ops(sg, ops)
    if sg.flops <= 0 and sg.external_bytes <= 0:
        return finish(
            sg=sg, hw=hw, precision=precision, precision_used=prec_used, kernel="empty", flops=0,
            bytes_by_level={}, bandwidth_by_level={}, units_allocated=0, utilization=0.0, overhead_s=0.0,
            peak=hw.peak(prec_used), details={"rule": "empty", "padding_waste": 0.0},
        )
    if sg.anchor_kind == "collective":  # a communication kernel: costed by the chip's interconnect
        return collective.map_collective(sg, sg_ops, hw, precision, prec_used)
    anchor = anchor_op(sg, sg_ops)
    if anchor is not None and (sg.macs > 0 or anchor.macs > 0):
        shape = gemm_shape(anchor)
        if shape.depthwise and hw.kind in DIRECT_DEPTHWISE_KINDS:
            km = _call(rule.map_vector, residency, sg, sg_ops, hw, precision, prec_used)
            km.details["gemm"] = shape.as_dict()
            km.details["note"] = "depthwise conv as a direct (non-GEMM) kernel"
        else:
            km = _call(rule.map_gemm, residency, sg, sg_ops, hw, precision, prec_used, shape)
    else:
        km = _call(rule.map_vector, residency, sg, sg_ops, hw, precision, prec_used)
    km.details.setdefault("anchor_op", anchor.name if anchor is not None else "")
    if residency is not None and hw.kind in RESIDENCY_KINDS:
        km.details.setdefault("residency", {"input_bytes": residency.input_bytes,
                                            "output_resident": residency.output_resident})
    km.details.setdefault("pattern", sg.pattern)
    return km


def _call(fn, residency: Residency | None, *args):
    """Call a rule, passing the residency only to the kinds that model it."""
    return fn(*args, residency=residency) if residency is not None else fn(*args)
