"""A chip's `calibration:` section: sourced single-op microbenchmarks measured on that device.

Schema (pydantic models below; `calibration_json_schema()` exports it for editors)::

    calibration:
      host: "what ran the benchmarks: board, host CPU, framework versions"
      modes:                          # a power mode of the chip (power.modes), or `default`
        MAXN:
          source: "where the numbers were published, and how they were measured"
          clock_ghz: 1.3              # the clock the mode actually ran at (optional)
          dispatch_s: 3.5e-5          # the framework's per-op host cost in a stream of ops (eager dispatch)
          sync_s: 6.0e-5              # one synchronised tiny op, end to end (optional, reported only)
          graph_launch_s: 3.3e-6      # fixed time per kernel replayed back to back from a CUDA graph (optional)
          sources: {dispatch_s: "derived: ..."}   # a field's own source, where it differs from `source`
          bandwidth:                  # bytes moved per call (read + write) -> bytes/s achieved; time_s: the
            - {kernel: copy, bytes: 8.0e+6, bytes_per_s: 1.2e+11, time_s: 6.7e-5}   # timed call (optional)
          gemm:                       # m x n x k at a precision -> FLOP/s achieved (2mnk / time)
            - {m: 1024, n: 1024, k: 1024, precision: fp32, flops_per_s: 3.1e+12}
          conv:                       # a convolution -> FLOP/s achieved (2 x MACs / time)
            - {n: 1, c_in: 64, c_out: 64, h: 56, w: 56, kernel: 3, stride: 1, precision: fp32, flops_per_s: 2e12}

Every mode names its source: the rule that every number carries one holds here as in the rest of the file.

How the engine uses it (`Curves`).  A published microbenchmark times one *call* from the host: the
framework's dispatch, the launch, often a synchronisation, then the kernel.  So each curve is fitted with
the latency-bandwidth (Hockney) form ``time = t0 + work / rate`` (least squares over its points; one point:
``t0 = 0``): ``rate`` is what the device sustains at that mode's real clocks, and ``t0`` is the per-call cost
that the runtime model charges separately (eager dispatch, `dispatch_s`; the GPU rule's per-launch fill and
drain latency).  A kernel's measured device time is ``work / rate``: **a kernel never gets faster by being
smaller than the smallest calibrated size** -- below it, no rate above the fitted one is ever used (the
fitted rate is a sustained rate; a small kernel's fixed costs come from the runtime and the chip rule, not
from a better rate).  Bandwidth uses the fastest of the measured kernels (copy, scale, add, triad), each
fitted on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Precision = Literal["fp32", "tf32", "fp16", "bf16", "int8"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BandwidthPoint(_Strict):
    kernel: str = "copy"
    bytes: float = Field(gt=0, le=1e13)
    bytes_per_s: float = Field(gt=1e6, le=1e14)
    time_s: float | None = Field(default=None, gt=0, le=1e3)

    @property
    def work(self) -> float:
        return self.bytes

    @property
    def seconds(self) -> float:
        return self.time_s if self.time_s is not None else self.bytes / self.bytes_per_s


class GemmPoint(_Strict):
    m: int = Field(ge=1)
    n: int = Field(ge=1)
    k: int = Field(ge=1)
    precision: Precision
    flops_per_s: float = Field(gt=1e6, le=1e17)
    time_s: float | None = Field(default=None, gt=0, le=1e3)

    @property
    def work(self) -> float:
        return 2.0 * self.m * self.n * self.k

    @property
    def seconds(self) -> float:
        return self.time_s if self.time_s is not None else self.work / self.flops_per_s


class ConvPoint(_Strict):
    n: int = Field(ge=1)
    c_in: int = Field(ge=1)
    c_out: int = Field(ge=1)
    h: int = Field(ge=1)
    w: int = Field(ge=1)
    kernel: int = Field(ge=1)
    stride: int = Field(default=1, ge=1)
    groups: int = Field(default=1, ge=1)
    precision: Precision
    flops_per_s: float = Field(gt=1e6, le=1e17)
    time_s: float | None = Field(default=None, gt=0, le=1e3)

    @property
    def seconds(self) -> float:
        return self.time_s if self.time_s is not None else self.work / self.flops_per_s

    @property
    def work(self) -> float:
        """2 x MACs of a 'same'-padded convolution."""
        h_out, w_out = math.ceil(self.h / self.stride), math.ceil(self.w / self.stride)
        return 2.0 * self.n * h_out * w_out * self.c_out * (self.c_in // self.groups) * self.kernel ** 2


class ModeCalibration(_Strict):
    source: str = Field(min_length=8)
    clock_ghz: float | None = Field(default=None, gt=0, le=10)
    dispatch_s: float | None = Field(default=None, gt=0, le=1e-2)
    sync_s: float | None = Field(default=None, gt=0, le=1e-1)
    # t0 of a streaming kernel replayed back to back from a CUDA graph (time = t0 + bytes / rate): the
    # per-kernel cost of the `graph` runtime (launch gap, fill and drain) where it was measured
    graph_launch_s: float | None = Field(default=None, gt=0, le=1e-3)
    sources: dict[str, str] = Field(default_factory=dict)
    bandwidth: list[BandwidthPoint] = Field(default_factory=list)
    gemm: list[GemmPoint] = Field(default_factory=list)
    conv: list[ConvPoint] = Field(default_factory=list)
    notes: str = ""


class CalibrationSection(_Strict):
    host: str = Field(min_length=1)
    modes: dict[str, ModeCalibration] = Field(min_length=1)
    notes: str = ""

    @field_validator("modes")
    @classmethod
    def _some_data(cls, modes: dict[str, ModeCalibration]) -> dict[str, ModeCalibration]:
        for name, m in modes.items():
            if m.dispatch_s is None and m.graph_launch_s is None and not (m.bandwidth or m.gemm or m.conv):
                raise ValueError(f"mode {name!r} has no measurement")
        return modes

    def for_mode(self, mode: str | None, default_mode: str | None = None) -> ModeCalibration | None:
        """The measurements for `mode` (the chip's default mode, or `default`, when None); None if absent."""
        names = {k.lower(): k for k in self.modes}
        for want in (mode, None if mode else default_mode, None if mode else "default"):
            if want and want.lower() in names:
                return self.modes[names[want.lower()]]
        if mode is None and len(self.modes) == 1:
            return next(iter(self.modes.values()))
        return None


def parse_calibration(data: object) -> CalibrationSection:
    """Validate a `calibration:` mapping.

    Raises:
        ValueError: one line listing every problem with its field path (`calibration.modes.MAXN.gemm.0.m`).
    """
    try:
        return CalibrationSection.model_validate(data)
    except ValidationError as exc:
        problems = [f"calibration.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ValueError("; ".join(problems)) from None


def calibration_json_schema() -> dict:
    """The section's JSON Schema (what an editor uses to complete a chip file)."""
    return CalibrationSection.model_json_schema()


@dataclass(frozen=True)
class Fit:
    """``time = t0 + work / rate`` fitted on one curve's points; `min_work`: its smallest point."""

    t0: float
    rate: float
    min_work: float
    points: int

    @classmethod
    def of(cls, points: list[tuple[float, float]]) -> "Fit | None":
        """Least squares over (work, seconds); t0 is clamped to [0, the smallest time] and the rate refitted
        through the origin of the remaining time when the free fit is not physical.

        >>> f = Fit.of([(1e6, 2e-6 + 1e-6), (1e9, 2e-6 + 1e-3)])   # t0 = 2 us, rate = 1e12
        >>> round(f.t0 * 1e6, 3), round(f.rate / 1e12, 3)
        (2.0, 1.0)
        """
        pts = sorted((w, t) for w, t in points if w > 0 and t > 0)
        if not pts:
            return None
        if len(pts) == 1:
            return cls(0.0, pts[0][0] / pts[0][1], pts[0][0], 1)
        n = len(pts)
        mw = sum(w for w, _ in pts) / n
        mt = sum(t for _, t in pts) / n
        sww = sum((w - mw) ** 2 for w, _ in pts)
        slope = sum((w - mw) * (t - mt) for w, t in pts) / sww if sww > 0 else 0.0
        t0 = mt - slope * mw
        t0 = min(max(t0, 0.0), pts[0][1])
        if slope <= 0:
            slope = sum(t - t0 for _, t in pts) / sum(w for w, _ in pts)
        return cls(t0, 1.0 / slope if slope > 0 else pts[-1][0] / pts[-1][1], pts[0][0], n)

    def device_s(self, work: float) -> float:
        """Seconds the device needs for `work` at the fitted sustained rate (no faster rate below the
        smallest measured work)."""
        return work / self.rate if work > 0 else 0.0


class Curves:
    """The measured-rate model of one mode (module docstring): `transfer_s(bytes)`, `matmul_s(flops,
    precision)`, `conv_s(flops, precision)`; each returns None where nothing was measured."""

    def __init__(self, mode: ModeCalibration):
        self.mode = mode
        fits = [Fit.of([(p.work, p.seconds) for p in mode.bandwidth if p.kernel == kind])
                for kind in sorted({p.kernel for p in mode.bandwidth})]
        self.bandwidth = max((f for f in fits if f), key=lambda f: f.rate, default=None)
        self.gemm = {pr: Fit.of([(p.work, p.seconds) for p in mode.gemm if p.precision == pr])
                     for pr in sorted({p.precision for p in mode.gemm})}
        self.conv = {pr: Fit.of([(p.work, p.seconds) for p in mode.conv if p.precision == pr])
                     for pr in sorted({p.precision for p in mode.conv})}

    @property
    def dispatch_s(self) -> float | None:
        return self.mode.dispatch_s

    def transfer_s(self, nbytes: float) -> float | None:
        return self.bandwidth.device_s(nbytes) if self.bandwidth else None

    def matmul_s(self, flops: float, precision: str) -> float | None:
        fit = self.gemm.get(precision)
        return fit.device_s(flops) if fit else None

    def conv_s(self, flops: float, precision: str) -> float | None:
        """Convolution time: the conv points, else the GEMM points (an implicit GEMM)."""
        fit = self.conv.get(precision) or self.gemm.get(precision)
        return fit.device_s(flops) if fit else None

    def summary(self) -> dict:
        """The fitted rates, for `hardware show` and the docs."""
        return {"dispatch_s": self.mode.dispatch_s,
                "bandwidth_bytes_per_s": self.bandwidth.rate if self.bandwidth else None,
                "gemm_flops_per_s": {p: f.rate for p, f in self.gemm.items() if f},
                "conv_flops_per_s": {p: f.rate for p, f in self.conv.items() if f}}
