"""Hardware specifications: one YAML file per chip, every number with its source.

A spec file (see ``hardware/data/*.yaml``) is a mapping::

    id: h100-sxm                      # lowercase slug; `get()` also matches aliases and the name
    name: NVIDIA H100 SXM5 80GB
    kind: GPU                         # CPU | GPU | TPU | KPU
    vendor: NVIDIA
    aliases: [h100, h100-sxm5]
    status: released                  # released | planned (KPU configurations)
    peak_flops:                       # DENSE FLOP/s per precision (int8 in OP/s), never sparsity figures
      fp32: 66.9e12
      fp16: 989.4e12
      source: "NVIDIA H100 datasheet ..."
    vector_flops: {fp32: 66.9e12, source: ...}   # optional: non-matrix (CUDA core / SIMD / VPU) rate
    achievable_fraction:              # optional: measured fraction of the dense peak that large GEMMs
      bf16: 0.803                     # sustain (best-shape matmul benchmarks); used by the GPU GEMM rule;
      source: ...                     # a precision not listed runs at the full peak
    precision_fallback: {fp32: bf16}  # optional: precision -> precision the chip computes it in
    clock_ghz: {base: 1.59, boost: 1.98, source: ...}
    compute_units:
      type: SM                        # SM | core | MXU | tile
      count: 132
      source: ...
      gpu: {warp_size: 32, max_threads_per_sm: 2048, ..., source: ...}   # or cpu: / tpu: / kpu:
      #   gpu may give l2_bytes_per_clk_per_sm: the L2 -> SM load bandwidth of one SM (the GPU memory rule)
    memory:                           # fastest first; exactly the levels the mapping rules may use
      - {name: L2, kind: cache, scope: shared, capacity_bytes: 52428800, source: ...}
      - {name: HBM3, kind: dram, scope: shared, capacity_bytes: 80e9,
         bandwidth_bytes_per_s: 3.35e12, energy_pj_per_byte: 31.2, source: ..., sources: {...}}
    power:
      tdp_w: 700
      static_w: 150                   # optional; default 25 % of TDP (stated assumption)
      default_mode: MAXN              # optional
      modes: {15W: {tdp_w: 15, units: 4, clock_ghz: 0.42, peak_flops: {...}, source: ...}}
      source: ...
    energy: {pj_per_flop: {fp16: 0.4, source: ...}}   # optional; derived from TDP when absent
    overhead: {launch_s: 5.0e-6, source: ...}
    interconnect:                     # optional: the chip-to-chip link of tensor / pipeline parallelism
      name: NVLink 4                  # (engine.collective); bandwidth per direction, per chip; latency
      bandwidth_bytes_per_s: 450e9    # per ring step
      latency_s: 0.47e-6
      source: ...

**Sources.** Every number must carry a source.  Inside any mapping, a ``source:`` string covers every
numeric field of that mapping (numbers and lists of numbers), and ``sources: {field: "..."}`` covers (or
overrides) single fields — a ``sources`` entry naming a nested mapping covers every number inside it.
Otherwise nested mappings do not inherit: each carries its own ``source``.  A source is a citation
(datasheet, whitepaper, vendor page URL or document title), or a string starting with ``derived:`` (with
the formula), ``estimate:`` / ``assumption:`` (with the reasoning), ``detected:`` (local machine) or
``calibrated:`` (measured).  ``validate()`` reports every number without one.

**Units.** FLOP/s, bytes, bytes/s, watts, seconds, GHz.  Per-unit memory levels give the capacity of one
unit's slice; ``bandwidth_bytes_per_s`` is always the aggregate over the whole chip.

**Derived at load.** ``static_w`` (25 % of TDP when not given) and ``pj_per_flop`` per precision (when
not given): ``(tdp_w - static_w - dram_bandwidth * dram_pJ/B) / peak(precision)`` with the compute budget
floored at 25 % of the dynamic power — the energy of one operation when the chip runs at its power limit
with the memory system saturated, an upper-bound style estimate.  The formula and its numbers are stored
as that value's source.

User files: ``$PERFGRAPH_HARDWARE_PATH`` (``os.pathsep``-separated directories) and
``~/.config/perfgraph/hardware`` (or ``$XDG_CONFIG_HOME/perfgraph/hardware``); a user file with the id of
a packaged one replaces it.  The special name ``local`` detects the machine this runs on
(`perfgraph.hardware.local`).
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

KINDS = ("CPU", "GPU", "TPU", "KPU")
PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "int8")
LEVEL_KINDS = ("register", "sram", "cache", "dram", "host")
MAIN_LEVEL_KINDS = ("dram", "host")
SCOPES = ("per_unit", "shared")
UNIT_DETAIL_KEY = {"CPU": "cpu", "GPU": "gpu", "TPU": "tpu", "KPU": "kpu"}
REQUIRED_UNIT_DETAILS = {
    "GPU": ("warp_size", "max_threads_per_sm", "max_warps_per_sm", "max_blocks_per_sm"),
    "CPU": ("simd_width_bits",),
    "TPU": ("mxu_dims",),
    "KPU": ("pe_array",),
}

# Plausibility limits: one chip, dense figures.
MAX_PEAK_FLOPS = 10e15  # 10 PFLOP/s dense
MAX_MAIN_MEMORY_BW = 10e12  # 10 TB/s for the device memory of one chip
MAX_ONCHIP_BW = 1000e12  # aggregate SRAM/register bandwidth
MAX_CLOCK_GHZ = 6.5
MAX_TDP_W = 2000.0
MAX_CAPACITY_BYTES = 2e12
MAX_LAUNCH_S = 1e-2
MAX_PJ = 1000.0

DEFAULT_STATIC_FRACTION = 0.25
MIN_COMPUTE_BUDGET_FRACTION = 0.25

TOP_KEYS = {
    "id", "name", "kind", "vendor", "aliases", "status", "notes", "peak_flops", "vector_flops",
    "achievable_fraction", "precision_fallback", "clock_ghz", "compute_units", "memory", "power", "energy", "overhead",
    "source", "sources", "calibration", "interconnect",
}
INTERCONNECT_KEYS = {"name", "bandwidth_bytes_per_s", "latency_s", "source", "sources"}
MAX_LINK_BW = 10e12  # per direction, one chip
MAX_LINK_LATENCY_S = 1e-3
MODE_KEYS = {
    "tdp_w", "static_w", "clock_ghz", "units", "peak_flops", "vector_flops", "dram_bandwidth_bytes_per_s",
    "cpu_cores_online", "cpu_clock_ghz", "notes", "source", "sources",
}
SOURCE_PREFIXES = ("derived:", "estimate:", "assumption:", "detected:", "calibrated:")

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(@[a-z0-9._-]+)?$")  # "@mode" only on derived specs


class HardwareSpecError(ValueError):
    """A spec file (or dict) that does not load or validate; the message is one line naming the file."""


class UnknownHardwareError(LookupError):
    """`get()` found no chip by that name; the message lists near matches."""

    def __str__(self) -> str:  # LookupError/KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class PrecisionNotSupportedError(ValueError):
    """The chip has no peak for that precision and no documented fallback."""


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_num_list(x: Any) -> bool:
    return isinstance(x, list) and len(x) > 0 and all(_is_num(v) for v in x)


# ----------------------------------------------------------------------------------------------- validate


def _check_sources(node: Any, path: str, errors: list[str]) -> None:
    """Every number (or list of numbers) needs its mapping's `source` or a `sources` entry."""
    if isinstance(node, dict):
        default = node.get("source")
        per = node.get("sources")
        if per is not None and not isinstance(per, dict):
            errors.append(f"{path or '<top>'}.sources must be a mapping of field -> source")
            per = {}
        per = per or {}
        if default is not None and not (isinstance(default, str) and default.strip()):
            errors.append(f"{path or '<top>'}.source must be a non-empty string")
        for key in per:
            if key not in node:
                errors.append(f"{path + '.' if path else ''}sources.{key} names no field of this mapping")
        for key, value in node.items():
            if key in ("source", "sources") or (not path and key == "calibration"):
                continue  # the calibration section's schema requires a source per mode (hardware.microbench)
            p = f"{path}.{key}" if path else str(key)
            if _is_num(value) or _is_num_list(value):
                src = per.get(key, default)
                if not (isinstance(src, str) and src.strip()):
                    errors.append(f"{p}: number without a source")
            elif isinstance(value, (dict, list)):
                src = per.get(key)
                if isinstance(src, str) and src.strip():
                    continue  # a `sources` entry naming a nested mapping covers every number inside it
                _check_sources(value, p, errors)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = item.get("name", i) if isinstance(item, dict) else i
            _check_sources(item, f"{path}[{label}]", errors)


def _check_numbers(node: Any, path: str, errors: list[str]) -> None:
    """No negative, NaN or infinite number anywhere."""
    if isinstance(node, dict):
        for key, value in node.items():
            _check_numbers(value, f"{path}.{key}" if path else str(key), errors)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_numbers(value, f"{path}[{i}]", errors)
    elif _is_num(node):
        if isinstance(node, float) and not math.isfinite(node):
            errors.append(f"{path}: {node} is not a finite number")
        elif node < 0:
            errors.append(f"{path}: negative value {node}")


def _check_precision_map(d: Any, path: str, errors: list[str], required: bool, limit: float) -> None:
    if d is None:
        if required:
            errors.append(f"missing field: {path}")
        return
    if not isinstance(d, dict):
        errors.append(f"{path} must be a mapping of precision -> FLOP/s")
        return
    found = 0
    for key, value in d.items():
        if key in ("source", "sources"):
            continue
        if key not in PRECISIONS:
            errors.append(f"{path}.{key}: unknown precision {key!r} (known: {', '.join(PRECISIONS)})")
            continue
        if not _is_num(value):
            errors.append(f"{path}.{key}: expected a number, got {value!r}")
            continue
        found += 1
        if value <= 0:
            errors.append(f"{path}.{key}: must be > 0")
        elif value > limit:
            errors.append(f"{path}.{key}: implausible {value:.3g} FLOP/s (> {limit:.0e} dense for one chip)")
    if required and found == 0:
        errors.append(f"{path}: no precision given")


def _check_fractions(d: Any, path: str, errors: list[str]) -> None:
    """An optional mapping precision -> fraction in (0, 1] (e.g. `achievable_fraction`)."""
    if d is None:
        return
    if not isinstance(d, dict):
        errors.append(f"{path} must be a mapping of precision -> fraction")
        return
    for key, value in d.items():
        if key in ("source", "sources"):
            continue
        if key not in PRECISIONS:
            errors.append(f"{path}.{key}: unknown precision {key!r} (known: {', '.join(PRECISIONS)})")
        elif not _is_num(value) or not 0 < value <= 1:
            errors.append(f"{path}.{key}: must be a fraction in (0, 1], got {value!r}")


def _num_in_range(d: dict, key: str, path: str, errors: list[str], lo: float, hi: float,
                  required: bool = True, what: str = "") -> None:
    if key not in d or d[key] is None:
        if required:
            errors.append(f"missing field: {path}.{key}" if path else f"missing field: {key}")
        return
    v = d[key]
    p = f"{path}.{key}" if path else key
    if not _is_num(v):
        errors.append(f"{p}: expected a number, got {v!r}")
    elif v < lo or v > hi:
        errors.append(f"{p}: implausible value {v:g}{what} (expected {lo:g}..{hi:g})")


def validate(d: Any) -> list[str]:
    """Return a list of problems with a spec mapping (empty when it is valid)."""
    errors: list[str] = []
    if not isinstance(d, dict):
        return [f"a hardware spec must be a mapping, got {type(d).__name__}"]
    for key in d:
        if key not in TOP_KEYS:
            errors.append(f"unknown field {key!r}")
    for key in ("id", "name", "kind", "vendor"):
        if key not in d:
            errors.append(f"missing field: {key}")
        elif not isinstance(d[key], str) or not d[key].strip():
            errors.append(f"{key} must be a non-empty string")
    if isinstance(d.get("id"), str) and not _ID_RE.match(d["id"]):
        errors.append(f"id {d['id']!r} must be a lowercase slug (letters, digits, . _ -)")
    kind = d.get("kind")
    if isinstance(kind, str) and kind not in KINDS:
        errors.append(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    aliases = d.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        errors.append("aliases must be a list of strings")

    _check_numbers(d, "", errors)
    if "calibration" in d:
        from perfgraph.hardware.microbench import parse_calibration

        try:
            parse_calibration(d["calibration"])
        except ValueError as exc:
            errors.append(str(exc))
    _check_precision_map(d.get("peak_flops"), "peak_flops", errors, True, MAX_PEAK_FLOPS)
    _check_precision_map(d.get("vector_flops"), "vector_flops", errors, False, MAX_PEAK_FLOPS)
    _check_fractions(d.get("achievable_fraction"), "achievable_fraction", errors)
    peaks = d.get("peak_flops") if isinstance(d.get("peak_flops"), dict) else {}

    fb = d.get("precision_fallback")
    if fb is not None:
        if not isinstance(fb, dict):
            errors.append("precision_fallback must be a mapping precision -> precision")
        else:
            for k, v in fb.items():
                if k in ("source", "sources"):
                    continue
                if k not in PRECISIONS or v not in PRECISIONS:
                    errors.append(f"precision_fallback.{k}: unknown precision in {k!r} -> {v!r}")
                elif v not in peaks:
                    errors.append(f"precision_fallback.{k}: target {v!r} has no peak_flops entry")

    clock = d.get("clock_ghz")
    if not isinstance(clock, dict):
        errors.append("missing field: clock_ghz (mapping with base and/or boost)")
    else:
        if not any(k in clock for k in ("base", "boost")):
            errors.append("clock_ghz needs base or boost")
        for k in ("base", "boost"):
            _num_in_range(clock, k, "clock_ghz", errors, 1e-3, MAX_CLOCK_GHZ, required=False, what=" GHz")

    cu = d.get("compute_units")
    if not isinstance(cu, dict):
        errors.append("missing field: compute_units")
    else:
        if not isinstance(cu.get("type"), str):
            errors.append("missing field: compute_units.type")
        cnt = cu.get("count")
        if not (isinstance(cnt, int) and not isinstance(cnt, bool) and cnt >= 1):
            errors.append(f"compute_units.count must be an integer >= 1, got {cnt!r}")
        if isinstance(kind, str) and kind in UNIT_DETAIL_KEY:
            dk = UNIT_DETAIL_KEY[kind]
            det = cu.get(dk)
            if not isinstance(det, dict):
                errors.append(f"missing field: compute_units.{dk}")
            else:
                for req in REQUIRED_UNIT_DETAILS[kind]:
                    if req not in det:
                        errors.append(f"missing field: compute_units.{dk}.{req}")
                for dims in ("mxu_dims", "pe_array", "tile_array"):
                    if dims in det and not (_is_num_list(det[dims]) and len(det[dims]) == 2):
                        errors.append(f"compute_units.{dk}.{dims} must be a list of two numbers")

    mem = d.get("memory")
    if not isinstance(mem, list) or not mem:
        errors.append("missing field: memory (a non-empty list of levels)")
    else:
        mains = 0
        names = set()
        for i, lvl in enumerate(mem):
            if not isinstance(lvl, dict):
                errors.append(f"memory[{i}] must be a mapping")
                continue
            name = lvl.get("name")
            p = f"memory[{name if isinstance(name, str) else i}]"
            if not isinstance(name, str) or not name:
                errors.append(f"{p}: missing field: name")
            elif name in names:
                errors.append(f"{p}: duplicate level name")
            else:
                names.add(name)
            lk = lvl.get("kind")
            if lk not in LEVEL_KINDS:
                errors.append(f"{p}.kind: unknown level kind {lk!r} (known: {', '.join(LEVEL_KINDS)})")
            if lvl.get("scope") not in SCOPES:
                errors.append(f"{p}.scope must be one of {', '.join(SCOPES)}")
            _num_in_range(lvl, "capacity_bytes", p, errors, 1, MAX_CAPACITY_BYTES)
            limit = MAX_MAIN_MEMORY_BW if lk in MAIN_LEVEL_KINDS else MAX_ONCHIP_BW
            bw = lvl.get("bandwidth_bytes_per_s")
            if lk in MAIN_LEVEL_KINDS:
                mains += 1
                _num_in_range(lvl, "bandwidth_bytes_per_s", p, errors, 1e6, limit, what=" B/s")
                _num_in_range(lvl, "energy_pj_per_byte", p, errors, 1e-3, MAX_PJ)
            else:
                if bw is not None:
                    _num_in_range(lvl, "bandwidth_bytes_per_s", p, errors, 1e6, limit, what=" B/s")
                _num_in_range(lvl, "energy_pj_per_byte", p, errors, 1e-3, MAX_PJ, required=False)
        if mains == 0:
            errors.append("memory: no main-memory level (kind dram or host)")

    power = d.get("power")
    if not isinstance(power, dict):
        errors.append("missing field: power")
    else:
        _num_in_range(power, "tdp_w", "power", errors, 1e-3, MAX_TDP_W, what=" W")
        _num_in_range(power, "static_w", "power", errors, 0, MAX_TDP_W, required=False, what=" W")
        if _is_num(power.get("static_w")) and _is_num(power.get("tdp_w")) and power["static_w"] >= power["tdp_w"]:
            errors.append("power.static_w must be below power.tdp_w")
        modes = power.get("modes")
        if modes is not None:
            if not isinstance(modes, dict) or not modes:
                errors.append("power.modes must be a non-empty mapping of mode name -> settings")
            else:
                for mname, m in modes.items():
                    mp = f"power.modes.{mname}"
                    if not isinstance(m, dict):
                        errors.append(f"{mp} must be a mapping")
                        continue
                    for k in m:
                        if k not in MODE_KEYS:
                            errors.append(f"{mp}: unknown field {k!r}")
                    _num_in_range(m, "tdp_w", mp, errors, 1e-3, MAX_TDP_W, what=" W")
                    _num_in_range(m, "clock_ghz", mp, errors, 1e-3, MAX_CLOCK_GHZ, required=False, what=" GHz")
                    _num_in_range(m, "dram_bandwidth_bytes_per_s", mp, errors, 1e6, MAX_MAIN_MEMORY_BW,
                                  required=False, what=" B/s")
                    if "units" in m and not (isinstance(m["units"], int) and m["units"] >= 1):
                        errors.append(f"{mp}.units must be an integer >= 1")
                    if "peak_flops" in m:
                        _check_precision_map(m["peak_flops"], f"{mp}.peak_flops", errors, True, MAX_PEAK_FLOPS)
                        if isinstance(m["peak_flops"], dict):
                            mine = {k for k in m["peak_flops"] if k in PRECISIONS}
                            if mine != set(k for k in peaks if k in PRECISIONS):
                                errors.append(f"{mp}.peak_flops must list the same precisions as peak_flops")
                    if "vector_flops" in m:
                        _check_precision_map(m["vector_flops"], f"{mp}.vector_flops", errors, True, MAX_PEAK_FLOPS)
            dm = power.get("default_mode")
            if dm is not None and (not isinstance(modes, dict) or dm not in modes):
                errors.append(f"power.default_mode {dm!r} is not one of power.modes")

    energy = d.get("energy")
    if energy is not None:
        if not isinstance(energy, dict):
            errors.append("energy must be a mapping")
        else:
            for k in energy:
                if k not in ("pj_per_flop", "source", "sources"):
                    errors.append(f"energy: unknown field {k!r}")
            ppf = energy.get("pj_per_flop")
            if ppf is not None:
                if not isinstance(ppf, dict):
                    errors.append("energy.pj_per_flop must be a mapping precision -> pJ")
                else:
                    for k, v in ppf.items():
                        if k in ("source", "sources"):
                            continue
                        if k not in PRECISIONS:
                            errors.append(f"energy.pj_per_flop.{k}: unknown precision {k!r}")
                        elif not _is_num(v) or v <= 0 or v > MAX_PJ:
                            errors.append(f"energy.pj_per_flop.{k}: implausible value {v!r}")

    oh = d.get("overhead")
    if not isinstance(oh, dict):
        errors.append("missing field: overhead")
    else:
        _num_in_range(oh, "launch_s", "overhead", errors, 0, MAX_LAUNCH_S, what=" s")

    _check_interconnect(d.get("interconnect"), errors)
    _check_sources(d, "", errors)
    return errors


def _check_interconnect(ic: Any, errors: list[str]) -> None:
    """The optional `interconnect` mapping: a name, a bandwidth and a per-step latency (each sourced)."""
    if ic is None:
        return
    if not isinstance(ic, dict):
        errors.append("interconnect must be a mapping {name, bandwidth_bytes_per_s, latency_s, source}")
        return
    for k in ic:
        if k not in INTERCONNECT_KEYS:
            errors.append(f"interconnect: unknown field {k!r}")
    if not isinstance(ic.get("name"), str) or not ic["name"].strip():
        errors.append("interconnect.name must be a non-empty string")
    _num_in_range(ic, "bandwidth_bytes_per_s", "interconnect", errors, 1e6, MAX_LINK_BW, what=" B/s")
    _num_in_range(ic, "latency_s", "interconnect", errors, 0, MAX_LINK_LATENCY_S, what=" s")


# ----------------------------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class MemoryLevel:
    name: str
    kind: str
    scope: str
    capacity_bytes: float
    bandwidth_bytes_per_s: float | None = None
    energy_pj_per_byte: float | None = None

    @property
    def is_main(self) -> bool:
        return self.kind in MAIN_LEVEL_KINDS


def _calibration(raw: dict):
    if "calibration" not in raw:
        return None
    from perfgraph.hardware.microbench import parse_calibration

    return parse_calibration(raw["calibration"])


def _collect_sources(node: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        default = node.get("source")
        per = node.get("sources") or {}
        for key, value in node.items():
            if key in ("source", "sources"):
                continue
            if not path and key == "calibration":
                _collect_calibration_sources(value, out)
                continue
            p = f"{path}.{key}" if path else str(key)
            if _is_num(value) or _is_num_list(value):
                src = per.get(key, default)
                if isinstance(src, str):
                    out[p] = src
            elif isinstance(value, (dict, list)):
                if isinstance(per.get(key), str):
                    _collect_all(value, p, per[key], out)
                else:
                    _collect_sources(value, p, out)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = item.get("name", i) if isinstance(item, dict) else i
            _collect_sources(item, f"{path}.{label}", out)


def _collect_calibration_sources(section: Any, out: dict[str, str]) -> None:
    """Every number of a mode in the calibration section has the mode's `source` (or its `sources` entry)."""
    for name, mode in ((section or {}).get("modes") or {}).items():
        if not isinstance(mode, dict):
            continue
        default, per = mode.get("source"), mode.get("sources") or {}
        for key, value in mode.items():
            if key in ("source", "sources"):
                continue
            src = per.get(key, default)
            if isinstance(src, str):
                _collect_all(value, f"calibration.modes.{name}.{key}", src, out)


def _collect_all(node: Any, path: str, src: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in ("source", "sources"):
                _collect_all(value, f"{path}.{key}", src, out)
    elif isinstance(node, list) and not _is_num_list(node):
        for i, value in enumerate(node):
            _collect_all(value, f"{path}.{i}", src, out)
    elif _is_num(node) or _is_num_list(node):
        out[path] = src


@dataclass(frozen=True)
class Interconnect:
    """The chip-to-chip link that collectives use: bandwidth per direction per chip, latency per ring step."""

    name: str
    bandwidth_bytes_per_s: float
    latency_s: float


def _interconnect(raw: dict) -> Interconnect | None:
    ic = raw.get("interconnect")
    if not ic:
        return None
    return Interconnect(name=str(ic["name"]), bandwidth_bytes_per_s=float(ic["bandwidth_bytes_per_s"]),
                        latency_s=float(ic["latency_s"]))


@dataclass
class HardwareSpec:
    """A validated chip description.  Build with `from_dict`, `load_file`, `get` or `local.detect_local`."""

    id: str
    name: str
    kind: str
    vendor: str
    aliases: tuple[str, ...]
    status: str
    peak_flops: dict[str, float]
    vector_flops: dict[str, float]
    precision_fallback: dict[str, str]
    clock_base_ghz: float | None
    clock_boost_ghz: float | None
    unit_type: str
    unit_count: int
    unit_details: dict[str, Any]
    memory: list[MemoryLevel]
    tdp_w: float
    static_w: float
    modes: dict[str, dict]
    mode: str | None
    pj_per_flop: dict[str, float]
    launch_overhead_s: float
    sources: dict[str, str] = field(repr=False)
    origin: str = ""
    raw: dict = field(default_factory=dict, repr=False)
    achievable_fraction: dict[str, float] = field(default_factory=dict)
    calibration: Any = None  # hardware.microbench.CalibrationSection: sourced microbenchmarks, when given
    interconnect: Interconnect | None = None  # the chip-to-chip link, when the spec gives one

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict, origin: str = "<dict>", mode: str | None = None) -> "HardwareSpec":
        errors = validate(d)
        if errors:
            raise HardwareSpecError(f"{origin}: {'; '.join(errors)}")
        raw = copy.deepcopy(d)
        sources: dict[str, str] = {}
        _collect_sources(raw, "", sources)
        peaks = {k: float(v) for k, v in raw["peak_flops"].items() if k in PRECISIONS}
        vec = {k: float(v) for k, v in (raw.get("vector_flops") or {}).items() if k in PRECISIONS}
        achievable = {k: float(v) for k, v in (raw.get("achievable_fraction") or {}).items() if k in PRECISIONS}
        fb = {k: v for k, v in (raw.get("precision_fallback") or {}).items() if k in PRECISIONS}
        cu = raw["compute_units"]
        details = dict(cu.get(UNIT_DETAIL_KEY[raw["kind"]], {}))
        levels = [
            MemoryLevel(
                name=lvl["name"], kind=lvl["kind"], scope=lvl["scope"], capacity_bytes=float(lvl["capacity_bytes"]),
                bandwidth_bytes_per_s=(float(lvl["bandwidth_bytes_per_s"]) if lvl.get("bandwidth_bytes_per_s") else None),
                energy_pj_per_byte=(float(lvl["energy_pj_per_byte"]) if lvl.get("energy_pj_per_byte") else None),
            )
            for lvl in raw["memory"]
        ]
        power = raw["power"]
        tdp = float(power["tdp_w"])
        if _is_num(power.get("static_w")):
            static = float(power["static_w"])
        else:
            static = DEFAULT_STATIC_FRACTION * tdp
            sources["power.static_w"] = (
                f"assumption: static/idle share = {DEFAULT_STATIC_FRACTION:.0%} of TDP ({tdp:g} W) — leakage, "
                "uncore and memory refresh; no per-chip figure published")
        main = next(lv for lv in levels if lv.is_main)
        given = (raw.get("energy") or {}).get("pj_per_flop") or {}
        ppf: dict[str, float] = {}
        dyn = tdp - static
        mem_w = (main.bandwidth_bytes_per_s or 0.0) * (main.energy_pj_per_byte or 0.0) * 1e-12
        budget = max(dyn - mem_w, MIN_COMPUTE_BUDGET_FRACTION * dyn)
        for prec, peak in peaks.items():
            if prec in given:
                ppf[prec] = float(given[prec])
                continue
            ppf[prec] = budget / peak * 1e12
            sources[f"energy.pj_per_flop.{prec}"] = (
                f"derived: (tdp {tdp:g} W - static {static:g} W - {main.name} {mem_w:.3g} W at full bandwidth, "
                f"floored at {MIN_COMPUTE_BUDGET_FRACTION:.0%} of dynamic) / peak {prec} {peak:.4g} FLOP/s")
        oh = raw["overhead"]
        clock = raw["clock_ghz"]
        return cls(
            id=raw["id"], name=raw["name"], kind=raw["kind"], vendor=raw["vendor"],
            aliases=tuple(raw.get("aliases") or ()), status=str(raw.get("status", "released")),
            peak_flops=peaks, vector_flops=vec, precision_fallback=fb,
            clock_base_ghz=float(clock["base"]) if _is_num(clock.get("base")) else None,
            clock_boost_ghz=float(clock["boost"]) if _is_num(clock.get("boost")) else None,
            unit_type=str(cu["type"]), unit_count=int(cu["count"]), unit_details=details,
            memory=levels, tdp_w=tdp, static_w=static, modes=dict(power.get("modes") or {}), mode=mode,
            pj_per_flop=ppf, launch_overhead_s=float(oh["launch_s"]), sources=sources, origin=origin, raw=raw,
            achievable_fraction=achievable, calibration=_calibration(raw), interconnect=_interconnect(raw),
        )

    # -- precision and peaks ------------------------------------------------------------------------
    @property
    def precisions(self) -> tuple[str, ...]:
        return tuple(p for p in PRECISIONS if p in self.peak_flops)

    def resolve_precision(self, precision: str) -> str:
        """The precision the chip computes `precision` in: itself, or its documented fallback."""
        p = precision.lower()
        if p not in PRECISIONS:
            raise PrecisionNotSupportedError(f"unknown precision {precision!r} (known: {', '.join(PRECISIONS)})")
        if p in self.peak_flops:
            return p
        if p in self.precision_fallback:
            return self.precision_fallback[p]
        raise PrecisionNotSupportedError(
            f"{self.id} has no {p} peak and no documented fallback; supported: {', '.join(self.precisions)}")

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s (OP/s for int8) for a precision, after the documented fallback."""
        return self.peak_flops[self.resolve_precision(precision)]

    def achievable(self, precision: str) -> float:
        """Measured fraction of the dense peak that large GEMMs sustain at `precision` (after the
        documented fallback); 1.0 when the spec gives none."""
        return self.achievable_fraction.get(self.resolve_precision(precision), 1.0)

    def vector_peak(self, precision: str) -> float:
        """Rate for non-matrix work (elementwise, reductions): `vector_flops`, else the fp32 vector rate,
        else the matrix peak (chips that have only one datapath)."""
        p = self.resolve_precision(precision)
        if p in self.vector_flops:
            return self.vector_flops[p]
        if "fp32" in self.vector_flops:
            return self.vector_flops["fp32"]
        return self.peak_flops[p]

    def energy_per_flop_j(self, precision: str) -> float:
        return self.pj_per_flop[self.resolve_precision(precision)] * 1e-12

    # -- units and memory ---------------------------------------------------------------------------
    @property
    def units(self) -> int:
        return self.unit_count

    @property
    def levels(self) -> list[MemoryLevel]:
        return list(self.memory)

    @property
    def dram(self) -> MemoryLevel:
        """The main-memory level (first level of kind dram or host)."""
        return next(lv for lv in self.memory if lv.is_main)

    @property
    def dram_bandwidth(self) -> float:
        return float(self.dram.bandwidth_bytes_per_s or 0.0)

    def level(self, name: str) -> MemoryLevel:
        for lv in self.memory:
            if lv.name.lower() == name.lower():
                return lv
        raise KeyError(f"{self.id} has no memory level {name!r} (levels: {', '.join(l.name for l in self.memory)})")

    def pj_per_byte(self, level: str | MemoryLevel) -> float:
        lv = level if isinstance(level, MemoryLevel) else self.level(level)
        return float(lv.energy_pj_per_byte or 0.0)

    def source_of(self, path: str) -> str | None:
        return self.sources.get(path)

    # -- variants -----------------------------------------------------------------------------------
    def with_mode(self, mode: str) -> "HardwareSpec":
        """The same chip in one of its power modes (Jetson nvpmodel modes, KPU thermal profiles)."""
        match = next((m for m in self.modes if m.lower() == mode.lower()), None)
        if match is None:
            raise UnknownHardwareError(
                f"{self.id} has no power mode {mode!r}; modes: {', '.join(self.modes) or '(none)'}")
        m = self.modes[match]
        raw = copy.deepcopy(self.raw)
        msrc = m.get("source")
        mper = m.get("sources") or {}

        def src(key: str) -> str:
            return mper.get(key, msrc) or ""

        power = raw["power"]
        power["tdp_w"] = m["tdp_w"]
        power.setdefault("sources", {})["tdp_w"] = src("tdp_w")
        if "static_w" in m:
            power["static_w"] = m["static_w"]
            power["sources"]["static_w"] = src("static_w")
        else:
            power.pop("static_w", None)
            power["sources"].pop("static_w", None)
        if "peak_flops" in m:
            raw["peak_flops"] = copy.deepcopy(m["peak_flops"])
        if "vector_flops" in m:
            raw["vector_flops"] = copy.deepcopy(m["vector_flops"])
        elif "vector_flops" in raw and "peak_flops" in m:
            # scale the vector rates with the fp32 (or first) matrix peak so they stay consistent
            ref = "fp32" if "fp32" in self.peak_flops else self.precisions[0]
            scale = m["peak_flops"][ref] / self.peak_flops[ref]
            for k in list(raw["vector_flops"]):
                if k in PRECISIONS:
                    raw["vector_flops"][k] = raw["vector_flops"][k] * scale
            raw["vector_flops"]["source"] = f"derived: base vector_flops x mode {match} {ref} peak ratio {scale:.4g}"
            raw["vector_flops"].pop("sources", None)
        if "units" in m:
            raw["compute_units"]["count"] = m["units"]
            raw["compute_units"].setdefault("sources", {})["count"] = src("units")
        if "clock_ghz" in m:
            raw["clock_ghz"]["boost"] = m["clock_ghz"]
            raw["clock_ghz"].setdefault("sources", {})["boost"] = src("clock_ghz")
        if "dram_bandwidth_bytes_per_s" in m:
            for lvl in raw["memory"]:
                if lvl.get("kind") in MAIN_LEVEL_KINDS:
                    lvl["bandwidth_bytes_per_s"] = m["dram_bandwidth_bytes_per_s"]
                    lvl.setdefault("sources", {})["bandwidth_bytes_per_s"] = src("dram_bandwidth_bytes_per_s")
                    break
        energy = raw.get("energy")
        if energy and "pj_per_flop" in energy:
            energy.pop("pj_per_flop")  # re-derived from the mode's TDP and peaks
        raw["id"] = f"{self.id}@{match.lower()}"
        raw["name"] = f"{self.name} ({match})"
        return HardwareSpec.from_dict(raw, origin=f"{self.origin} [mode {match}]", mode=match)

    def with_overrides(self, overrides: dict, source: str) -> "HardwareSpec":
        """Overlay numbers (e.g. a calibration profile) onto this spec; every overridden number gets
        `source`.  `overrides` has the shape of the YAML; memory levels are addressed by name::

            spec.with_overrides({"memory": {"DRAM": {"bandwidth_bytes_per_s": 19e9}},
                                 "peak_flops": {"fp32": 1.1e12}, "overhead": {"launch_s": 8e-6}},
                                source="calibrated: stream triad + sgemm, 2025-01-01")
        """
        if not (isinstance(source, str) and source.strip()):
            raise HardwareSpecError(f"{self.origin}: overrides need a non-empty source")
        raw = copy.deepcopy(self.raw)

        def merge(dst: dict, src: dict, path: str) -> None:
            for key, value in src.items():
                if key in ("source", "sources"):
                    continue
                if isinstance(value, dict):
                    if not isinstance(dst.get(key), dict):
                        dst[key] = {}
                    merge(dst[key], value, f"{path}.{key}")
                else:
                    dst[key] = value
                    if _is_num(value) or _is_num_list(value):
                        dst.setdefault("sources", {})[key] = source

        for key, value in overrides.items():
            if key == "memory":
                if not isinstance(value, dict):
                    raise HardwareSpecError(f"{self.origin}: memory overrides must map level name -> fields")
                for lname, fields in value.items():
                    lvl = next((lv for lv in raw["memory"] if lv["name"].lower() == str(lname).lower()), None)
                    if lvl is None and str(lname).lower() in ("dram", "main"):
                        lvl = next(lv for lv in raw["memory"] if lv.get("kind") in MAIN_LEVEL_KINDS)
                    if lvl is None:
                        raise HardwareSpecError(f"{self.origin}: override names no memory level {lname!r}")
                    merge(lvl, fields, f"memory.{lname}")
            elif isinstance(value, dict):
                if not isinstance(raw.get(key), dict):
                    raw[key] = {}
                merge(raw[key], value, key)
            else:
                raw[key] = value
                if _is_num(value):
                    raw.setdefault("sources", {})[key] = source
        energy = raw.get("energy")
        if energy and "pj_per_flop" in energy and "energy" not in overrides:
            energy.pop("pj_per_flop")
        return HardwareSpec.from_dict(raw, origin=f"{self.origin} [+overrides]", mode=self.mode)

    # -- export -------------------------------------------------------------------------------------
    def to_properties(self) -> dict[str, Any]:
        """Flat properties for a (:Hardware) node."""
        props: dict[str, Any] = {
            "id": self.id, "name": self.name, "kind": self.kind, "vendor": self.vendor,
            "units": self.unit_count, "unit_type": self.unit_type, "tdp_w": self.tdp_w,
            "memory_bandwidth_bytes_per_s": self.dram_bandwidth,
            "memory_capacity_bytes": self.dram.capacity_bytes, "status": self.status,
        }
        for p, v in self.peak_flops.items():
            props[f"peak_{p}"] = v
        if self.mode:
            props["mode"] = self.mode
        return props


# ----------------------------------------------------------------------------------------------- loading


def _yaml_loader():
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _reject_aliases(text: str, p: Path) -> None:
    """Chip files are plain data: refuse YAML anchors and aliases, which a few lines can nest into a
    document of billions of nodes (an "alias bomb") that would hang every command loading chips. The check
    reads the event stream, which is linear in the file's size and expands nothing."""
    for event in yaml.parse(text, Loader=_yaml_loader()):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise HardwareSpecError(f"{p}: YAML anchors and aliases (&name, *name) are not allowed in chip files "
                                    f"(line {mark.line + 1}); write the values out")


def load_file(path: str | os.PathLike) -> HardwareSpec:
    """Load and validate one spec file; any problem raises a one-line `HardwareSpecError` naming it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise HardwareSpecError(f"{p}: cannot read ({e.strerror or e})") from None
    try:
        _reject_aliases(text, p)
        d = yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise HardwareSpecError(f"{p}: malformed YAML{where}: {problem}") from None
    if d is None:
        raise HardwareSpecError(f"{p}: empty file")
    return HardwareSpec.from_dict(d, origin=str(p))


def packaged_dir() -> Path:
    return Path(__file__).resolve().parent / "data"


def user_dirs() -> list[Path]:
    dirs: list[Path] = []
    env = os.environ.get("PERFGRAPH_HARDWARE_PATH", "")
    for part in env.split(os.pathsep):
        if part.strip():
            dirs.append(Path(part.strip()).expanduser())
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs.append(Path(base) / "perfgraph" / "hardware")
    return dirs


def _spec_files(d: Path) -> list[Path]:
    if not d.is_dir():
        return []
    return sorted([*d.glob("*.yaml"), *d.glob("*.yml")])


_CACHE: dict[tuple, dict[str, HardwareSpec]] = {}


def load_all(extra_dirs: Iterable[str | os.PathLike] | None = None) -> dict[str, HardwareSpec]:
    """All specs by id: the packaged data, then user dirs, then `extra_dirs` (later files replace
    earlier ones with the same id).  A malformed file raises `HardwareSpecError`."""
    dirs = [packaged_dir(), *user_dirs(), *(Path(x) for x in (extra_dirs or []))]
    files = [f for d in dirs for f in _spec_files(d)]
    key = tuple((str(f), f.stat().st_mtime_ns) for f in files)
    if key in _CACHE:
        return dict(_CACHE[key])
    specs: dict[str, HardwareSpec] = {}
    for f in files:
        spec = load_file(f)
        specs[spec.id] = spec
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[key] = specs
    return dict(specs)


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def get(name_or_id: str, extra_dirs: Iterable[str | os.PathLike] | None = None) -> HardwareSpec:
    """Find a chip by id, alias or name, case-insensitively (`'H100'`, `'tpu-v4'`, `'KPU T256'`).
    `'<id>@<mode>'` selects a power mode (`'jetson-orin-agx-64gb@15W'`); `'local'` detects this machine."""
    query = name_or_id.strip()
    mode = None
    if "@" in query:
        query, mode = (s.strip() for s in query.split("@", 1))
    if query.lower() == "local":
        from perfgraph.hardware.local import detect_local

        spec = detect_local()
        return spec.with_mode(mode) if mode else spec
    specs = load_all(extra_dirs)
    q, qn = query.lower(), _norm(query)
    found = None
    for spec in specs.values():
        names = [spec.id, *spec.aliases, spec.name]
        if any(n.lower() == q for n in names):
            found = spec
            break
    if found is None:
        for spec in specs.values():
            if any(_norm(n) == qn for n in (spec.id, *spec.aliases, spec.name)):
                found = spec
                break
    if found is None:
        candidates: dict[str, str] = {}
        for spec in specs.values():
            for n in (spec.id, *spec.aliases, spec.name):
                candidates[n.lower()] = spec.id
        near = difflib.get_close_matches(q, list(candidates), n=8, cutoff=0.5)
        near_ids = list(dict.fromkeys(candidates[n] for n in near))
        near_ids += [s.id for s in specs.values() if qn and (qn in _norm(s.id) or qn in _norm(s.name))
                     and s.id not in near_ids]
        hint = f"; near matches: {', '.join(near_ids[:6])}" if near_ids else f"; known: {', '.join(sorted(specs))}"
        raise UnknownHardwareError(f"unknown hardware {name_or_id!r}{hint}")
    return found.with_mode(mode) if mode else found


def list_ids(extra_dirs: Iterable[str | os.PathLike] | None = None) -> list[str]:
    return sorted(load_all(extra_dirs))
