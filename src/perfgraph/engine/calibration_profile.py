"""The calibration profile: everything `perfgraph calibrate` measured on one device, and its JSON file.

`CalibrationProfile` holds the measured tables (`engine.calibration_table.Table`), overheads, bandwidth
curve and cache levels; `engine.calibrated` predicts with it.  The file is the profile's `to_dict` as JSON
(`save`); `load` validates it field by field against the pydantic records below (`parse_profile`), so a
corrupt or hand-edited file fails with one line naming its bad fields by path
(``tables.fp32.gemm.points.3.t``), never a traceback at prediction time.

Profiles live in ``$PERFGRAPH_HOME/calibration/`` (default ``~/.perfgraph/calibration/``), named
``local-<threads>t.json`` for the CPU and ``cuda-<device>.json`` for a GPU (`default_profile_path`).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from perfgraph.engine.calibration_table import CalibrationError, Point, Table
from perfgraph.home import perfgraph_home

PROFILE_VERSION = 1
MAX_PROBLEMS = 5  # a corrupt file can break every point: the error line names the first few

# ------------------------------------------------------------------------------------- the file format

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
POINT_FIELDS = ("f", "work", "t", "noise", "label")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _OpenRecord(BaseModel):
    """A section the calibration adds measured figures to over time: the fields the predictor reads are
    typed, further keys are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


class PointRecord(_Record):
    """A measured point, stored as the row ``[features (log2), work, seconds, noise, label]`` (the last two
    optional)."""

    f: list[float]
    work: NonNegative
    t: NonNegative
    noise: NonNegative = 0.0
    label: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, row: Any) -> Any:
        if not isinstance(row, (list, tuple)) or not 3 <= len(row) <= len(POINT_FIELDS):
            raise ValueError("a point is a row [features, work, seconds, noise, label] (noise and label optional)")
        return dict(zip(POINT_FIELDS, row))

    def to_point(self) -> Point:
        return Point(list(self.f), self.work, self.t, self.noise, self.label)


class TableRecord(_Record):
    name: str = Field(min_length=1)
    features: list[str] = Field(min_length=1)
    scales: list[float]
    work: Literal["flops", "bytes"]
    points: list[PointRecord] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_scale_and_value_per_feature(self) -> "TableRecord":
        if len(self.scales) != len(self.features):
            raise ValueError(f"{len(self.scales)} scales for {len(self.features)} features")
        for i, p in enumerate(self.points):
            if len(p.f) != len(self.features):
                raise ValueError(f"point {i} has {len(p.f)} feature values, the table {len(self.features)} features")
        return self

    def to_table(self) -> Table:
        return Table(self.name, list(self.features), list(self.scales), self.work, [p.to_point() for p in self.points])


class LevelRecord(_Record):
    name: str = Field(min_length=1)
    kind: str = Field(min_length=1)  # cache | dram
    capacity_bytes: NonNegative
    copy_bytes_per_s: Positive | None = None
    add_bytes_per_s: Positive | None = None


class DeviceRecord(_OpenRecord):
    kind: str | None = None  # cpu | cuda
    name: str | None = None
    threads: int | None = Field(default=None, ge=1)
    conv_im2col_max_input: int = Field(default=0, ge=0)


class OverheadRecord(_OpenRecord):
    """Seconds (see `CalibrationProfile`); the fresh-page and in-sequence terms per byte / per op."""

    dispatch_s: NonNegative | None = None
    dispatch_alloc_s: NonNegative | None = None
    view_s: NonNegative | None = None
    alloc_s: NonNegative | None = None
    module_call_s: NonNegative | None = None
    module_extra_s: dict[str, NonNegative] = Field(default_factory=dict)
    fresh_page_threshold_bytes: NonNegative | None = None
    fresh_page_s_per_byte: NonNegative | None = None
    conv_input_copies: NonNegative | None = None
    conv_output_copies: NonNegative | None = None
    sequence_op_s: NonNegative | None = None
    sequence_s_per_byte: NonNegative | None = None
    sequence_time_share: NonNegative | None = None
    sequence_fit: dict[str, Any] = Field(default_factory=dict)


class ProfileRecord(_Record):
    """The profile file (`CalibrationProfile.to_dict`, fields in the order it writes them)."""

    version: int
    device: DeviceRecord = Field(default_factory=DeviceRecord)
    created: str = ""
    duration_s: NonNegative = 0.0
    quick: bool = False
    source: str = ""
    overrides: dict[str, Any] = Field(default_factory=dict)
    overhead: OverheadRecord
    bandwidth: dict[str, list[tuple[Positive, Positive]]] = Field(default_factory=dict)  # [set bytes, bytes/s]
    levels: list[LevelRecord] = Field(default_factory=list)
    noise: dict[str, Any] = Field(default_factory=dict)
    anchors: dict[str, NonNegative] = Field(default_factory=dict)
    tables: dict[str, dict[str, TableRecord]]


def parse_profile(data: object, where: str = "calibration profile") -> ProfileRecord:
    """Validate a profile document (the JSON `CalibrationProfile.save` writes).

    Raises:
        CalibrationError: one line naming the bad fields by path (the first `MAX_PROBLEMS` of them), e.g.
            ``invalid calibration profile p.json: tables.fp32.gemm.points.3.t: Input should be greater
            than or equal to 0; ...``.
    """
    try:
        return ProfileRecord.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: "
                    f"{e['msg'].removeprefix('Value error, ')}" for e in errors[:MAX_PROBLEMS]]
        more = f" (and {len(errors) - MAX_PROBLEMS} more)" if len(errors) > MAX_PROBLEMS else ""
        raise CalibrationError(f"invalid {where}: {'; '.join(problems)}{more}; "
                               "run `perfgraph calibrate` again") from None


# ------------------------------------------------------------------------------------------- the profile


@dataclass
class CalibrationProfile:
    """Everything measured on one device at one thread count.

    * ``device``: kind (cpu | cuda), name, threads, torch version, host, cpu flags used.
    * ``overhead``: seconds — ``dispatch_s`` (a tiny op from Python), ``view_s``, ``alloc_s``,
      ``module_call_s`` (a bare nn.Module call) and ``module_extra_s`` {conv, norm, linear, act, pool}
      (a module wrapper around its functional op, the call included).
    * ``bandwidth``: {"copy" | "add": [[working-set bytes, bytes/s], ...]} and ``levels`` (per cache
      level: capacity and the bandwidth measured with a working set that fits it).
    * ``tables``: {dtype: {table name: Table}}.
    * ``noise``: IQR/median over all timings (median, p90, max), load average before and after, and the
      CPU share other processes took while calibrating.
    * ``anchors``: seconds of a few fixed microbenchmarks (`measure.probes.measure_anchors`): timed
      again by `validate`, they show how far the machine's speed has drifted since calibration.
    * ``overrides``/``source``: the numbers `perfgraph.hardware.local.apply_calibration` overlays on
      the detected spec (DRAM and cache bandwidths, launch overhead, best GEMM rate).
    """

    device: dict[str, Any]
    overhead: dict[str, Any]
    bandwidth: dict[str, list[list[float]]]
    levels: list[dict[str, Any]]
    tables: dict[str, dict[str, Table]]
    noise: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    created: str = ""
    duration_s: float = 0.0
    quick: bool = False
    anchors: dict[str, float] = field(default_factory=dict)  # seconds of a few fixed microbenchmarks
    version: int = PROFILE_VERSION

    @property
    def dtypes(self) -> list[str]:
        return sorted(self.tables)

    def table(self, dtype: str, name: str) -> Table | None:
        return self.tables.get(dtype, {}).get(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version, "device": self.device, "created": self.created,
            "duration_s": self.duration_s, "quick": self.quick, "source": self.source,
            "overrides": self.overrides, "overhead": self.overhead, "bandwidth": self.bandwidth,
            "levels": self.levels, "noise": self.noise, "anchors": self.anchors,
            "tables": {dt: {n: t.to_dict() for n, t in tabs.items()} for dt, tabs in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "calibration profile") -> "CalibrationProfile":
        """The profile of a file's document, validated (`parse_profile`; `where` names it in errors).

        Raises:
            CalibrationError: not a profile, another version, or a bad field (one line, with its path).
        """
        if not isinstance(d, dict) or "tables" not in d or "overhead" not in d:
            raise CalibrationError("not a perfgraph calibration profile (no 'tables' / 'overhead')")
        version = d.get("version", 0)
        try:
            version = int(version)
        except (TypeError, ValueError):
            pass  # not a number: reported as it is written
        if version != PROFILE_VERSION:
            raise CalibrationError(f"calibration profile version {version}, expected {PROFILE_VERSION}: "
                                   "run `perfgraph calibrate` again")
        rec = parse_profile(d, where)
        # The open-ended sections (device, overhead, levels, noise, overrides) are kept as the file wrote
        # them once validated, so a load-save round trip writes them back unchanged.
        return cls(
            device=dict(d.get("device", {})), overhead=dict(d["overhead"]),
            bandwidth={k: [[s, b] for s, b in rows] for k, rows in rec.bandwidth.items()},
            levels=list(d.get("levels", [])),
            tables={dt: {n: t.to_table() for n, t in tabs.items()} for dt, tabs in rec.tables.items()},
            noise=dict(d.get("noise", {})), anchors=dict(rec.anchors), overrides=dict(d.get("overrides", {})),
            source=rec.source, created=rec.created, duration_s=rec.duration_s, quick=rec.quick, version=version,
        )

    def save(self, path: str | os.PathLike) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        tmp.replace(p)
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CalibrationProfile":
        p = Path(path)
        try:
            d = json.loads(p.read_text())
        except FileNotFoundError:
            raise CalibrationError(f"no calibration profile at {p}: run `perfgraph calibrate` first") from None
        except (OSError, ValueError) as exc:
            raise CalibrationError(f"cannot read calibration profile {p}: {exc}") from None
        return cls.from_dict(d, f"calibration profile {p}")

    # -- derived numbers ----------------------------------------------------------------------------
    def bandwidth_at(self, working_set: float, which: str = "copy") -> float:
        """Measured bandwidth (bytes/s) for a working set, interpolated in log size; the largest
        measured set's figure beyond the curve (DRAM)."""
        curve = sorted(self.bandwidth.get(which) or self.bandwidth.get("copy") or [])
        if not curve:
            return 10e9
        if working_set <= curve[0][0]:
            return curve[0][1]
        for (s0, b0), (s1, b1) in zip(curve, curve[1:]):
            if working_set <= s1:
                a = (math.log(working_set) - math.log(s0)) / (math.log(s1) - math.log(s0))
                return math.exp(math.log(b0) + a * (math.log(b1) - math.log(b0)))
        return curve[-1][1]

    @property
    def dram_bandwidth(self) -> float:
        curve = sorted(self.bandwidth.get("copy") or [])
        return curve[-1][1] if curve else 10e9

    @property
    def fresh_page_s_per_byte(self) -> float:
        """Seconds per byte of memory faulted in fresh (0 when the calibration found no mmap cliff)."""
        return float(self.overhead.get("fresh_page_s_per_byte", 0.0) or 0.0)

    @property
    def llc_bytes(self) -> float:
        caches = [lv for lv in self.levels if lv.get("kind") == "cache" and lv.get("capacity_bytes")]
        return float(max((lv["capacity_bytes"] for lv in caches), default=8 * 2 ** 20))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "device"


def default_profile_path(threads: int | None = None, device: str = "cpu", device_name: str = "") -> Path:
    """``$PERFGRAPH_HOME/calibration/local-<threads>t.json`` (CPU) or ``.../cuda-<device name>.json``."""
    base = perfgraph_home() / "calibration"
    if device == "cuda":
        return base / f"cuda-{_slug(device_name)}.json"
    if threads is None:
        raise CalibrationError("a CPU profile path needs the thread count")
    return base / f"local-{int(threads)}t.json"


def find_local_profile(threads: int) -> "tuple[CalibrationProfile | None, Path]":
    """This machine's CPU profile for `threads` (`perfgraph calibrate --threads N`), or None, and its path."""
    path = default_profile_path(threads)
    if not path.is_file():
        return None, path
    return CalibrationProfile.load(path), path


def profile_for(hw) -> "CalibrationProfile | None":
    """The calibration profile a mapping onto `hw` uses: this machine's, at its core count, for the `local`
    chip when one exists; None for every other chip."""
    return find_local_profile(hw.unit_count)[0] if hw.id == "local" else None
