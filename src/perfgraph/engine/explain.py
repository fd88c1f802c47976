"""What a model mapping rests on, in words and rows: the energy split with each figure's provenance, the
on-chip capacity line, and the per-kernel table of `perfgraph analyze MODEL --hardware CHIP --kernels`.

Energy split (`energy_split`)::

    compute  = sum of the kernels' FLOPs x pJ/FLOP(precision used)
    memory   = per level: sum of the kernels' bytes at that level x pJ/byte(level)
    static   = static_w x the model's latency (the latency the total is charged for)
    total    = compute + sum(memory) + static          (= ModelMapping.energy_per_batch_j)

Each part carries the kind of its figure -- a citation, or ``derived`` / ``estimate`` / ``assumption`` as
the chip YAML states it -- so a result dominated by an assumed static power says so.
"""

from __future__ import annotations

from typing import Any

from perfgraph.hardware.sources import SOURCE_PREFIXES
from perfgraph.hardware.spec import HardwareSpec


def provenance(source: str | None) -> str:
    """'derived' | 'estimate' | 'assumption' | 'detected' | 'calibrated' | 'sourced' | 'no source'."""
    if not source:
        return "no source"
    for prefix in SOURCE_PREFIXES:
        if source.startswith(prefix):
            return prefix.rstrip(":")
    return "sourced"


def _static_note(hw: HardwareSpec) -> str:
    src = hw.source_of("power.static_w") or ""
    kind = provenance(src)
    share = hw.static_w / hw.tdp_w if hw.tdp_w else 0.0
    if kind == "assumption":
        return f"assumption, {share:.0%} of TDP ({hw.static_w:g} W of {hw.tdp_w:g} W)"
    return f"{kind}, {hw.static_w:g} W"


def energy_split(kernels, hw: HardwareSpec, latency_s: float) -> dict[str, Any]:
    """The energy of one forward pass by part (module docstring); `latency_s` is the latency the model's
    total charges static power for (`ModelMapping.latency_sequential_s`)."""
    compute = sum(k.energy_compute_j for k in kernels)
    memory: dict[str, float] = {}
    for k in kernels:
        for level, joules in k.details.get("energy_memory_by_level_j", {}).items():
            memory[level] = memory.get(level, 0.0) + float(joules)
    static = hw.static_w * latency_s
    total = compute + sum(memory.values()) + static
    used = sorted({k.precision_used for k in kernels if k.kernel != "empty"})
    labels = {"compute": ", ".join(
        f"{p}: {provenance(hw.source_of(f'energy.pj_per_flop.{p}'))}, {hw.pj_per_flop.get(p, 0.0):.3g} pJ/op"
        for p in used) or "no compute"}
    for level, joules in memory.items():
        labels[f"memory {level}"] = _level_label(hw, level, joules, kernels)
    labels["static"] = f"static power: {_static_note(hw)}"
    return {"total_j": total, "compute_j": compute, "memory_j": memory, "static_j": static,
            "static_w": hw.static_w, "labels": labels}


def _level_label(hw: HardwareSpec, level: str, joules: float, kernels) -> str:
    """The provenance of a level's energy per byte; a level the spec gives none for says what stood in."""
    pj = next((lv.energy_pj_per_byte for lv in hw.memory if lv.name == level), None)
    if pj:
        return f"{provenance(hw.source_of(f'memory.{level}.energy_pj_per_byte'))}, {pj:g} pJ/B"
    nbytes = sum(k.details.get("level_bytes", {}).get(level, 0.0) for k in kernels)
    if joules > 0 and nbytes > 0:
        return f"assumption: no figure for {level}, {hw.dram.name}'s {joules / nbytes * 1e12:.3g} pJ/B used"
    return f"no energy figure for {level} in the spec: counted as 0"


def energy_line(split: dict[str, Any]) -> str:
    """'147 mJ = compute 9.1 mJ (6 %; derived, ...) + memory HBM3 16 mJ (...) + static 122 mJ (83 %; ...)'."""
    total = split["total_j"] or 1.0
    parts = [f"compute {_mj(split['compute_j'])} ({split['compute_j'] / total:.0%}; {split['labels']['compute']})"]
    for level, joules in split["memory_j"].items():
        parts.append(f"memory {level} {_mj(joules)} ({joules / total:.0%}; {split['labels'][f'memory {level}']})")
    parts.append(f"static {_mj(split['static_j'])} ({split['static_j'] / total:.0%}; {split['labels']['static']})")
    return f"{_mj(split['total_j'])} = " + " + ".join(parts)


def _mj(joules: float) -> str:
    for factor, unit in ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ")):
        if abs(joules) >= factor:
            return f"{joules / factor:.3g} {unit}"
    return f"{joules / 1e-9:.3g} nJ"


def _mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:.4g} MB"


def onchip_line(placement: dict[str, Any], batch: int) -> str:
    """'fits on chip: no (29.5 MB > 8.39 MB SRAM), streams 21.3 MB per inference over host-PCIe'."""
    per = "per inference" if batch <= 1 else f"per batch of {batch}"
    streamed = f"streams {_mb(placement.get('streamed_bytes', 0.0))} {per} over {placement['stream_level']}"
    if placement.get("fits_on_chip") is None:
        return f"fits on chip: n/a (no software-managed on-chip store; caches modelled per kernel), {streamed}"
    need = placement["weights_bytes"] + placement["peak_activation_bytes"]
    cap = f"{_mb(placement['store_capacity_bytes'])} {placement['store']}"
    if placement["fits_on_chip"]:
        return f"fits on chip: yes ({_mb(need)} of {cap}), {streamed}"
    return f"fits on chip: no ({_mb(need)} > {cap}), {streamed}"


def kernel_rows(mm, mg) -> list[dict[str, Any]]:
    """One row per kernel: pattern, units allocated of total, bound, parallelism (batch x channels x
    spatial), latency and utilisation -- the mapping efficiency of a compute-bound kernel, None for one
    bound by memory or launch overhead (`KernelMapping.compute_utilization`)."""
    by_index = {sg.index: sg for sg in mg.subgraphs}
    rows = []
    for k in sorted(mm.kernels, key=lambda k: k.subgraph_index):
        sg = by_index.get(k.subgraph_index)
        par = ((int(sg.parallelism_batch), int(sg.parallelism_channels), int(sg.parallelism_spatial))
               if sg is not None else (0, 0, 0))
        rows.append({
            "index": k.subgraph_index, "pattern": k.details.get("pattern", sg.pattern if sg else ""),
            "kernel": k.kernel, "rule": k.details.get("rule", ""), "units_allocated": k.units_allocated,
            "units_total": k.units_total, "bound": k.bound, "parallelism_batch": par[0],
            "parallelism_channels": par[1], "parallelism_spatial": par[2], "latency_s": k.latency_s,
            "utilization": k.compute_utilization, "mapping_efficiency": k.utilization,
            "serving_level": k.details.get("serving_level", ""),
        })
    return rows
