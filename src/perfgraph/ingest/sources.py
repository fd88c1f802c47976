"""Turn a model spec from the command line into a `BuiltModel`.

Specs:
- `resnet18`, any name in `torchvision.models.list_models()`
- `hf:gpt2`, `hf:bert-base`, `hf:llama-7b`, `hf:llama` (Hugging Face transformers from config numbers)
- `synthetic:mlp` and the other parameterised workloads
- `path/to/file.py:factory` or `package.module:factory` (a user's model; needs an input shape)
"""

from __future__ import annotations

import math

from perfgraph.ingest.model_source import INT64_MAX, BuiltModel, ModelSourceError


def resolve(spec: str, *, batch: int | None = None, input_shape: list[int] | None = None,
            params: dict[str, str] | None = None, weights: str | None = None) -> BuiltModel:
    params = dict(params or {})
    if batch is None:  # the input shape's first dimension is the batch, when one is given
        batch = input_shape[0] if input_shape else 1
    if not isinstance(batch, int) or batch < 1:
        raise ModelSourceError(f"batch must be a positive integer, got {batch!r}")
    if input_shape is not None and (not input_shape or any(d < 1 for d in input_shape)):
        raise ModelSourceError(f"input shape must be positive integers, got {input_shape}")
    spec = spec.strip()
    if not spec:
        raise ModelSourceError("empty model name")
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in ("hf", "transformers", "synthetic") and input_shape is not None:
        knob = "-p seq_len=N" if prefix != "synthetic" else "its -p parameters (`perfgraph models --family synthetic`)"
        raise ModelSourceError(f"--input-shape does not apply to {spec}: its input size is set by {knob}")
    if sep and prefix in ("hf", "transformers"):
        from perfgraph.ingest import hf_models

        built = hf_models.build(rest, batch=batch, params=params)
    elif sep and prefix == "synthetic":
        from perfgraph.ingest import synthetic

        built = synthetic.build(rest, batch=batch, params=params)
    elif sep and prefix == "torchvision":
        from perfgraph.ingest import torchvision_models

        built = torchvision_models.build(rest, batch=batch, input_shape=input_shape, weights=weights, params=params)
    elif sep:
        from perfgraph.ingest import user_models

        built = user_models.build(spec, batch=batch, input_shape=input_shape, params=params)
    else:
        from perfgraph.ingest import torchvision_models

        built = torchvision_models.build(spec, batch=batch, input_shape=input_shape, weights=weights, params=params)
    if math.prod(built.input_shape) > INT64_MAX:
        raise ModelSourceError(f"input {'x'.join(map(str, built.input_shape))} of {built.name} has more elements "
                               "than a tensor can hold (2^63 - 1)")
    return built


def parse_shape(text: str) -> list[int]:
    """`1,3,224,224` or `1x3x224x224` -> [1, 3, 224, 224], with a clear error otherwise."""
    parts = text.replace("x", ",").replace(" ", "").split(",")
    if not text.strip() or any(not p for p in parts):
        raise ModelSourceError(f"bad input shape {text!r}: a dimension is missing; write it like 1,3,224,224")
    try:
        shape = [int(p) for p in parts]
    except ValueError:
        raise ModelSourceError(f"bad input shape {text!r}; write it like 1,3,224,224") from None
    if any(d < 1 for d in shape):
        raise ModelSourceError(f"bad input shape {text!r}: every dimension must be a positive integer")
    if any(d > INT64_MAX for d in shape) or math.prod(shape) > INT64_MAX:
        raise ModelSourceError(f"bad input shape {text!r}: beyond what a tensor can hold (2^63 - 1 elements)")
    return shape


def parse_params(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`("width=4096", "depth=8")` -> {"width": "4096", "depth": "8"}."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ModelSourceError(f"bad --param {pair!r}; write it as name=value")
        if key.strip() in params:
            raise ModelSourceError(f"--param {key.strip()} given twice ({params[key.strip()]!r} and "
                                   f"{value.strip()!r}); give it once")
        params[key.strip()] = value.strip()
    return params
