"""`HardwareSpec`: one validated chip, built from a chip file (`hardware.schema`) or a mapping.

**Derived at load.** ``static_w`` (25 % of TDP when not given) and ``pj_per_flop`` per precision (when
not given): ``(tdp_w - static_w - dram_bandwidth * dram_pJ/B) / peak(precision)`` with the compute budget
floored at 25 % of the dynamic power -- the energy of one operation when the chip runs at its power limit
with the memory system saturated, an upper-bound style estimate.  The formula and its numbers are stored
as that value's source.

Finding chips by name (`get`, `load_all`, `load_file`) is `hardware.registry`; this module still answers
those names for the callers that import them from here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from perfgraph.hardware.schema import (  # noqa: F401 (KINDS, LEVEL_KINDS, SCOPES, validate: re-exports)
    KINDS, LEVEL_KINDS, MAIN_LEVEL_KINDS, PRECISIONS, SCOPES, UNIT_DETAIL_KEY, parse_chip, validate,
)
from perfgraph.hardware.sources import SOURCE_PREFIXES, collect_sources, is_num, is_num_list  # noqa: F401

# The registry's names, answered lazily (`__getattr__`) for callers that import them from here: the
# registry builds on this module, so importing it here at the top would be a cycle.
_REGISTRY = ("get", "load_all", "load_file", "list_ids", "packaged_dir", "user_dirs")

DEFAULT_STATIC_FRACTION = 0.25
MIN_COMPUTE_BUDGET_FRACTION = 0.25


class HardwareSpecError(ValueError):
    """A spec file (or dict) that does not load or validate; the message is one line naming the file."""


class UnknownHardwareError(LookupError):
    """`get()` found no chip by that name; the message lists near matches."""

    def __str__(self) -> str:  # LookupError/KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class PrecisionNotSupportedError(ValueError):
    """The chip has no peak for that precision and no documented fallback."""


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


@dataclass(frozen=True)
class Interconnect:
    """The chip-to-chip link that collectives use: bandwidth per direction per chip, latency per ring step,
    and the fixed latency of one collective call (0 where none is published)."""

    name: str
    bandwidth_bytes_per_s: float
    latency_s: float
    base_latency_s: float = 0.0


def _interconnect(raw: dict) -> Interconnect | None:
    ic = raw.get("interconnect")
    if not ic:
        return None
    return Interconnect(name=str(ic["name"]), bandwidth_bytes_per_s=float(ic["bandwidth_bytes_per_s"]),
                        latency_s=float(ic["latency_s"]), base_latency_s=float(ic.get("base_latency_s", 0.0)))


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
        """Validate a chip mapping (`hardware.schema`) and derive what it leaves out.

        Raises:
            HardwareSpecError: one line, `origin` then every problem with its field path.
        """
        model, errors = parse_chip(d)
        if errors:
            raise HardwareSpecError(f"{origin}: {'; '.join(errors)}")
        raw = copy.deepcopy(d)
        sources = collect_sources(raw)
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
        if is_num(power.get("static_w")):
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
            clock_base_ghz=float(clock["base"]) if is_num(clock.get("base")) else None,
            clock_boost_ghz=float(clock["boost"]) if is_num(clock.get("boost")) else None,
            unit_type=str(cu["type"]), unit_count=int(cu["count"]), unit_details=details,
            memory=levels, tdp_w=tdp, static_w=static, modes=dict(power.get("modes") or {}), mode=mode,
            pj_per_flop=ppf, launch_overhead_s=float(oh["launch_s"]), sources=sources, origin=origin, raw=raw,
            achievable_fraction=achievable, calibration=model.calibration, interconnect=_interconnect(raw),
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
                    if is_num(value) or is_num_list(value):
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
                if is_num(value):
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


def __getattr__(name: str) -> Any:
    if name in _REGISTRY:
        from perfgraph.hardware import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
