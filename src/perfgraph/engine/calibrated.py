"""Calibrated latency prediction for eager PyTorch on a measured machine (pure Python: no torch).

`perfgraph calibrate` (`perfgraph.measure.calibrate`) times microbenchmarks on this machine and stores a
`CalibrationProfile`; `predict_model(mg, profile)` turns a traced model into a predicted eager latency.
The calibration never runs a model: only single ops on synthetic tensors.

**What is predicted: eager PyTorch, one kernel per op.**  Eager mode does not fuse: every non-view ATen op
the trace recorded is launched on its own (a `conv+bn+relu` subgraph is three launches, each reading and
writing memory).  So a subgraph's latency is the sum of its ops' latencies, and the model's latency is the
sum over subgraphs in execution order (sequential schedule: eager CPU runs one op at a time, each op using
all threads).  The partition into subgraphs is kept only to report where the time goes.

Per op (the table is chosen by `table_for`; features by `features_for`)::

    conv (dense | grouped | depthwise), addmm/mm (gemm), bmm     FLOP-rate table, interpolated
    elementwise, norms, reductions, pooling, cat/copies          time-per-byte tables per op name
    view (metadata only)                                          overhead.view_s
    creation (empty, zeros, scalar_tensor)                        overhead.alloc_s (+ fill at copy rate)
    anything else                                                 dispatch_s + bytes / copy bandwidth

**Interpolation** (`Table.predict`): each table holds measured points (feature vector in log2 space,
work, median time).  A query takes the k nearest points (scaled Euclidean distance in log2 features),
interpolates the log of their achieved throughput (work / time: FLOP/s for MAC ops, bytes/s for the rest)
with inverse-square-distance weights, and predicts ``time = work / throughput``, floored at the table's
smallest measured time (an op never runs faster than its launch).  An exact match returns its own time.

**Cold weights.**  In a model, all the other layers' data passes through the caches before a layer's
weights are used again, so they come from memory; the conv and GEMM microbenchmarks therefore read a
different copy of their weights on every call (a pool twice the last-level cache) while their input is
hot (the previous op just wrote it).  For shapes beyond the tables, a weighted op in a model whose weights
exceed half the last-level cache also takes at least ``dispatch + weight_bytes / DRAM bandwidth`` (a
roofline floor: batch-1 linear layers are weight streaming).

**Fresh pages.**  An op whose output is larger than the C allocator's mmap threshold (glibc: at most
32 MiB) gets new pages from the kernel on every call and page-faults on its first write to each: such
outputs (batch-8 activations of early layers) add ``output bytes x fresh_page_s_per_byte``, both numbers
calibrated (`measure.calibrate.measure_fresh_pages`); the tables stay below the threshold.

**Module calls.**  Eager PyTorch also pays Python overhead for every `nn.Module.__call__`.  From the
ops' module paths we count the module calls (a call starts where an op's module path enters a module
the previous op was not in) and add a calibrated cost per call: containers pay `module_call_s`, leaf
modules the measured cost of the module wrapper around their functional op (conv, norm, linear,
activation, pool).

Profiles live in ``$PERFGRAPH_HOME/calibration/`` (default ``~/.perfgraph/calibration/``), named
``local-<threads>t.json`` for the CPU and ``cuda-<device>.json`` for a GPU (`default_profile_path`).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from perfgraph.engine.common import dtype_bytes, gemm_shape
from perfgraph.graph import ModelGraph, Op
from perfgraph.home import perfgraph_home  # noqa: F401 - also imported from here by callers

PROFILE_VERSION = 1
DTYPE_NAMES = {"float32": "fp32", "float": "fp32", "fp32": "fp32", "bfloat16": "bf16", "bf16": "bf16",
               "float16": "fp16", "half": "fp16", "fp16": "fp16"}

# Interpolation: k nearest points, inverse-distance power.  Chosen by leave-one-out cross-validation over
# the microbenchmark points themselves (`cross_validate`), never on models.
K_NEAREST = 4
IDW_POWER = 2.0
# A model's weights count as cache-resident when they take at most this share of the last-level cache.
RESIDENT_SHARE_OF_LLC = 0.5


class CalibrationError(ValueError):
    """A profile that is missing, unreadable, or lacks what a prediction needs (one-line message)."""


# --------------------------------------------------------------------------------------------- the tables


@dataclass
class Point:
    f: list[float]  # features, log2
    work: float  # FLOPs (MAC tables) or bytes (memory tables)
    t: float  # median seconds
    noise: float = 0.0  # IQR / median of the timing
    label: str = ""  # what was run, e.g. "conv 1x64x56x56 k3 s1 -> 64"


@dataclass
class Table:
    """Measured points of one op kind: features (log2), work, median time."""

    name: str
    features: list[str]
    scales: list[float]  # distance weight per feature
    work: str  # "flops" | "bytes"
    points: list[Point] = field(default_factory=list)

    def add(self, f: Sequence[float], work: float, t: float, noise: float = 0.0, label: str = "") -> None:
        self.points.append(Point([float(x) for x in f], float(work), float(t), float(noise), label))

    @property
    def t_floor(self) -> float:
        return min((p.t for p in self.points), default=0.0)

    def predict(self, f: Sequence[float], work: float, *, exclude: int | None = None) -> float:
        """Time for a query (features `f`, log2; `work`).  `exclude`: index of a point left out (for
        cross-validation)."""
        pts = [(i, p) for i, p in enumerate(self.points) if i != exclude and p.t > 0 and p.work > 0]
        if not pts:
            raise CalibrationError(f"calibration table {self.name!r} is empty")
        work = max(float(work), 1.0)
        dists = []
        for i, p in pts:
            d2 = sum((s * (a - b)) ** 2 for s, a, b in zip(self.scales, p.f, f))
            dists.append((d2, i, p))
        dists.sort(key=lambda x: x[0])
        near = dists[:K_NEAREST]
        if near[0][0] < 1e-12:
            p = near[0][2]
            t = p.t * work / p.work  # same features: scale by work (equal work -> its own time)
        else:
            num = den = 0.0
            for d2, _, p in near:
                w = 1.0 / (d2 ** (IDW_POWER / 2.0))
                num += w * math.log(p.work / p.t)
                den += w
            t = work / math.exp(num / den)
        floor = min(p.t for _, p in pts)
        return max(t, floor)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "features": self.features, "scales": self.scales, "work": self.work,
                "points": [[p.f, p.work, p.t, p.noise, p.label] for p in self.points]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Table":
        t = cls(name=d["name"], features=list(d["features"]), scales=[float(s) for s in d["scales"]],
                work=d["work"])
        for row in d.get("points", []):
            f, work, tm = row[0], row[1], row[2]
            noise = row[3] if len(row) > 3 else 0.0
            label = row[4] if len(row) > 4 else ""
            t.points.append(Point([float(x) for x in f], float(work), float(tm), float(noise), str(label)))
        return t


def cross_validate(table: Table) -> dict[str, float]:
    """Leave-one-out error of the interpolation over a table's own points: median and p90 of
    |predicted / measured - 1|.  A measure of how well the table covers its space."""
    errs = []
    for i, p in enumerate(table.points):
        if len(table.points) < 3:
            break
        pred = table.predict(p.f, p.work, exclude=i)
        errs.append(abs(pred / p.t - 1.0))
    if not errs:
        return {"points": len(table.points), "loo_median": float("nan"), "loo_p90": float("nan")}
    errs.sort()
    return {"points": len(table.points), "loo_median": errs[len(errs) // 2],
            "loo_p90": errs[min(len(errs) - 1, int(0.9 * len(errs)))]}


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
    * ``anchors``: seconds of a few fixed microbenchmarks (`measure.calibrate.measure_anchors`): timed
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
    def from_dict(cls, d: dict[str, Any]) -> "CalibrationProfile":
        if not isinstance(d, dict) or "tables" not in d or "overhead" not in d:
            raise CalibrationError("not a perfgraph calibration profile (no 'tables' / 'overhead')")
        version = int(d.get("version", 0))
        if version != PROFILE_VERSION:
            raise CalibrationError(f"calibration profile version {version}, expected {PROFILE_VERSION}: "
                                   "run `perfgraph calibrate` again")
        return cls(
            device=dict(d.get("device", {})), overhead=dict(d["overhead"]),
            bandwidth={k: [list(map(float, r)) for r in v] for k, v in d.get("bandwidth", {}).items()},
            levels=list(d.get("levels", [])),
            tables={dt: {n: Table.from_dict(t) for n, t in tabs.items()} for dt, tabs in d["tables"].items()},
            noise=dict(d.get("noise", {})), anchors={k: float(v) for k, v in d.get("anchors", {}).items()},
            overrides=dict(d.get("overrides", {})), source=d.get("source", ""),
            created=d.get("created", ""), duration_s=float(d.get("duration_s", 0.0)), quick=bool(d.get("quick")),
            version=version,
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
        return cls.from_dict(d)

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


# --------------------------------------------------------------------------------------- op -> features

# Elementwise op families, by ATen base name (the packet: `aten.relu_.default` -> `relu_`).
TRANSCENDENTAL = {"sigmoid", "silu", "gelu", "tanh", "exp", "erf", "log", "softplus", "mish", "elu", "sqrt",
                  "rsqrt", "pow", "log_sigmoid", "erfc", "sin", "cos", "reciprocal", "div"}
BINARY = {"add", "sub", "mul", "div", "where", "maximum", "minimum", "masked_fill", "eq", "ne", "lt", "gt",
          "le", "ge", "logical_and", "logical_or", "bitwise_and"}
COPY_LIKE = {"clone", "copy", "contiguous", "_to_copy", "to", "constant_pad_nd", "roll", "index", "gather",
             "index_select", "repeat", "expand_copy", "slice_scatter", "select_scatter", "embedding",
             "_unsafe_index", "flip", "narrow_copy", "split_with_sizes_copy", "upsample_nearest2d",
             "_reshape_alias", "unfold", "im2col", "pixel_shuffle", "channel_shuffle", "native_channel_shuffle"}
NORM_TABLE = {"native_batch_norm": "batch_norm", "_native_batch_norm_legit_no_training": "batch_norm",
              "_native_batch_norm_legit": "batch_norm", "batch_norm": "batch_norm",
              "cudnn_batch_norm": "batch_norm", "miopen_batch_norm": "batch_norm",
              "native_layer_norm": "layer_norm", "layer_norm": "layer_norm", "native_group_norm": "layer_norm",
              "_fused_rms_norm": "layer_norm", "rms_norm": "layer_norm"}
REDUCTION_TABLE = {"_softmax": "softmax", "_safe_softmax": "softmax", "softmax": "softmax",
                   "_log_softmax": "softmax", "log_softmax": "softmax", "mean": "mean", "sum": "mean",
                   "amax": "mean", "amin": "mean", "max": "mean", "var": "mean", "var_mean": "mean",
                   "std": "mean", "argmax": "mean", "logsumexp": "softmax"}
POOL_TABLE = {"max_pool2d_with_indices": "max_pool2d", "max_pool2d": "max_pool2d", "avg_pool2d": "avg_pool2d",
              "_adaptive_avg_pool2d": "adaptive_avg_pool2d", "adaptive_avg_pool2d": "adaptive_avg_pool2d",
              "adaptive_max_pool2d": "max_pool2d"}
FILL_CREATION = {"zeros", "ones", "full", "new_zeros", "new_ones", "new_full", "zeros_like", "ones_like",
                 "full_like", "fill", "arange", "randn", "rand"}

# Table layout: name -> (features, scales, work).  The calibration fills them with these names.
TABLE_LAYOUT: dict[str, tuple[list[str], list[float], str]] = {
    "conv": (["M", "N", "K", "r"], [1.0, 1.0, 1.0, 0.5], "flops"),
    "conv_im2col": (["M", "N", "K", "r"], [1.0, 1.0, 1.0, 0.5], "flops"),
    "conv_grouped": (["M", "N", "K", "g"], [1.0, 1.0, 1.0, 0.5], "flops"),
    "conv_dw": (["M", "C", "k", "s"], [1.0, 1.0, 1.0, 1.0], "flops"),
    "gemm": (["M", "N", "K"], [1.0, 1.0, 1.0], "flops"),
    "bmm": (["B", "M", "N", "K"], [0.7, 1.0, 1.0, 1.0], "flops"),
}
MEMORY_TABLE_FEATURES: dict[str, tuple[list[str], list[float]]] = {
    "batch_norm": (["elems", "inner"], [1.0, 0.5]),
    "layer_norm": (["elems", "inner"], [1.0, 0.5]),
    "softmax": (["elems", "inner"], [1.0, 0.5]),
    "mean": (["elems", "reduced"], [1.0, 0.5]),
    "max_pool2d": (["elems", "ratio"], [1.0, 0.5]),
    "avg_pool2d": (["elems", "ratio"], [1.0, 0.5]),
    "adaptive_avg_pool2d": (["elems", "ratio"], [1.0, 0.5]),
    "cat": (["elems", "parts"], [1.0, 0.5]),
}
# Which table serves an elementwise / data op whose own name was not measured.
FALLBACK = {"binary": "add", "binary_": "add_", "unary": "relu", "unary_": "relu_",
            "transcendental": "sigmoid", "transcendental_": "silu_", "copy": "clone", "broadcast": "mul_bcast"}


def base_name(op: Op) -> str:
    """`aten.relu_.default` -> `relu_`."""
    parts = (op.target or "").split(".")
    if len(parts) >= 2 and parts[0] in ("aten", "prims", "torchvision", "quantized"):
        return parts[1]
    return re.sub(r"_\d+$", "", op.name or "")


def _prod(xs: Iterable[int]) -> int:
    p = 1
    for x in xs:
        p *= int(x)
    return p


def _l2(x: float) -> float:
    return math.log2(max(float(x), 1e-30))


def _esize(op: Op) -> int:
    return dtype_bytes(op.dtype)


def _out_elems(op: Op) -> int:
    return max(_prod(op.output_shape), 1) if op.output_shape else max(op.bytes_written // max(_esize(op), 1), 1)


def _in_elems(op: Op) -> int:
    return max(op.bytes_read // max(_esize(op), 1), 1)


def conv_table_and_features(op: Op, im2col_max_input: int = 0, threads: int = 2) -> tuple[str, list[float]]:
    """Table and log2 features of a convolution.

    out [N, C_out, *spatial]; M = N x prod(spatial); groups g from the op.  K = C_in/g x kernel volume
    = MACs / (M x C_out).  r = K x g x M / input elements = kernel volume / stride^2 (how much im2col
    would inflate the input; 1 for a 1x1 stride-1 conv).  Depthwise (g = C_out, one input channel per
    group): features M, C, kernel volume k (= K) and stride s (~ sqrt(input / output spatial)).

    Two code paths for dense convolutions (PyTorch's CPU dispatch, `ConvParams::use_mkldnn` in
    aten/src/ATen/native/ConvUtils.h, fp32): oneDNN ("conv"), except that a batch-1, ungrouped conv
    with a kernel of at most 3x3 and an input of at most `im2col_max_input` elements (20480 in torch
    2.x; 0 = no such path, as the calibration detected) runs the native im2col + GEMM path
    ("conv_im2col"), as does a 1x1 stride-1 conv below batch 16 on one thread.  Kernels above 3x3 are
    recognised by r > 9.5 (5x5 and 7x7 at stride 1, 7x7 at stride 2).
    """
    out = [int(x) for x in op.output_shape] or [1, 1, 1]
    n, c_out = out[0], out[1] if len(out) > 1 else 1
    spatial = _prod(out[2:]) if len(out) > 2 else 1
    m = max(n * spatial, 1)
    g = max(int(op.groups or 1), 1)
    k = max(op.macs / (m * max(c_out, 1)), 1.0)
    e_in = _in_elems(op)
    r = k * g * m / e_in
    if g > 1 and g == c_out and k <= 81:
        # depthwise: input elems = N x C x H_in x W_in -> stride^2 ~ input spatial / output spatial
        s2 = e_in / max(n * c_out * spatial, 1)
        return "conv_dw", [_l2(m), _l2(c_out), _l2(k), 0.5 * _l2(max(s2, 1.0))]
    if g > 1:
        return "conv_grouped", [_l2(m), _l2(max(c_out // g, 1)), _l2(k), _l2(g)]
    f = [_l2(m), _l2(c_out), _l2(k), _l2(r)]
    small_kernel = r <= 9.5
    if im2col_max_input and n == 1 and small_kernel and e_in <= im2col_max_input:
        return "conv_im2col", f
    if threads == 1 and n < 16 and 0.9 <= r <= 1.1:  # 1x1, stride 1, one thread
        return "conv_im2col", f
    return "conv", f


def dense_conv_features(op: Op) -> list[float]:
    """Features of the dense-conv table for any convolution (fallback when a grouped table is missing)."""
    out = [int(x) for x in op.output_shape] or [1, 1, 1]
    m = max(out[0] * (_prod(out[2:]) if len(out) > 2 else 1), 1)
    c_out = out[1] if len(out) > 1 else 1
    k = max(op.macs / (m * max(c_out, 1)), 1.0)
    return [_l2(m), _l2(c_out), _l2(k), _l2(k * max(op.groups, 1) * m / _in_elems(op))]


def gemm_table_and_features(op: Op) -> tuple[str, list[float]]:
    shape = gemm_shape(op)
    name = base_name(op)
    if shape.batch > 1 or name in ("bmm", "baddbmm"):
        return "bmm", [_l2(shape.batch), _l2(shape.M), _l2(shape.N), _l2(shape.K)]
    return "gemm", [_l2(shape.M), _l2(shape.N), _l2(shape.K)]


def gemm_features_2d(op: Op) -> list[float]:
    shape = gemm_shape(op)
    return [_l2(shape.M * shape.batch), _l2(shape.N), _l2(shape.K)]


def memory_features(table: str, op: Op) -> list[float]:
    out = [int(x) for x in op.output_shape]
    oe, ie = _out_elems(op), _in_elems(op)
    if table == "batch_norm":
        inner = _prod(out[2:]) if len(out) > 2 else 1
        return [_l2(oe), _l2(inner)]
    if table in ("layer_norm", "softmax"):
        return [_l2(oe), _l2(out[-1] if out else 1)]
    if table == "mean":
        return [_l2(ie), _l2(max(ie / oe, 1.0))]
    if table in ("max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"):
        return [_l2(ie), _l2(max(ie / oe, 1.0))]
    if table == "cat":
        parts = max(len(op.inputs), 2)
        return [_l2(oe), _l2(parts)]
    return [_l2(oe)]


def elementwise_family(op: Op) -> str:
    name = base_name(op)
    inplace = name.endswith("_") and not name.startswith("_")
    bare = name.rstrip("_")
    if bare in COPY_LIKE or op.kind == "data":
        return "copy"
    if bare in BINARY:
        oe = _out_elems(op) * _esize(op)
        if op.bytes_read >= 1.5 * oe:
            return "binary_" if inplace else "binary"
        if bare in ("mul", "add", "sub", "div") and op.bytes_read > oe:  # [N,C,H,W] x [N,C,1,1]
            return "broadcast"
        return "unary_" if inplace else "unary"
    if bare in TRANSCENDENTAL or bare in ("hardswish", "hardsigmoid", "silu", "gelu", "sigmoid", "mish"):
        return "transcendental_" if inplace else "transcendental"
    return "unary_" if inplace else "unary"


def _memory_table_name(op: Op, tables: dict[str, Table]) -> str | None:
    """The table for a non-MAC op: its own name when measured, else its family's."""
    name = base_name(op)
    bare = name.rstrip("_")
    if op.kind == "norm" or name in NORM_TABLE:
        return NORM_TABLE.get(name, "batch_norm" if "batch" in name else "layer_norm")
    if op.kind == "pool" or name in POOL_TABLE:
        return POOL_TABLE.get(name, "max_pool2d" if "max" in name else "avg_pool2d")
    if op.kind == "reduction" or name in REDUCTION_TABLE:
        return REDUCTION_TABLE.get(name, "mean")
    if bare == "cat" or name == "stack":
        return "cat"
    fam = elementwise_family(op)
    if fam == "broadcast":
        return "mul_bcast"
    if name in tables and op.kind in ("elementwise", "data") and (bare not in BINARY or fam.startswith("binary")):
        return name  # its own table (a binary op's only when both operands are full size: not mul.Scalar)
    if fam == "copy":
        return "clone"
    return FALLBACK.get(fam)


# ------------------------------------------------------------------------------------------ prediction


@dataclass
class OpPrediction:
    index: int
    name: str
    table: str  # table used, or "view" / "alloc" / "copy-bandwidth"
    time_s: float
    floor: str = ""  # "dram-weights" (the cold-weight floor set the time), "fresh-pages" (page faults added)
    fresh_s: float = 0.0  # of time_s, the page faults of a fresh output allocation


@dataclass
class SubgraphLatency:
    index: int
    pattern: str
    latency_s: float  # sum of its launched ops (eager: no fusion)
    launched_ops: int  # non-view ops
    view_ops: int
    dominant_table: str
    flops: int
    ops: list[OpPrediction] = field(default_factory=list)


@dataclass
class PredictedLatency:
    model_id: str
    dtype: str
    batch: int
    latency_s: float  # ops + module-call overhead + in-sequence term (sequential: one op at a time)
    ops_s: float
    module_overhead_s: float
    module_calls: int
    launched_ops: int
    view_ops: int
    weights_resident: bool  # weights fit the cache share: no DRAM floor
    schedule: str = "sequential (eager CPU: one op at a time, each on all threads)"
    subgraphs: list[SubgraphLatency] = field(default_factory=list)
    by_table_s: dict[str, float] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)  # op names predicted through a family's table
    profile_device: str = ""
    sequence_s: float = 0.0  # the in-sequence term: per launched op and per activation byte (calibrated)
    fresh_page_s: float = 0.0  # of ops_s, page faults of outputs above the fresh-page threshold

    def as_dict(self, ops: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not ops:
            for sg in d["subgraphs"]:
                sg.pop("ops", None)
        return d


def _precision(mg: ModelGraph) -> str:
    return DTYPE_NAMES.get((mg.info.dtype or "fp32").lower().replace("torch.", ""), mg.info.dtype)


class Predictor:
    """Per-op eager latency from one profile and one dtype (see the module docstring)."""

    def __init__(self, profile: CalibrationProfile, dtype: str = "fp32", weights_resident: bool = True):
        self.profile = profile
        self.dtype = dtype
        self.tables = profile.tables.get(dtype)
        if self.tables is None:
            have = ", ".join(profile.dtypes) or "none"
            raise CalibrationError(f"the calibration profile has no {dtype} tables (has: {have}); "
                                   f"run `perfgraph calibrate --dtype {dtype}`")
        ov = profile.overhead
        self.dispatch = float(ov.get("dispatch_s", 2e-6))
        self.view = float(ov.get("view_s", 0.5e-6))
        self.alloc = float(ov.get("alloc_s", 1e-6))
        self.weights_resident = weights_resident
        self.im2col_max_input = int(profile.device.get("conv_im2col_max_input", 0) or 0)
        self.fresh_threshold = float(ov.get("fresh_page_threshold_bytes", 0.0) or 0.0)
        self.fresh_cost = profile.fresh_page_s_per_byte
        self.threads = int(profile.device.get("threads") or 2)
        self.dram_bw = profile.dram_bandwidth
        self.fallbacks: set[str] = set()

    def _table(self, name: str) -> Table | None:
        return self.tables.get(name)

    def predict_op(self, op: Op) -> OpPrediction:
        name = base_name(op)
        if op.kind == "view":
            return OpPrediction(op.index, op.name, "view", self.view)
        if op.kind == "creation":
            t = self.alloc
            if name in FILL_CREATION and op.bytes_written:
                t += op.bytes_written / self.profile.bandwidth_at(op.bytes_written, "copy")
            return OpPrediction(op.index, op.name, "alloc", t)
        if op.kind in ("conv", "matmul", "attention") and op.macs > 0:
            if op.kind == "conv":
                tname, f = conv_table_and_features(op, self.im2col_max_input, self.threads)
                if tname not in self.tables:  # no grouped / depthwise / im2col table: the dense one
                    self.fallbacks.add(f"{tname}->conv")
                    tname, f = "conv", dense_conv_features(op)
            else:
                tname, f = gemm_table_and_features(op)
                if tname not in self.tables:
                    self.fallbacks.add(f"{tname}->gemm")
                    tname, f = "gemm", gemm_features_2d(op)
            table = self._table(tname)
            if table is None:
                raise CalibrationError(f"the calibration profile has no {tname!r} table")
            t = table.predict(f, max(op.flops, 1))
            return self._fresh_pages(op, self._weights_floor(op, OpPrediction(op.index, op.name, tname, t)))
        tname = _memory_table_name(op, self.tables)
        table = self._table(tname) if tname else None
        if table is not None:
            if tname != name and tname not in MEMORY_TABLE_FEATURES and tname != "mul_bcast":
                self.fallbacks.add(f"{name}->{tname}")
            t = table.predict(memory_features(tname, op), max(op.bytes_total, 1))
            return self._fresh_pages(op, self._weights_floor(op, OpPrediction(op.index, op.name, tname, t)))
        # Not covered by any table: one dispatch plus its bytes at the measured copy bandwidth.
        self.fallbacks.add(f"{name}->copy-bandwidth")
        nbytes = max(op.bytes_total, 0)
        t = self.dispatch + (nbytes / self.profile.bandwidth_at(nbytes, "copy") if nbytes else 0.0)
        return self._fresh_pages(op, OpPrediction(op.index, op.name, "copy-bandwidth", t))

    def _fresh_pages(self, op: Op, pred: OpPrediction) -> OpPrediction:
        """An output above the allocator's mmap threshold gets fresh pages on every call: add the
        calibrated page-fault cost per byte (in-place ops and views allocate nothing)."""
        if not self.fresh_threshold or not self.fresh_cost:
            return pred
        name = base_name(op)
        if op.kind in ("view", "creation") or (name.endswith("_") and not name.startswith("_")):
            return pred
        nbytes = _out_elems(op) * _esize(op)
        if name.startswith("max_pool") and "indices" in name:
            nbytes += _out_elems(op) * 8  # the int64 indices are allocated too
        if nbytes > self.fresh_threshold:
            pred.fresh_s = nbytes * self.fresh_cost
            pred.time_s += pred.fresh_s
            pred.floor = (pred.floor + "+" if pred.floor else "") + "fresh-pages"
        return pred

    def _weights_floor(self, op: Op, pred: OpPrediction) -> OpPrediction:
        if self.weights_resident or not op.weight_bytes:
            return pred
        floor = self.dispatch + op.weight_bytes / self.dram_bw
        if floor > pred.time_s:
            pred.time_s, pred.floor = floor, "dram-weights"
        return pred


# ------------------------------------------------------------------------------------ module-call count

MODULE_KIND = {"conv": "conv", "norm": "norm", "matmul": "linear", "attention": "linear", "elementwise": "act",
               "pool": "pool", "reduction": "pool"}


def module_calls(ops: Sequence[Op]) -> dict[str, int]:
    """How many nn.Module calls the ops imply, by kind (container | conv | norm | linear | act | pool |
    other).  A call of module P starts at an op whose module path is P or below P when the previous op's
    path was not (consecutive calls of one module merge: rare).  The root model call counts as one
    container.  A leaf module (no op runs in a submodule of it) takes the kind of its first compute op
    (views and allocations skipped)."""
    paths = {op.module_path or "" for op in ops}
    prefixes_of_paths: set[str] = set()
    for p in paths:
        parts = p.split(".") if p else []
        for i in range(1, len(parts)):
            prefixes_of_paths.add(".".join(parts[:i]))
    first_kind: dict[str, str] = {}
    for op in ops:
        p = op.module_path or ""
        if op.kind in MODULE_KIND and p not in first_kind:  # skips views and allocations
            first_kind[p] = op.kind
    counts: dict[str, int] = {"container": 1}  # the model itself
    prev: list[str] = []
    for op in ops:
        parts = (op.module_path or "").split(".") if op.module_path else []
        chain = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        common = 0
        while common < min(len(chain), len(prev)) and chain[common] == prev[common]:
            common += 1
        for mod in chain[common:]:
            if mod in prefixes_of_paths:
                kind = "container"
            else:
                kind = MODULE_KIND.get(first_kind.get(mod, ""), "other")
            counts[kind] = counts.get(kind, 0) + 1
        prev = chain
    return counts


def module_overhead_s(counts: dict[str, int], overhead: dict[str, Any]) -> float:
    call = float(overhead.get("module_call_s", 1e-6))
    extra = overhead.get("module_extra_s", {}) or {}
    total = 0.0
    for kind, n in counts.items():
        per = call if kind in ("container", "other") else float(extra.get(kind, call))
        total += n * per
    return total


# ------------------------------------------------------------------------------------------- the model


def weights_bytes(mg: ModelGraph) -> float:
    if mg.values and any(v.is_weight for v in mg.values):
        return float(sum(v.nbytes for v in mg.values if v.is_weight and v.producer < 0))
    return float(sum(op.weight_bytes for op in mg.ops))


def sequence_term_s(launched_ops: int, act_bytes: float, overhead: dict[str, Any]) -> float:
    """The calibrated in-sequence cost (`measure.sequences`): ops run back to back in a network pay more
    than in a tight loop, ``sequence_op_s`` per launched op plus ``sequence_s_per_byte`` per byte of
    activations they read and write."""
    return (launched_ops * float(overhead.get("sequence_op_s", 0.0) or 0.0)
            + act_bytes * float(overhead.get("sequence_s_per_byte", 0.0) or 0.0))


def activation_bytes(ops: Sequence[Op]) -> float:
    """Bytes the launched ops read and write, weights excluded (the in-sequence term's second feature)."""
    return float(sum(op.bytes_read + op.bytes_written for op in ops if op.kind != "view"))


def predict_model(mg: ModelGraph, profile: CalibrationProfile, dtype: str | None = None,
                  sequence: bool = True) -> PredictedLatency:
    """Predicted eager latency of a traced model on the calibrated device (module docstring).
    `sequence=False` leaves out the in-sequence term (the calibration fits it against that)."""
    dtype = dtype or _precision(mg)
    wbytes = weights_bytes(mg)
    resident = wbytes <= RESIDENT_SHARE_OF_LLC * profile.llc_bytes
    pred = Predictor(profile, dtype, weights_resident=resident)
    by_index = {op.index: op for op in mg.ops}
    per_op: dict[int, OpPrediction] = {op.index: pred.predict_op(op) for op in mg.ops}
    subgraphs: list[SubgraphLatency] = []
    covered: set[int] = set()
    by_table: dict[str, float] = {}
    for sg in sorted(mg.subgraphs, key=lambda s: s.index):
        preds = [per_op[i] for i in sg.op_indices if i in per_op]
        covered.update(sg.op_indices)
        subgraphs.append(_subgraph_latency(sg.index, sg.pattern, preds, sg.flops, by_index))
    rest = [per_op[i] for i in sorted(per_op) if i not in covered]
    if rest:  # ops outside every subgraph (an unpartitioned graph): one pseudo-subgraph
        subgraphs.append(_subgraph_latency(-1, "unpartitioned", rest, sum(by_index[p.index].flops for p in rest),
                                           by_index))
    for p in per_op.values():
        by_table[p.table] = by_table.get(p.table, 0.0) + p.time_s
    ops_s = sum(p.time_s for p in per_op.values())
    counts = module_calls(mg.ops)
    mod_s = module_overhead_s(counts, profile.overhead)
    by_table["module-calls"] = mod_s
    launched = sum(1 for op in mg.ops if op.kind != "view")
    seq_s = sequence_term_s(launched, activation_bytes(mg.ops), profile.overhead) if sequence else 0.0
    if seq_s:
        by_table["in-sequence"] = seq_s
    return PredictedLatency(
        model_id=mg.info.id, dtype=dtype, batch=mg.info.batch, latency_s=ops_s + mod_s + seq_s, ops_s=ops_s,
        sequence_s=seq_s, fresh_page_s=sum(p.fresh_s for p in per_op.values()),
        module_overhead_s=mod_s, module_calls=sum(counts.values()), launched_ops=launched,
        view_ops=len(mg.ops) - launched, weights_resident=resident, subgraphs=subgraphs,
        by_table_s=dict(sorted(by_table.items(), key=lambda kv: -kv[1])), fallbacks=sorted(pred.fallbacks),
        profile_device=str(profile.device.get("name", "")),
    )


def _subgraph_latency(index: int, pattern: str, preds: list[OpPrediction], flops: int,
                      by_index: dict[int, Op]) -> SubgraphLatency:
    views = sum(1 for p in preds if p.table == "view")
    dom = max(preds, key=lambda p: p.time_s).table if preds else ""
    return SubgraphLatency(index=index, pattern=pattern, latency_s=sum(p.time_s for p in preds),
                           launched_ops=len(preds) - views, view_ops=views, dominant_table=dom, flops=int(flops),
                           ops=preds)


# ------------------------------------------------------------------------------------ hardware overlay


def hardware_overrides(profile: CalibrationProfile) -> dict[str, Any]:
    """The profile as an `apply_calibration` overlay: {"source": ..., "overrides": {...}}."""
    return {"source": profile.source or "calibrated: perfgraph calibrate", "overrides": profile.overrides}
