"""`nn.Module` instances as a model source: `perfgraph.analyze(module, input_shape=...)` traces the module
the caller passed, never modifying it."""

from __future__ import annotations

import copy
import itertools
from typing import TYPE_CHECKING, Any

from perfgraph.graph import ModelGraph

if TYPE_CHECKING:
    import torch


def trace_module(module: Any, *, batch: int | None, dtype: str, input_shape: list[int] | None,
                 tracers: tuple[str, ...] | None, name: str | None) -> ModelGraph:
    """The op graph of an `nn.Module` instance (not partitioned). The module is never modified: the meta
    tracer runs a copy whose parameters and buffers are meta tensors; the real tracer runs the module (a
    deep copy when `dtype` differs) and its train/eval flags are restored afterwards.

    Raises:
        TypeError: not an nn.Module. ModelSourceError: no or a bad input shape, a bad batch.
    """
    import torch

    from perfgraph.ingest.model_source import BuiltModel, ModelSourceError, parse_dtype
    from perfgraph.ingest.trace import TRACERS, trace

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"analyze() takes a model spec string or a torch.nn.Module, not {type(module).__name__}")
    if not input_shape:
        raise ModelSourceError("input_shape is required for an nn.Module, e.g. input_shape=(1, 3, 224, 224)")
    if any(d < 1 for d in input_shape):
        raise ModelSourceError(f"input shape must be positive integers, got {list(input_shape)}")
    if batch is None:
        batch = input_shape[0]
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ModelSourceError(f"batch must be a positive integer, got {batch!r}")
    shape = [batch, *input_shape[1:]]
    torch_dtype = parse_dtype(dtype)
    label = name or type(module).__name__

    def build() -> torch.nn.Module:
        # Called by the tracer inside `torch.device("meta")` or `torch.device("cpu")`.
        if torch.get_default_device().type == "meta":
            return _meta_copy(module)
        dtypes = {p.dtype for p in itertools.chain(module.parameters(), module.buffers()) if p.is_floating_point()}
        return module if dtypes <= {torch_dtype} else copy.deepcopy(module)

    def make_inputs(device: torch.device, dt: torch.dtype) -> tuple[torch.Tensor]:
        return (torch.randn(shape, device=device, dtype=dt),)

    built = BuiltModel(name=f"module:{label}", source="module", build=build, make_inputs=make_inputs,
                       input_shape=shape, batch=batch, family="module")
    modes = {m: m.training for m in module.modules()}
    try:
        mg = trace(built, torch_dtype, tracers or TRACERS)
    finally:
        for m, training in modes.items():
            m.training = training
    return mg


def _meta_copy(module: "torch.nn.Module") -> "torch.nn.Module":
    """A deep copy whose parameters and buffers are meta tensors (no storage is copied)."""
    import torch

    memo: dict[int, Any] = {}
    for p in module.parameters():
        memo[id(p)] = torch.nn.Parameter(p.detach().to("meta"), requires_grad=p.requires_grad)
    for b in module.buffers():
        memo[id(b)] = b.detach().to("meta")
    return copy.deepcopy(module, memo)
