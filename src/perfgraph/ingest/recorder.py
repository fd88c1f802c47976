"""Record the ATen ops a forward pass executes, linked into a data-flow graph by tensor identity.

Runs under a `TorchDispatchMode`, so it sees exactly the ops the runtime dispatches, after autograd's
decompositions, whatever Python control flow produced them. On meta tensors nothing is computed and no
memory is allocated, which is why a 7-billion-parameter model can be analysed on a laptop; on real tensors
the same recorder covers models whose control flow depends on data (detection: proposals, NMS).

Every tensor result becomes a `Value` (SSA: an in-place op creates a new value for the tensor it mutates,
and for the view's base when it mutates a view), so edges follow the real data dependencies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

from perfgraph.ingest import meta_fast
from perfgraph.ingest.op_costs import OpCost, cost_of, is_pointwise, packet_name


@dataclass
class RecordedValue:
    nbytes: int
    producer: int = -1  # op index, -1 for inputs, weights and constants
    is_weight: bool = False  # a parameter, a buffer, or a view of one
    is_model_input: bool = False
    is_model_output: bool = False


@dataclass
class RecordedOp:
    target: str  # e.g. aten.convolution.default
    name: str  # packet name, e.g. convolution
    cost: OpCost
    inputs: list[int]  # value ids, in argument order, duplicates removed
    outputs: list[int]  # value ids
    output_shape: list[int]
    dtype: str
    module_path: str
    in_place: bool = False
    groups: int = 1


@dataclass
class Recording:
    ops: list[RecordedOp] = field(default_factory=list)
    values: list[RecordedValue] = field(default_factory=list)


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


# Allocations that write nothing: when they are also zero-size (batch norm's placeholder for statistics
# it does not save), they are no work at all and are not recorded.
_ALLOCATIONS = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided"}


class TraceLimitError(RuntimeError):
    """The forward pass ran past a limit (op count, time, memory); the message names the limit's option."""


@dataclass
class Limits:
    """Bounds on one recording, checked before each op is recorded: `max_ops` ops, `deadline` (a
    `time.monotonic()` instant, or None) and `check_memory()` (returns a reason to stop, or '')."""

    max_ops: int | None = None
    deadline: float | None = None
    timeout_s: float | None = None  # for the message
    check_memory: Callable[[], str] | None = None


class OpRecorder(TorchDispatchMode):
    """Dispatch mode that appends one `RecordedOp` per executed ATen op to `self.recording`."""

    def __init__(self, module_paths: list[str], limits: Limits | None = None,
                 overrides: dict[str, Callable[[tuple, Any], Any]] | None = None):
        super().__init__()
        self.recording = Recording()
        self._value_of: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self._module_paths = module_paths  # a stack shared with the module hooks
        self._limits = limits or Limits()
        self._overrides = overrides or {}

    def _check_limits(self) -> None:
        lim = self._limits
        n = len(self.recording.ops)
        if lim.max_ops is not None and n >= lim.max_ops:
            raise TraceLimitError(f"the forward pass executed more than {lim.max_ops:,} ATen ops "
                                  "(--max-ops): does it ever end?")
        if lim.deadline is not None and time.monotonic() > lim.deadline:
            raise TraceLimitError(f"the forward pass ran longer than {lim.timeout_s:g} s (--trace-timeout) "
                                  f"after {n:,} ATen ops: does it ever end?")
        if lim.check_memory is not None:
            reason = lim.check_memory()
            if reason:
                raise TraceLimitError(reason)

    # -- values -------------------------------------------------------------------------------------
    def new_value(self, t: torch.Tensor, producer: int = -1, **flags: bool) -> int:
        vid = len(self.recording.values)
        self.recording.values.append(RecordedValue(_nbytes(t), producer, **flags))
        self._value_of[t] = vid
        return vid

    def value_of(self, t: torch.Tensor) -> int:
        vid = self._value_of.get(t)
        if vid is None:
            # First sight of a tensor no op produced (model inputs are marked before the forward pass):
            # a parameter, a buffer, or a constant the module holds. All are weights: read, never fed.
            vid = self.new_value(t, is_weight=True)
        return vid

    def mark_inputs(self, tensors: list[torch.Tensor]) -> None:
        for t in tensors:
            self.new_value(t, is_model_input=True)

    def mark_outputs(self, out: Any) -> None:
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                vid = self._value_of.get(t)
                if vid is not None:
                    self.recording.values[vid].is_model_output = True

    # -- ops ----------------------------------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self._check_limits()
        name = packet_name(func)
        out = meta_fast.fast_output(func, name, is_pointwise(func, name), args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
        if name in self._overrides:
            out = self._overrides[name](args, out)
        if name in _ALLOCATIONS and isinstance(out, torch.Tensor) and out.numel() == 0:
            return out
        flat_in = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        inputs: list[int] = []
        for t in flat_in:
            vid = self.value_of(t)
            if vid not in inputs:
                inputs.append(vid)
        cost = cost_of(func, args, kwargs, out)
        index = len(self.recording.ops)
        flat_out = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
        # A view (or a creation op fed only by weights) of a weight is still a weight: no data dependency.
        weight_view = cost.kind == "view" and bool(inputs) and all(
            self.recording.values[v].is_weight for v in inputs)
        outputs = [self.new_value(o, index, is_weight=weight_view) for o in flat_out]
        in_place = packet_name(func).endswith("_") and bool(flat_in) and bool(flat_out) and flat_out[0] is flat_in[0]
        if in_place:
            base = flat_out[0]._base
            if base is not None:
                # Mutating a view mutates its base: later readers of the base depend on this op.
                self.new_value(base, index)
        first = flat_out[0] if flat_out else None
        self.recording.ops.append(RecordedOp(
            target=str(func),
            name=packet_name(func),
            cost=cost,
            inputs=inputs,
            outputs=outputs,
            output_shape=list(first.shape) if first is not None else [],
            dtype=str(first.dtype).replace("torch.", "") if first is not None else "",
            module_path=self._module_paths[-1] if self._module_paths else "",
            in_place=in_place,
            groups=int(args[8]) if cost.kind == "conv" and len(args) > 8 and isinstance(args[8], int) else 1,
        ))
        return out
