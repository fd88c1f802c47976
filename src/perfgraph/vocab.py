"""One vocabulary: the names every layer, the CLI's choices and the API share.

Each set of names is a `StrEnum`, so a member *is* its string (`Dtype.FP32 == "fp32"`, json and YAML write
it as the plain name) and click builds its choices from the same enum (`choices(Precision)`). Nothing here
imports torch.

    >>> parse(Precision, "BF16")
    <Precision.BF16: 'bf16'>
    >>> choices(Dtype)
    ('fp32', 'fp16', 'bf16')
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar


class Dtype(StrEnum):
    """The tensor dtype a model is traced at."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"


class Precision(StrEnum):
    """The arithmetic a chip runs a mapping at (a chip without it falls back, and the row says so)."""

    FP32 = "fp32"
    TF32 = "tf32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"


class Scheme(StrEnum):
    """An LLM's weight / activation storage: a precision, or weight-only int8 / int4 with 16-bit activations."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"
    W8A16 = "w8a16"
    W4A16 = "w4a16"


class Tracer(StrEnum):
    """How a model's forward pass is recorded: meta tensors, real CPU tensors, or meta then real."""

    AUTO = "auto"
    META = "meta"
    REAL = "real"


class Runtime(StrEnum):
    """How the model runs on a chip (`engine.runtime` gives each its cost rules)."""

    EAGER = "eager"
    COMPILED = "compiled"
    GRAPH = "graph"


class Phase(StrEnum):
    """A phase of LLM serving: the prompt's prefill, or one decode step with a KV cache."""

    PREFILL = "prefill"
    DECODE = "decode"


class ChipKind(StrEnum):
    """The kinds of chip perfgraph maps onto (each has its own mapping rules in `engine`)."""

    CPU = "CPU"
    GPU = "GPU"
    TPU = "TPU"
    KPU = "KPU"


class OpKind(StrEnum):
    """What an ATen op does, as `ingest.op_costs` classifies it (`graph.Op.kind`)."""

    CONV = "conv"
    MATMUL = "matmul"
    ATTENTION = "attention"
    ELEMENTWISE = "elementwise"
    NORM = "norm"
    REDUCTION = "reduction"
    POOL = "pool"
    DATA = "data"
    VIEW = "view"
    CREATION = "creation"
    DETECTION = "detection"
    COLLECTIVE = "collective"
    OTHER = "other"


MAC_KINDS = (OpKind.CONV, OpKind.MATMUL, OpKind.ATTENTION)  # the kinds whose work is multiply-accumulates

E = TypeVar("E", bound=Enum)


def choices(enum: type[E]) -> tuple[str, ...]:
    """The names of `enum` in declaration order, e.g. for `click.Choice`."""
    return tuple(m.value for m in enum)


def parse(enum: type[E], value: "str | E", what: str | None = None) -> E:
    """`value` (case and surrounding blanks ignored) as a member of `enum`.

    Raises:
        ValueError: an unknown name; the message lists the known ones.

    Examples:
        >>> parse(Runtime, " Graph ")
        <Runtime.GRAPH: 'graph'>
    """
    if isinstance(value, enum):
        return value
    text = str(value).strip()
    for candidate in (text, text.lower(), text.upper()):
        try:
            return enum(candidate)
        except ValueError:
            pass
    label = what or enum.__name__.lower()
    raise ValueError(f"unknown {label} {value!r}; choose from {', '.join(choices(enum))}")
