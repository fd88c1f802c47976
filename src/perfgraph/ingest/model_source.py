"""What a model source hands the tracer: how to build the module and its example inputs.

Every source (torchvision, transformers, synthetic workloads, a user's factory) returns a `BuiltModel`;
the tracer never needs to know where a model came from.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # torch is imported when a model is built, so spec parsing (and a graph-cache hit) stays torch-free
    import torch

# dtype name -> the name of the torch dtype it means
DTYPES: dict[str, str] = {
    "fp32": "float32",
    "float32": "float32",
    "fp16": "float16",
    "float16": "float16",
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
}


class ModelSourceError(ValueError):
    """A model spec that names nothing buildable, or options that do not fit it (one-line message)."""


class BadParameterError(ModelSourceError):
    """A parameter that is wrong on its own (unknown name, a value that does not parse or is out of range),
    as opposed to values that are each fine but do not fit together (hidden not divisible by heads)."""


INT64_MAX = 2**63 - 1  # torch sizes are int64: a larger count is no tensor at all


def check_int64(what: str, value: int) -> int:
    if abs(value) > INT64_MAX:
        raise BadParameterError(f"{what}={value} is beyond int64, more than any tensor size can be")
    return value


class ModelExitError(RuntimeError):
    """Model code tried to end the process (os._exit, sys.exit) while perfgraph was building or running it."""


@contextlib.contextmanager
def exits_raise(what: str):
    """While model code runs, `os._exit(n)` raises ModelExitError instead of silently ending perfgraph
    with nothing printed (SystemExit, from sys.exit, is caught where the code is called)."""
    real_exit = os._exit

    def refuse(code: int = 0) -> None:
        raise ModelExitError(f"{what} called os._exit({code})")

    os._exit = refuse
    try:
        yield
    finally:
        os._exit = real_exit


@dataclass
class BuiltModel:
    name: str  # display name, e.g. "resnet18", "hf:gpt2", "synthetic:mlp"
    source: str  # torchvision | transformers | synthetic | user
    # Builds the module. Called inside a `torch.device(...)` context (meta or cpu), so parameters are
    # created on that device without real initialisation when it is meta.
    build: Callable[[], torch.nn.Module]
    # Example positional inputs for forward(), on the given device; the float dtype applies to float inputs.
    make_inputs: Callable[[torch.device, torch.dtype], tuple[Any, ...]]
    input_shape: list[int]  # shape of the primary input, batch included
    batch: int
    # Published reference figures where the source has them: {"macs": int, "params": int}.
    published: dict[str, int] = field(default_factory=dict)
    # Options that identify the model beyond name/batch/shape/dtype (e.g. synthetic parameters).
    options: dict[str, str] = field(default_factory=dict)
    family: str = ""  # e.g. classification, segmentation, detection, video, optical_flow, llm
    # What the count assumes beyond the spec (e.g. how many proposals survive NMS), printed with the result.
    # A dict so that a builder run twice (meta, then real) states each assumption once.
    assumptions: dict[str, str] = field(default_factory=dict)
    # ATen op name -> f(args, out) replacing that op's result while tracing, for a stated convention
    # (detectors: NMS keeps every box, so the count does not hang on what random weights let through).
    output_overrides: dict[str, Callable[[tuple, Any], Any]] = field(default_factory=dict)


def parse_dtype(name: str) -> torch.dtype:
    try:
        torch_name = DTYPES[name.lower()]
    except KeyError:
        raise ModelSourceError(f"unknown dtype {name!r}; choose one of fp32, fp16, bf16") from None
    import torch

    return getattr(torch, torch_name)


def dtype_label(dtype: torch.dtype) -> str:
    import torch

    return {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype, str(dtype))
