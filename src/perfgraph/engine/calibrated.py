"""Calibrated latency prediction for eager PyTorch on a measured machine (pure Python: no torch).

`perfgraph calibrate` (`perfgraph.measure.calibrate`) times microbenchmarks on this machine and stores a
`CalibrationProfile`; `predict_model(mg, profile)` turns a traced model into a predicted eager latency.
The calibration never runs a model: only single ops on synthetic tensors.

**What is predicted: eager PyTorch, one kernel per op.**  Eager mode does not fuse: every non-view ATen op
the trace recorded is launched on its own (a `conv+bn+relu` subgraph is three launches, each reading and
writing memory).  So a subgraph's latency is the sum of its ops' latencies, and the model's latency is the
sum over subgraphs in execution order (sequential schedule: eager CPU runs one op at a time, each op using
all threads).  The partition into subgraphs is kept only to report where the time goes.

Per op (the table and the op's features: `engine.calibrated_features`)::

    conv (dense | grouped | depthwise), addmm/mm (gemm), bmm     FLOP-rate table, interpolated
    elementwise, norms, reductions, pooling, cat/copies          time-per-byte tables per op name
    view (metadata only)                                          overhead.view_s
    creation (empty, zeros, scalar_tensor)                        overhead.alloc_s (+ fill at copy rate)
    anything else                                                 dispatch_s + bytes / copy bandwidth

**Interpolation** (`engine.calibration_table.Table.predict`): the k nearest measured points in log2
feature space, their throughput interpolated with inverse-square-distance weights, floored at the
table's smallest measured time.

**Cold weights.**  In a model, all the other layers' data passes through the caches before a layer's
weights are used again, so they come from memory; the conv and GEMM microbenchmarks therefore read a
different copy of their weights on every call (a pool twice the last-level cache) while their input is
hot (the previous op just wrote it).  For shapes beyond the tables, a weighted op in a model whose weights
exceed half the last-level cache also takes at least ``dispatch + weight_bytes / DRAM bandwidth`` (a
roofline floor: batch-1 linear layers are weight streaming).

**Fresh pages.**  An op whose output is larger than the C allocator's mmap threshold (glibc: at most
32 MiB) gets new pages from the kernel on every call and page-faults on its first write to each: such
outputs (batch-8 activations of early layers) add ``output bytes x fresh_page_s_per_byte``, both numbers
calibrated (`measure.probes.measure_fresh_pages`); the tables stay below the threshold.  A convolution
on oneDNN also allocates its blocked-layout copies of the input and the output (counted by calibration,
`measure.probes.measure_conv_copies`); each one above the threshold is fresh pages too.

**Module calls.**  Eager PyTorch also pays Python overhead for every `nn.Module.__call__`.  From the
ops' module paths we count the module calls (a call starts where an op's module path enters a module
the previous op was not in) and add a calibrated cost per call: containers pay `module_call_s`, leaf
modules the measured cost of the module wrapper around their functional op (conv, norm, linear,
activation, pool).

The profile, its file format and where profiles live: `engine.calibration_profile`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from perfgraph.engine.calibrated_features import (
    FILL_CREATION, MEMORY_TABLE_FEATURES, ONEDNN_CONV_TABLES, base_name, conv_table_and_features,
    dense_conv_features, elem_bytes, gemm_features_2d, gemm_table_and_features, memory_features,
    memory_table_name, out_elems,
)
from perfgraph.engine.calibration_profile import (  # noqa: F401 - the path helpers: callers import them from here
    CalibrationProfile, default_profile_path, profile_for,
)
from perfgraph.engine.calibration_table import CalibrationError, Table
from perfgraph.graph import ModelGraph, Op

DTYPE_NAMES = {"float32": "fp32", "float": "fp32", "fp32": "fp32", "bfloat16": "bf16", "bf16": "bf16",
               "float16": "fp16", "half": "fp16", "fp16": "fp16"}
# A model's weights count as cache-resident when they take at most this share of the last-level cache.
RESIDENT_SHARE_OF_LLC = 0.5


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
    sequence_s: float = 0.0  # the in-sequence term: per launched op, share of op time, per byte (calibrated)
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
        self.conv_input_copies = int(ov.get("conv_input_copies", 0) or 0)
        self.conv_output_copies = int(ov.get("conv_output_copies", 0) or 0)
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
        tname = memory_table_name(op, self.tables)
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
        out_bytes = out_elems(op) * elem_bytes(op)
        if name.startswith("max_pool") and "indices" in name:
            out_bytes += out_elems(op) * 8  # the int64 indices are allocated too
        buffers = [out_bytes]
        if op.kind == "conv" and pred.table in ONEDNN_CONV_TABLES:
            # oneDNN's blocked-layout temporaries (measure.probes.measure_conv_copies)
            buffers += [op.bytes_read] * self.conv_input_copies  # activations only
            buffers += [out_bytes] * self.conv_output_copies
        nbytes = sum(b for b in buffers if b > self.fresh_threshold)
        if nbytes:
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


def sequence_term_s(launched_ops: int, act_bytes: float, overhead: dict[str, Any], base_s: float = 0.0) -> float:
    """The calibrated in-sequence cost (`measure.sequences`): ops run back to back in a network pay more
    than in a tight loop, ``sequence_op_s`` per launched op, ``sequence_time_share`` of their own
    predicted time `base_s` (ops and module calls), and ``sequence_s_per_byte`` per byte of activations
    they read and write.

    >>> round(sequence_term_s(100, 0.0, {"sequence_op_s": 20e-6, "sequence_time_share": 0.25}, base_s=0.010), 9)
    0.0045
    """
    return (launched_ops * float(overhead.get("sequence_op_s", 0.0) or 0.0)
            + base_s * float(overhead.get("sequence_time_share", 0.0) or 0.0)
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
    seq_s = (sequence_term_s(launched, activation_bytes(mg.ops), profile.overhead, base_s=ops_s + mod_s)
             if sequence else 0.0)
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
