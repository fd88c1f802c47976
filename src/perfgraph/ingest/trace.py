"""Trace a model into an op graph: build it, run one forward pass under the recorder, cost every op.

Tracers, tried in order (the one that worked is recorded on the model as `tracer`):
- `meta`: the module is built under `torch.device("meta")` and run on meta tensors. Nothing is computed
  or allocated, so it is the fastest path and the only one that fits 7-billion-parameter models here.
- `real`: the same recorder on real CPU tensors (weights initialised with a fixed seed), for models whose
  control flow reads tensor values (detection proposals, NMS), which meta tensors cannot answer.

Why not torch.export or make_fx first: both also run the model (on fake tensors) and then add graph
capture, guards and functionalisation on top — several times slower than recording the same ATen ops
directly (see `benchmarks/bench_tracers.py`), and neither handles data-dependent control flow better.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import signal
import threading
import time
from typing import Any

import torch
from torch.utils._pytree import tree_flatten

from perfgraph.graph import ModelGraph, ModelInfo, Op, Value
from perfgraph.ingest import limits as _limits
from perfgraph.ingest.model_source import BuiltModel, ModelExitError, dtype_label, exits_raise
from perfgraph.ingest.recorder import Limits, OpRecorder, Recording, TraceLimitError

TRACERS = ("meta", "real")

# Ops that allocate without writing: they move no bytes.
_NO_WRITE = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided"}
# In-place writes into part of their destination (a static KV cache's index_copy_ of one token per
# sequence): the destination is neither read nor rewritten whole, only the rows written move. The values
# written are the op's last tensor input; the *_add_ forms also read the rows they add to.
_PARTIAL_WRITES = {"index_copy_", "index_put_", "_index_put_impl_", "scatter_", "masked_scatter_"}
_PARTIAL_ADDS = {"index_add_", "scatter_add_", "scatter_reduce_"}
# Gathers read the rows they pick from their source (inputs[0]: an embedding table, a tensor indexed), not
# the whole source: at most as many bytes as they write (a decode step's token embedding is one row).
_GATHERS = {"embedding", "index_select", "gather", "index", "take"}


class TraceError(RuntimeError):
    """No tracer could run the model; the message is one line naming the model and the reason."""


@contextlib.contextmanager
def _module_path_tracking(model: torch.nn.Module, stack: list[str]):
    """Keep `stack[-1]` equal to the qualified name of the module whose forward is running."""
    names = {id(m): n for n, m in model.named_modules(remove_duplicate=False)}

    def pre(module, args):
        stack.append(names.get(id(module), stack[-1] if stack else ""))

    def post(module, args, out):
        if stack:
            stack.pop()

    h_pre = torch.nn.modules.module.register_module_forward_pre_hook(pre)
    h_post = torch.nn.modules.module.register_module_forward_hook(post, always_call=True)
    try:
        yield
    finally:
        h_pre.remove()
        h_post.remove()


@contextlib.contextmanager
def _weights_on_meta():
    """Parameters and buffers go to meta as they are registered; everything else stays on the CPU.

    For builders that compute with tensors while constructing (torchvision's RegNet derives its block
    widths with tensor ops, which fail on meta): the CPU tensors `nn.Module`s allocate with `torch.empty`
    are never touched, and their initialisation then runs on meta, so this costs no real memory or time.
    """
    register_parameter = torch.nn.Module.register_parameter
    register_buffer = torch.nn.Module.register_buffer

    def parameter_on_meta(module, name, param):
        if param is not None and param.device.type != "meta":
            param = torch.nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register_parameter(module, name, param)

    def buffer_on_meta(module, name, tensor, persistent=True):
        if tensor is not None:
            tensor = tensor.to("meta")
        register_buffer(module, name, tensor, persistent)

    torch.nn.Module.register_parameter = parameter_on_meta
    torch.nn.Module.register_buffer = buffer_on_meta
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register_parameter
        torch.nn.Module.register_buffer = register_buffer


def _build(built: BuiltModel, device: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if device != "meta":
        with torch.device(device):
            return built.build()
    try:
        with torch.device("meta"):
            return built.build()
    except Exception:  # noqa: BLE001 - the builder computes with tensors: keep those real, weights on meta
        with _weights_on_meta():
            return built.build()


def _record(built: BuiltModel, dtype: torch.dtype, device: str, recorder: OpRecorder) -> int:
    """Run one forward pass of `built` under `recorder`; returns the parameter count."""
    model = _build(built, device)
    model = model.to(dtype=dtype).eval()
    inputs = built.make_inputs(torch.device(device), dtype)
    params = sum(p.numel() for p in model.parameters())
    recorder.mark_inputs([t for t in tree_flatten(inputs)[0] if isinstance(t, torch.Tensor)])
    with torch.no_grad(), _module_path_tracking(model, recorder._module_paths), recorder:
        out = model(*inputs)
    recorder.mark_outputs(out)
    return params


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = f"{type(exc).__name__}: {text[0] if text else ''}"
    # Short enough that the next tracer's reason still fits on the user's one error line.
    return first if len(first) <= 120 else first[:117] + "..."


@contextlib.contextmanager
def _alarm(seconds: float):
    """Also stop a forward pass that hangs in Python without executing ops (SIGALRM, main thread only)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or not seconds or not math.isfinite(seconds):
        yield
        return

    def on_alarm(signum, frame):
        raise TraceLimitError(f"the model ran longer than {seconds:g} s (--trace-timeout): does it ever end?")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def trace(built: BuiltModel, dtype: torch.dtype = torch.float32, tracers: tuple[str, ...] = TRACERS,
          limits: _limits.TraceLimits | None = None) -> ModelGraph:
    """Record `built` with the first tracer that works and return its costed op graph.

    `limits` (default: `limits.current()`, set by the CLI's options) bound the op count, the time and, for
    the real-tensor tracer, the memory; running past one stops at once with a `TraceError`."""
    limits = limits or _limits.current()
    errors = []
    partial: Recording | None = None  # what the meta tracer recorded before it failed: sizes the real one
    for tracer in tracers:
        if tracer not in TRACERS:
            raise TraceError(f"unknown tracer {tracer!r}; choose from {', '.join(TRACERS)}")
        check_memory = None
        if tracer == "real":
            with exits_raise(f"the code of {built.name}"):
                too_big, check_memory = _real_tensor_budget(built, dtype, limits, partial)
            if too_big:
                errors.append(f"real: {too_big}")
                continue
        stack: list[str] = []
        started = time.monotonic()
        bounds = Limits(max_ops=limits.max_ops, deadline=started + limits.timeout_s, timeout_s=limits.timeout_s,
                        check_memory=check_memory)
        recorder = OpRecorder(stack, bounds, built.output_overrides)
        try:
            with exits_raise(f"the code of {built.name}"), _alarm(limits.timeout_s):
                params = _record(built, dtype, "meta" if tracer == "meta" else "cpu", recorder)
        except (TraceLimitError, ModelExitError) as exc:  # another tracer would run into the same wall
            raise TraceError(f"cannot trace {built.name}: {tracer}: {exc}") from None
        except SystemExit as exc:
            raise TraceError(f"cannot trace {built.name}: {tracer}: the model called sys.exit({exc.code})") from None
        except Exception as exc:  # noqa: BLE001 - any failure means: try the next tracer
            errors.append(f"{tracer}: {_one_line(exc)}")
            if tracer == "meta":
                partial = recorder.recording
            continue
        recording = recorder.recording
        if not recording.ops:
            errors.append(f"{tracer}: the forward pass executed no ATen op")
            continue
        return to_model_graph(recording, built, dtype, params, tracer)
    raise TraceError(f"cannot trace {built.name}: " + "; ".join(errors))


def peak_live_bytes(rec: Recording) -> int:
    """The most bytes that op outputs hold at once during `rec`, each freed after its last reader (views
    and in-place results share their base's memory and add nothing)."""
    last_use: dict[int, int] = {}
    for i, rop in enumerate(rec.ops):
        for v in rop.inputs:
            last_use[v] = i
    change = [0] * (len(rec.ops) + 1)
    for i, rop in enumerate(rec.ops):
        if rop.cost.kind == "view" or rop.in_place:
            continue
        for v in rop.outputs:
            value = rec.values[v]
            change[i] += value.nbytes
            end = len(rec.ops) if value.is_model_output else max(last_use.get(v, i), i)
            change[min(end + 1, len(rec.ops))] -= value.nbytes
    peak = live = 0
    for c in change:
        live += c
        peak = max(peak, live)
    return peak


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _real_tensor_budget(built: BuiltModel, dtype: torch.dtype, limits: _limits.TraceLimits,
                        partial: Recording | None):
    """Whether real CPU tensors fit the memory budget: ('why not', None), or ('', a check the recorder runs
    before each op, stopping the trace when the process has grown past the budget).

    The estimate: weights + inputs + the peak of live activations in what the meta tracer recorded before
    it failed (for a detector, the backbone: the bulk of its activations). What runs after that point is
    bounded by the check, which watches this process's resident memory."""
    budget, how = limits.memory_budget()
    if budget is None:
        return "", None
    try:
        model = _build(built, "meta")
        esize = torch.empty((), dtype=dtype).element_size()
        weights = sum(p.numel() for p in model.parameters()) * esize
        weights += sum(b.numel() * b.element_size() for b in model.buffers())
    except Exception:  # noqa: BLE001 - if we cannot tell, the check below still bounds the run
        weights, esize = 0, torch.empty((), dtype=dtype).element_size()
    inputs = math.prod(built.input_shape) * esize
    activations = peak_live_bytes(partial) if partial is not None and partial.ops else 0
    need = weights + inputs + activations
    if need > budget:
        return (f"needs ~{_gib(need)} (weights {_gib(weights)}, inputs {_gib(inputs)}, activations so far "
                f"{_gib(activations)}) > budget {_gib(budget)} ({how})"), None
    start = _rss_bytes()
    if start is None:
        return "", None

    def check() -> str:
        now = _rss_bytes()
        if now is not None and now - start > budget:
            return f"grew past the memory budget of {_gib(budget)} ({how}) while tracing; lower --batch"
        return ""

    return "", check


def model_id(built: BuiltModel, dtype: torch.dtype) -> str:
    """Deterministic: the same model and options give the same id on any machine."""
    shape = "x".join(str(d) for d in built.input_shape[1:])
    parts = [built.name, f"b{built.batch}", shape, dtype_label(dtype)]
    parts += [f"{k}={v}" for k, v in sorted(built.options.items())]
    return ":".join(parts)


def to_model_graph(rec: Recording, built: BuiltModel, dtype: torch.dtype, params: int, tracer: str) -> ModelGraph:
    mid = model_id(built, dtype)
    consumers: dict[int, list[int]] = {}
    for i, rop in enumerate(rec.ops):
        for v in rop.inputs:
            consumers.setdefault(v, []).append(i)
    values = [Value(vid, rv.nbytes, rv.producer, rv.is_weight, rv.is_model_input, rv.is_model_output)
              for vid, rv in enumerate(rec.values)]
    ops: list[Op] = []
    edges: dict[tuple[int, int], int] = {}
    for i, rop in enumerate(rec.ops):
        kind = rop.cost.kind
        if kind == "view":
            read = weight = written = 0
        else:
            read = sum(values[v].nbytes for v in rop.inputs if not values[v].is_weight)
            weight = sum(values[v].nbytes for v in rop.inputs if values[v].is_weight)
            # The first output is always written; extra outputs (saved statistics, pooling indices) only
            # when something reads them.
            written = sum(values[v].nbytes for k, v in enumerate(rop.outputs)
                          if k == 0 or v in consumers or values[v].is_model_output)
            if rop.name in _NO_WRITE:
                written = 0
            if rop.name in _GATHERS and rop.inputs and rop.outputs:
                source = values[rop.inputs[0]]
                picked = min(source.nbytes, values[rop.outputs[0]].nbytes)
                others = sum(values[v].nbytes for v in rop.inputs[1:] if not values[v].is_weight)
                read, weight = (others, picked) if source.is_weight else (others + picked, weight)
            if rop.in_place and rop.name in _PARTIAL_WRITES | _PARTIAL_ADDS and len(rop.inputs) >= 2:
                rest = rop.inputs[1:]  # inputs[0] is the destination
                written = values[rest[-1]].nbytes
                read = sum(values[v].nbytes for v in rest if not values[v].is_weight)
                read += written if rop.name in _PARTIAL_ADDS else 0
                weight = sum(values[v].nbytes for v in rest if values[v].is_weight)
        pb, pc, ps = parallelism(rop.output_shape)
        ops.append(Op(
            uid=f"{mid}/op{i}", model_id=mid, index=i, name=f"{rop.name}_{i}", target=rop.target, kind=kind,
            macs=rop.cost.macs, flops=rop.cost.flops, bytes_read=read, bytes_written=written,
            weight_bytes=weight, output_shape=rop.output_shape, dtype=rop.dtype, module_path=rop.module_path,
            parallelism_batch=pb, parallelism_channels=pc, parallelism_spatial=ps, costed=rop.cost.costed, groups=rop.groups,
            inputs=list(rop.inputs), outputs=list(rop.outputs),
        ))
        for v in rop.inputs:
            p = values[v].producer
            if p >= 0 and p != i:
                edges[(p, i)] = edges.get((p, i), 0) + values[v].nbytes
    info = ModelInfo(
        id=mid, name=built.name, source=built.source, batch=built.batch, input_shape=list(built.input_shape),
        dtype=dtype_label(dtype), params=params, macs=sum(o.macs for o in ops), flops=sum(o.flops for o in ops),
        ops=len(ops), tracer=tracer, ingested_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        published_macs=built.published.get("macs"), published_params=built.published.get("params"),
        assumptions=list(built.assumptions.values()),
    )
    return ModelGraph(info=info, ops=ops, values=values, op_edges=[(s, d, b) for (s, d), b in edges.items()])


def parallelism(shape: list[int]) -> tuple[int, int, int]:
    """(batch, channels, spatial) of an output shape.

    Rank 4/5 are read as NCHW / NCDHW (torchvision's layout); rank 3 as (batch, sequence, features) as in
    transformers, where the sequence is the spatial axis; rank 2 as (batch, features).
    """
    if not shape:
        return 1, 1, 1
    if len(shape) == 1:
        return 1, shape[0], 1
    if len(shape) == 2:
        return shape[0], shape[1], 1
    if len(shape) == 3:
        return shape[0], shape[2], shape[1]
    spatial = 1
    for d in shape[2:]:
        spatial *= d
    return shape[0], shape[1], spatial


def describe_inputs(inputs: Any) -> list[list[int]]:
    return [list(t.shape) for t in tree_flatten(inputs)[0] if isinstance(t, torch.Tensor)]
