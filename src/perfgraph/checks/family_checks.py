"""A model graph checked against its family's profile (`perfgraph.checks.families`): published MACs,
parameters and depth per member, and the family's ranges for conv share, work share, depthwise convs,
activations and intensity; a figure the graph was traced differently for is skipped with the reason."""

from __future__ import annotations

import math

from perfgraph.checks.families import ACTIVATION_OPS, FAMILIES, TV
from perfgraph.checks.results import FAIL, MAC_KINDS, PASS, SKIP, CheckResult
from perfgraph.graph import ModelGraph


def _activation_names(mg: ModelGraph) -> set[str]:
    found = set()
    for op in mg.ops:
        base = op.target.split(".")[1] if op.target.startswith("aten.") and "." in op.target else op.target
        base = base.rstrip("_")
        if base in ACTIVATION_OPS:
            found.add(ACTIVATION_OPS[base])
    return found


def _is_depthwise(op) -> bool:
    return op.kind == "conv" and op.groups > 1 and len(op.output_shape) >= 2 and op.groups == op.output_shape[1]


def _fmt_g(x: float) -> str:
    return f"{x / 1e9:.3f} G"


def family_checks(mg: ModelGraph, family: str) -> list[CheckResult]:
    prof = FAMILIES[family]
    info = mg.info
    base = info.name.split(":", 1)[1] if info.name.startswith("torchvision:") else info.name
    member = prof.members.get(base)
    batch = max(int(info.batch or 1), 1)
    crop = info.input_shape[-1] if info.input_shape else None
    results: list[CheckResult] = []

    def add(name: str, ok: bool | None, measured: str, expected: str, source: str, why_skip: str = "") -> None:
        status = SKIP if ok is None else (PASS if ok else FAIL)
        results.append(CheckResult(name, status, measured, expected, group=family, source=source,
                                   detail=why_skip if ok is None else ""))

    # --- per member: published MACs, parameters, depth --------------------------------------------
    if member is None:
        add("published", None, "-", f"{', '.join(prof.members)}", TV,
            f"{info.name} is not a profiled member: MACs, params, depth not checked")
    else:
        macs = info.macs / batch
        tol = max(0.02 * member.macs, 0.5e6)  # 2 %, or the 3 decimals torchvision prints
        if crop != member.crop:
            add("macs", None, _fmt_g(macs), f"{_fmt_g(member.macs)} at {member.crop}px", f"{TV}; {member.paper}",
                f"traced at {crop}px, published at {member.crop}px")
        else:
            add("macs", abs(macs - member.macs) <= tol, f"{_fmt_g(macs)}/sample",
                f"{_fmt_g(member.macs)} ± {tol / member.macs:.0%}", f"{TV} (GFLOPS = conv+matmul MACs); {member.paper}")
        add("params", abs(info.params - member.params) <= 0.005 * member.params, f"{info.params:,}",
            f"{member.params:,} ± 0.5%", f"{TV}; {member.paper}")
        lo, hi = math.floor(0.9 * member.depth), math.ceil(1.1 * member.depth)
        add("depth", lo <= info.depth <= hi, f"{info.depth} stages", f"{lo}-{hi} (≈{member.depth})",
            member.depth_source)

    # --- family-wide structure ------------------------------------------------------------------
    mac_total = sum(op.macs for op in mg.ops)
    conv_macs = sum(op.macs for op in mg.ops if op.kind == "conv")
    if mac_total:
        share = conv_macs / mac_total
        add("conv_share", prof.conv_share.contains(share), f"{share:.4f}",
            f"{prof.conv_share.lo:g}-{prof.conv_share.hi:g}", prof.conv_share.source)
    else:
        add("conv_share", False, "no MACs", f"{prof.conv_share.lo:g}-{prof.conv_share.hi:g}", prof.conv_share.source)

    work = sum(2 * op.macs for op in mg.ops if op.kind in MAC_KINDS)
    flops = sum(op.flops for op in mg.ops)
    work_share = work / flops if flops else 0.0
    add("work_share", prof.work_share.contains(work_share), f"{work_share:.4f}",
        f"{prof.work_share.lo:g}-{prof.work_share.hi:g}", prof.work_share.source)

    dw = [op for op in mg.ops if _is_depthwise(op)]
    dw_macs = sum(op.macs for op in dw)
    measured = f"{len(dw)} depthwise convs" + (f" ({dw_macs / mac_total:.1%} of MACs)" if dw and mac_total else "")
    add("depthwise", bool(dw) == prof.depthwise, measured, "present" if prof.depthwise else "none",
        prof.depthwise_source)

    found = _activation_names(mg)
    required = set(member.activations if member and member.activations else prof.activations)
    allowed = required | set(prof.gates)
    ok = required <= found and found <= allowed
    add("activations", ok, ", ".join(sorted(found)) or "none",
        ", ".join(sorted(required)) + (f" (may also use {', '.join(sorted(allowed - required))})"
                                       if allowed - required else ""),
        prof.activations_source)

    external = sum(sg.external_bytes for sg in mg.subgraphs)
    intensity = sum(sg.flops for sg in mg.subgraphs) / external if external else 0.0
    expected = f"{prof.intensity.lo:g}-{prof.intensity.hi:g} FLOP/B"
    why = ""
    if batch != 1:
        why = f"range is for batch 1 (traced at batch {batch})"
    elif info.dtype != "fp32":
        why = f"range is for fp32 (traced as {info.dtype})"
    elif member is not None and crop != member.crop:
        why = f"range is for the {member.crop}px eval crop (traced at {crop}px)"
    add("intensity", None if why else prof.intensity.contains(intensity), f"{intensity:.2f} FLOP/B", expected,
        prof.intensity.source, why)
    return results
