"""The chip file: one YAML per chip (``hardware/data/*.yaml``), every number with its source.

The pydantic models below are the schema; `validate` checks a mapping against them (plus the rule that
every number has a source, `hardware.sources`) and `json_schema` exports them for editors -- the committed
``hardware/data/chip.schema.json`` is its output (a test keeps it current).  A chip file looks like::

    id: h100-sxm                      # lowercase slug; `get()` also matches aliases and the name
    name: NVIDIA H100 SXM5 80GB
    kind: GPU                         # CPU | GPU | TPU | KPU
    vendor: NVIDIA
    aliases: [h100, h100-sxm5]
    status: released                  # released | planned (KPU configurations)
    peak_flops:                       # DENSE FLOP/s per precision (int8 in OP/s), never sparsity figures
      fp32: 66.9e+12
      fp16: 989.4e+12
      source: "NVIDIA H100 datasheet ..."
    vector_flops: {fp32: 66.9e+12, source: ...}   # optional: non-matrix (CUDA core / SIMD / VPU) rate
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
      - {name: HBM3, kind: dram, scope: shared, capacity_bytes: 80.0e+9,
         bandwidth_bytes_per_s: 3.35e+12, energy_pj_per_byte: 31.2, source: ..., sources: {...}}
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
      bandwidth_bytes_per_s: 450.0e+9 # per ring step
      latency_s: 0.6e-6               # NCCL's per-step hwLat
      base_latency_s: 6.6e-6          # optional: NCCL's fixed baseLat per collective call
      source: ...
    calibration: {...}                # optional: measured microbenchmarks (`hardware.microbench`)

**Sources**: see `hardware.sources`.  **Units**: FLOP/s, bytes, bytes/s, watts, seconds, GHz.  Per-unit
memory levels give the capacity of one unit's slice; ``bandwidth_bytes_per_s`` is always the aggregate
over the whole chip.  Write exponents with a sign and a dot (``3.35e+12``): YAML reads ``3.35e12`` as a
string.  An editor with a YAML language server completes and checks a chip file given the schema, e.g.
with a first line ``# yaml-language-server: $schema=<path to chip.schema.json>``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from perfgraph.hardware.fields import (
    PRECISIONS, Choice, Count, Fraction, Free, Int, Num, Pair, Slug, Source, Text, fail, format_error,
)
from perfgraph.hardware.microbench import CalibrationSection
from perfgraph.hardware.sources import check_sources
from perfgraph.vocab import ChipKind, choices

KINDS = choices(ChipKind)
LEVEL_KINDS = ("register", "sram", "cache", "dram", "host")
MAIN_LEVEL_KINDS = ("dram", "host")
SCOPES = ("per_unit", "shared")
UNIT_DETAIL_KEY = {"CPU": "cpu", "GPU": "gpu", "TPU": "tpu", "KPU": "kpu"}

# Plausibility limits: one chip, dense figures.
MAX_PEAK_FLOPS = 10e15  # 10 PFLOP/s dense
MAX_MAIN_MEMORY_BW = 10e12  # 10 TB/s for the device memory of one chip
MAX_ONCHIP_BW = 1000e12  # aggregate SRAM/register bandwidth
MAX_CLOCK_GHZ = 6.5
MAX_TDP_W = 2000.0
MAX_CAPACITY_BYTES = 2e12
MAX_LAUNCH_S = 1e-2
MAX_PJ = 1000.0
MAX_LINK_BW = 10e12  # per direction, one chip
MAX_LINK_LATENCY_S = 1e-3

# The field types (bounds are one chip's plausible range).
Flops = Num(0, MAX_PEAK_FLOPS, " FLOP/s", open_lo=True)
Ghz = Num(1e-3, MAX_CLOCK_GHZ, " GHz")
Watts = Num(1e-3, MAX_TDP_W, " W")
StaticWatts = Num(0, MAX_TDP_W, " W")
Pj = Num(0, MAX_PJ, " pJ", open_lo=True)
Nanoseconds = Num(0, 1e5, " ns")  # 0: not known (the engine falls back)
BytesPerClock = Num(0, 1e4, " B/clk")
Capacity = Num(1, MAX_CAPACITY_BYTES, " B")
LevelBandwidth = Num(1e6, MAX_ONCHIP_BW, " B/s")
LevelEnergy = Num(1e-3, MAX_PJ, " pJ/B")
MainBandwidth = Num(1e6, MAX_MAIN_MEMORY_BW, " B/s")
LaunchSeconds = Num(0, MAX_LAUNCH_S, " s")
LinkBandwidth = Num(1e6, MAX_LINK_BW, " B/s")
LinkLatency = Num(0, MAX_LINK_LATENCY_S, " s")
Count0 = Int(0)
Precision = Choice(PRECISIONS, "precision")
Kind = Choice(KINDS, "kind")
LevelKind = Choice(LEVEL_KINDS, "level kind")
Scope = Choice(SCOPES, "scope")


class Section(BaseModel):
    """A mapping of the chip file: closed (an unknown key is an error), with its own sources."""

    model_config = ConfigDict(extra="forbid")

    source: Source | None = None
    sources: dict[str, Source] = Field(default_factory=dict, description="field -> its source, where it "
                                       "differs from `source`; naming a nested mapping covers all of it")


class PrecisionMap(Section):
    """A mapping keyed by precision (plus its sources)."""

    def given(self) -> dict[str, Any]:
        return {p: getattr(self, p) for p in PRECISIONS if getattr(self, p) is not None}


def _precision_map(name: str, value: Any, doc: str) -> type[PrecisionMap]:
    return create_model(name, __base__=PrecisionMap, __doc__=doc, **{p: (value | None, None) for p in PRECISIONS})


Rates = _precision_map("Rates", Flops, "Dense FLOP/s (int8: OP/s) per precision.")
Fractions = _precision_map("Fractions", Fraction, "Fraction of the dense peak large GEMMs sustain, per precision.")
Fallbacks = _precision_map("Fallbacks", Precision, "Precision -> the precision the chip computes it in.")
PjPerFlop = _precision_map("PjPerFlop", Pj, "Energy of one operation (pJ).")


class Peaks(Rates):
    """Dense FLOP/s (int8: OP/s) per precision; at least one."""

    @model_validator(mode="after")
    def _some(self) -> "Peaks":
        if not self.given():
            fail("no precision given")
        return self


class Clock(Section):
    base: Ghz | None = None
    boost: Ghz | None = None

    @model_validator(mode="after")
    def _one(self) -> "Clock":
        if self.base is None and self.boost is None:
            fail("needs base or boost", glue=" ")
        return self


class Details(Section):
    """Microarchitecture facts of one unit; fields the schema does not name are free-form numbers."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Free]


class GpuDetails(Details):
    warp_size: Count
    max_threads_per_sm: Count
    max_warps_per_sm: Count
    max_blocks_per_sm: Count
    registers_per_sm: Count0 | None = None
    shared_mem_per_sm_bytes: Count0 | None = None
    tensor_cores_per_sm: Count0 | None = None
    mma_shape: list[Count0] | None = None
    l2_bytes_per_clk_per_sm: BytesPerClock | None = Field(
        None, description="L2 -> SM load bandwidth of one SM (the GPU memory rule)")
    dram_latency_ns: Nanoseconds | None = None
    l2_latency_ns: Nanoseconds | None = None


class CpuDetails(Details):
    simd_width_bits: Count
    threads_per_core: Count0 | None = None
    fma_units_per_core: Count0 | None = None
    amx: bool | None = None
    matrix_tile_bf16: list[Count0] | None = None
    matrix_tile_int8: list[Count0] | None = None


class TpuDetails(Details):
    mxu_dims: Pair = Field(description="rows, columns of one MXU")
    vpu_shape: list[Count0] | None = None
    tensorcores: Count0 | None = None
    mxus_per_tensorcore: Count0 | None = None


class KpuDetails(Details):
    pe_array: Pair = Field(description="rows, columns of PEs in one tile")
    tile_array: Pair | None = Field(None, description="rows, columns of tiles")
    schedule: str | None = None


class ComputeUnits(Section):
    type: Text = Field(description="SM | core | MXU | tile")
    count: Count
    cpu: CpuDetails | None = None
    gpu: GpuDetails | None = None
    tpu: TpuDetails | None = None
    kpu: KpuDetails | None = None


class Level(Section):
    """One memory level; main memory (kind dram or host) needs a bandwidth and an energy per byte."""

    name: Text
    kind: LevelKind
    scope: Scope = Field(description="per_unit: capacity of one unit's slice; shared: of the whole chip")
    capacity_bytes: Capacity
    bandwidth_bytes_per_s: LevelBandwidth | None = Field(
        None, validate_default=True, description="aggregate over the whole chip")
    energy_pj_per_byte: LevelEnergy | None = Field(None, validate_default=True)

    @field_validator("bandwidth_bytes_per_s", "energy_pj_per_byte")
    @classmethod
    def _main_memory(cls, v: float | None, info) -> float | None:
        if info.data.get("kind") not in MAIN_LEVEL_KINDS:
            return v
        if v is None:
            fail("", kind="chip_missing")
        if info.field_name == "bandwidth_bytes_per_s" and v > MAX_MAIN_MEMORY_BW:
            fail(f"implausible value {v:g} B/s (expected 1e+06..{MAX_MAIN_MEMORY_BW:g} for device memory)")
        return v


class PowerMode(Section):
    """A power mode (Jetson nvpmodel mode, KPU thermal profile): what differs from the top-level figures."""

    tdp_w: Watts
    static_w: StaticWatts | None = None
    clock_ghz: Ghz | None = None
    units: Count | None = None
    peak_flops: Peaks | None = None
    vector_flops: Peaks | None = None
    dram_bandwidth_bytes_per_s: MainBandwidth | None = None
    cpu_cores_online: Count0 | None = None
    cpu_clock_ghz: Ghz | None = None
    notes: str | None = None


class Power(Section):
    tdp_w: Watts
    static_w: StaticWatts | None = Field(None, description="default 25 % of TDP (stated assumption)")
    modes: dict[str, PowerMode] | None = Field(None, min_length=1)
    default_mode: str | None = None

    @field_validator("static_w")
    @classmethod
    def _below_tdp(cls, v: float | None, info) -> float | None:
        tdp = info.data.get("tdp_w")
        if v is not None and tdp is not None and v >= tdp:
            fail("must be below power.tdp_w", glue=" ")
        return v

    @field_validator("default_mode")
    @classmethod
    def _known_mode(cls, v: str | None, info) -> str | None:
        modes = info.data.get("modes")  # absent when invalid; None when the chip has no modes
        if v is not None and modes and v not in modes:
            fail(f"{v!r} is not one of power.modes", glue=" ")
        return v


class Energy(Section):
    pj_per_flop: PjPerFlop | None = None


class Overhead(Section):
    launch_s: LaunchSeconds = Field(description="fixed cost of one kernel launch")


class Link(Section):
    """The chip-to-chip link of tensor / pipeline parallelism (`engine.collective`)."""

    name: Text
    bandwidth_bytes_per_s: LinkBandwidth = Field(description="per direction, per chip")
    latency_s: LinkLatency = Field(description="per ring step")
    base_latency_s: LinkLatency = Field(0.0, description="fixed cost of one collective call (NCCL's baseLat); "
                                                         "0 when the link's library publishes none")


class ChipFile(Section):
    """A perfgraph chip file: one chip, every number with its source."""

    id: Slug
    name: Text
    kind: Kind
    vendor: Text
    aliases: list[Text] = Field(default_factory=list)
    status: str = Field("released", description="released | planned | detected")
    notes: str | None = None
    peak_flops: Peaks
    vector_flops: Rates | None = None
    achievable_fraction: Fractions | None = None
    precision_fallback: Fallbacks | None = None
    clock_ghz: Clock
    compute_units: ComputeUnits
    memory: list[Level] = Field(min_length=1, description="fastest first")
    power: Power
    energy: Energy | None = None
    overhead: Overhead
    interconnect: Link | None = None
    calibration: CalibrationSection | None = None

    @field_validator("precision_fallback")
    @classmethod
    def _fallback_has_peak(cls, v: PrecisionMap | None, info) -> PrecisionMap | None:
        peaks = info.data.get("peak_flops")
        for p, target in (v.given() if v and peaks else {}).items():
            if target not in peaks.given():
                fail(f"target {target!r} has no peak_flops entry", at=(p,))
        return v

    @field_validator("compute_units")
    @classmethod
    def _details_of_kind(cls, v: ComputeUnits, info) -> ComputeUnits:
        key = UNIT_DETAIL_KEY.get(info.data.get("kind"))
        if key and getattr(v, key) is None:
            fail("", kind="chip_missing", at=(key,))
        return v

    @field_validator("memory")
    @classmethod
    def _levels(cls, levels: list[Level]) -> list[Level]:
        seen: set[str] = set()
        for i, lv in enumerate(levels):
            if lv.name in seen:
                fail("duplicate level name", at=(i,))
            seen.add(lv.name)
        if not any(lv.kind in MAIN_LEVEL_KINDS for lv in levels):
            fail("no main-memory level (kind dram or host)")
        return levels

    @field_validator("power")
    @classmethod
    def _mode_peaks(cls, power: Power, info) -> Power:
        peaks = info.data.get("peak_flops")
        for name, m in (power.modes or {}).items():
            if peaks and m.peak_flops and set(m.peak_flops.given()) != set(peaks.given()):
                fail("must list the same precisions as peak_flops", glue=" ", at=("modes", name, "peak_flops"))
        return power


def parse_chip(d: Any) -> tuple[ChipFile | None, list[str]]:
    """Validate a chip mapping: the model (None when invalid) and every problem, one line each."""
    if not isinstance(d, dict):
        return None, [f"a hardware spec must be a mapping, got {type(d).__name__}"]
    try:
        model: ChipFile | None = ChipFile.model_validate(d)
        errors: list[str] = []
    except ValidationError as exc:
        model, errors = None, [format_error(e, d) for e in exc.errors()]
    errors += check_sources(d)
    return (None if errors else model), list(dict.fromkeys(errors))


def validate(d: Any) -> list[str]:
    """Every problem with a chip mapping (empty when it is valid).

    Examples:
        >>> validate({"id": "x"})[:2]
        ['missing field: name', 'missing field: kind']
    """
    return parse_chip(d)[1]


def json_schema() -> dict:
    """The chip file's JSON Schema (draft 2020-12), for editors; ``data/chip.schema.json`` is this."""
    schema = ChipFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
            "title": "perfgraph chip file"}
