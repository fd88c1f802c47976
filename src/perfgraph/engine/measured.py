"""Kernels costed from a chip's measured microbenchmarks (the `microbench` tier, `hardware.microbench`).

The datasheet rules (`engine.gpu`, `engine.cpu`, ...) give a kernel's time at the chip's ideal rates.  Where
the chip file carries measurements for the mode being mapped, a kernel's device time is also read off the
measured curves, and the slower of the two is kept (a measured rate folds in what the ideal model leaves
out -- clocks under load, library heuristics, small sizes that never reach peak -- and a kernel cannot beat
the datasheet rules either)::

    measured = max( matmul_s(flops) or conv_s(flops) at the precision computed,   GEMM kernels
                    transfer_s(bytes moved) )                                     every kernel
    device   = max(datasheet device time, measured)

Kernels smaller than the smallest measured size take the smallest measured point's time
(`hardware.microbench`): a kernel never gets faster by being smaller than what was measured.
"""

from __future__ import annotations

import dataclasses

from perfgraph.engine.common import KernelMapping
from perfgraph.hardware.microbench import Curves


def curves_for(hw) -> Curves | None:
    """The measured curves of `hw` in the mode it is mapped at (its default mode when none), or None."""
    section = getattr(hw, "calibration", None)
    if section is None:
        return None
    default_mode = (hw.raw.get("power") or {}).get("default_mode")
    mode = section.for_mode(hw.mode, default_mode)
    return Curves(mode) if mode is not None else None


def measured_device_s(k: KernelMapping, anchor_kind: str, curves: Curves) -> tuple[float, str] | None:
    """(the kernel's device time from the measured curves, which curve set it: "measured conv" |
    "measured matmul" | "measured bandwidth") -- module docstring; None when nothing measured applies
    (e.g. no points at its precision and no bandwidth curve)."""
    times = []
    if k.kernel == "gemm" and k.flops > 0:
        rule, name = (curves.conv_s, "measured conv") if anchor_kind == "conv" else (curves.matmul_s, "measured matmul")
        t = rule(k.flops, k.precision_used)
        if t is not None:
            times.append((t, name))
    if k.bytes > 0:
        t = curves.transfer_s(k.bytes)
        if t is not None:
            times.append((t, "measured bandwidth"))
    # the compute curve wins a tie, as a compute-bound kernel is reported compute-bound
    return max(times, key=lambda tw: (tw[0], tw[1] != "measured bandwidth")) if times else None


def with_device_time(k: KernelMapping, device_s: float, static_w: float, why: str) -> KernelMapping:
    """`k` with its device time (latency without the launch overhead) raised to `device_s`."""
    old = k.latency_s - k.overhead_s
    if device_s <= old:
        return k
    latency = device_s + k.overhead_s
    e_static = static_w * latency
    details = dict(k.details, measured=why, datasheet_device_s=old)
    if k.overhead_s >= device_s:
        bound = "overhead"
    else:
        bound = "memory" if why == "measured bandwidth" else "compute"
    return dataclasses.replace(k, latency_s=latency, energy_static_j=e_static,
                               energy_j=k.energy_compute_j + k.energy_memory_j + e_static, bound=bound,
                               details=details)


def apply_measured(k: KernelMapping, anchor_kind: str, curves: Curves, static_w: float) -> tuple[KernelMapping, bool]:
    """(kernel, used): the kernel with its measured device time applied where that is slower."""
    measured = measured_device_s(k, anchor_kind, curves)
    if measured is None:
        return k, False
    t, why = measured
    return with_device_time(k, t, static_w, why), True
