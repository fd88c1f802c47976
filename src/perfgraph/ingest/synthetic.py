"""Parameterised synthetic workloads: small, well-understood modules whose cost is easy to reason about.

Each workload is one factory function registered with `@register_workload` (in the style of
`torch/utils/flop_counter.py`'s `register_flop_formula`). A factory takes keyword-only parameters, all
with defaults, and returns a plain `nn.Module`; its docstring lists the parameters. The registry knows
each workload's per-sample input shape (a function of the resolved parameters) and any extra checks.

`build("mlp", batch=8, params={"width": "2048"})` parses the string parameters by the type of their
defaults, validates them, and returns a `BuiltModel` named `synthetic:mlp` whose `options` hold the full
resolved parameter dict (so model ids are deterministic).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from perfgraph.ingest.model_source import BadParameterError, BuiltModel, ModelSourceError, check_int64

__all__ = ["build", "list_workloads", "register_workload", "WORKLOADS"]

Params = dict[str, Any]


@dataclass(frozen=True)
class Workload:
    name: str
    factory: Callable[..., nn.Module]
    doc: str
    defaults: dict[str, Any]
    input_shape: Callable[[Params], list[int]]  # per-sample shape (batch excluded)
    choices: dict[str, tuple[str, ...]]
    check: Callable[[Params], None] | None
    family: str


WORKLOADS: dict[str, Workload] = {}


def register_workload(
    name: str,
    *,
    input_shape: Callable[[Params], list[int]],
    choices: dict[str, tuple[str, ...]] | None = None,
    check: Callable[[Params], None] | None = None,
    family: str = "synthetic",
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a workload factory. Its keyword-only parameters (all with defaults) are the workload's
    parameters; their defaults' types decide how string values are parsed."""

    def decorator(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in WORKLOADS:
            raise ValueError(f"synthetic workload {name!r} registered twice")
        defaults: dict[str, Any] = {}
        for pname, p in inspect.signature(fn).parameters.items():
            if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.default is inspect.Parameter.empty:
                raise TypeError(f"workload {name}: parameter {pname!r} must be keyword-only with a default")
            defaults[pname] = p.default
        WORKLOADS[name] = Workload(
            name=name,
            factory=fn,
            doc=inspect.cleandoc(fn.__doc__ or ""),
            defaults=defaults,
            input_shape=input_shape,
            choices=dict(choices or {}),
            check=check,
            family=family,
        )
        return fn

    return decorator


def list_workloads() -> dict[str, tuple[str, dict[str, Any]]]:
    """Workload name -> (docstring, default parameters)."""
    return {name: (w.doc, dict(w.defaults)) for name, w in sorted(WORKLOADS.items())}


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


class SelfAttention(nn.Module):
    """Multi-head self-attention: fused qkv projection, `F.scaled_dot_product_attention`, output projection.
    Input and output are (batch, seq, hidden)."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, h = x.shape
        qkv = self.qkv(x).view(b, s, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (b, heads, s, head_dim)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, s, h))


class EncoderLayer(nn.Module):
    """Pre-LayerNorm transformer encoder layer (attention + GELU MLP, both residual). Written out by hand
    rather than `nn.TransformerEncoderLayer`, whose inference fast path is a single fused aten op."""

    def __init__(self, hidden: int, heads: int, mlp_hidden: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = SelfAttention(hidden, heads)
        self.norm2 = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp_hidden), nn.GELU(), nn.Linear(mlp_hidden, hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs), with a strided 1x1 projection shortcut when stride > 1."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv2d(channels, channels, 1, stride=stride, bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """ResNet bottleneck block: 1x1 reduce to `channels`, 3x3, 1x1 expand to `channels * expansion`,
    identity shortcut."""

    def __init__(self, channels: int, expansion: int) -> None:
        super().__init__()
        outer = channels * expansion
        self.conv1 = nn.Conv2d(outer, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, outer, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(outer)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + x)


# --------------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------------


def _check_heads(p: Params) -> None:
    if p["hidden"] % p["heads"]:
        raise ModelSourceError(f"hidden ({p['hidden']}) must be divisible by heads ({p['heads']})")


def _mlp_widths(p: Params) -> list[int]:
    """Output features per Linear layer: `widths` (colon-separated) when given, else `depth` x `width`."""
    text = str(p.get("widths", "")).strip()
    if not text:
        return [p["width"]] * p["depth"]
    try:
        widths = [int(w) for w in text.replace("x", ":").split(":") if w.strip()]
    except ValueError:
        raise ModelSourceError(f"widths={text!r}: write layer widths separated by colons, e.g. 4096:1024:10") from None
    if not widths or any(w < 1 for w in widths):
        raise ModelSourceError(f"widths={text!r}: every layer width must be a positive integer")
    return widths


@register_workload(
    "mlp",
    input_shape=lambda p: [p["in_features"]],
    choices={"activation": tuple(_ACTIVATIONS)},
    check=_mlp_widths,
    family="mlp",
)
def mlp(*, width: int = 1024, depth: int = 4, in_features: int = 1024, activation: str = "relu",
        widths: str = "") -> nn.Module:
    """Stack of Linear layers, each followed by an activation.

    Parameters:
        width (int, 1024): output features of every Linear layer.
        depth (int, 4): number of Linear layers (the first maps in_features -> width).
        in_features (int, 1024): input features.
        activation (str, relu): relu | gelu | silu.
        widths (str, ""): per-layer output features separated by colons (4096:1024:10); when given it
            replaces width and depth (a tapering or bottleneck MLP).

    Input: (batch, in_features). Output: (batch, last width).
    """
    layers: list[nn.Module] = []
    features = in_features
    for out in _mlp_widths({"width": width, "depth": depth, "widths": widths}):
        layers += [nn.Linear(features, out), _ACTIVATIONS[activation]()]
        features = out
    return nn.Sequential(*layers)


@register_workload("resnet_basic", input_shape=lambda p: [p["channels"], p["size"], p["size"]], family="conv")
def resnet_basic(*, channels: int = 64, size: int = 56, stride: int = 1) -> nn.Module:
    """One ResNet basic block: conv3x3(stride)-BN-ReLU-conv3x3-BN, plus shortcut, ReLU.

    Parameters:
        channels (int, 64): input and output channels.
        size (int, 56): input height and width.
        stride (int, 1): stride of the first conv; > 1 adds a strided 1x1 conv + BN shortcut.

    Input: (batch, channels, size, size). Output: (batch, channels, (size-1)//stride+1, same).
    """
    return BasicBlock(channels, stride)


@register_workload(
    "resnet_bottleneck",
    input_shape=lambda p: [p["channels"] * p["expansion"], p["size"], p["size"]],
    family="conv",
)
def resnet_bottleneck(*, channels: int = 64, expansion: int = 4, size: int = 56) -> nn.Module:
    """One ResNet bottleneck block: 1x1 (reduce) - 3x3 - 1x1 (expand), each with BN, identity shortcut.

    Parameters:
        channels (int, 64): bottleneck (inner) channels.
        expansion (int, 4): outer channels = channels * expansion.
        size (int, 56): input height and width.

    Input and output: (batch, channels*expansion, size, size).
    """
    return Bottleneck(channels, expansion)


def _check_conv_stack(p: Params) -> None:
    if p["channels"] % p["groups"]:
        raise ModelSourceError(f"channels ({p['channels']}) must be divisible by groups ({p['groups']})")
    size = p["size"]
    for _ in range(p["depth"]):
        size = _conv_out(size, p["kernel"], p["stride"], p["kernel"] // 2)
        if size < 1:
            raise ModelSourceError(
                f"conv_stack: size {p['size']} shrinks below 1 pixel after stride-{p['stride']} layers; "
                "use a larger size, a smaller stride or fewer layers"
            )


@register_workload(
    "conv_stack",
    input_shape=lambda p: [p["channels"], p["size"], p["size"]],
    check=_check_conv_stack,
    family="conv",
)
def conv_stack(
    *, channels: int = 64, kernel: int = 3, stride: int = 1, groups: int = 1, depth: int = 4, size: int = 56
) -> nn.Module:
    """`depth` Conv2d-BN-ReLU layers with the same channel count in and out.

    Parameters:
        channels (int, 64): input and output channels of every conv.
        kernel (int, 3): square kernel size (padding kernel//2).
        stride (int, 1): stride of every conv.
        groups (int, 1): conv groups; groups=channels makes the convs depthwise.
        depth (int, 4): number of conv layers.
        size (int, 56): input height and width.

    Input: (batch, channels, size, size). Output: (batch, channels, s', s') where each layer maps
    s -> (s + 2*(kernel//2) - kernel)//stride + 1.
    """
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [
            nn.Conv2d(channels, channels, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


@register_workload(
    "transformer_encoder",
    input_shape=lambda p: [p["seq_len"], p["hidden"]],
    check=_check_heads,
    family="encoder",
)
def transformer_encoder(
    *, hidden: int = 768, heads: int = 12, seq_len: int = 128, mlp_ratio: float = 4.0, layers: int = 1
) -> nn.Module:
    """Stack of pre-LayerNorm transformer encoder layers (SDPA attention + GELU MLP), no embeddings.

    Parameters:
        hidden (int, 768): model width; must be divisible by heads.
        heads (int, 12): attention heads.
        seq_len (int, 128): sequence length of the input.
        mlp_ratio (float, 4.0): MLP hidden width = round(hidden * mlp_ratio).
        layers (int, 1): number of encoder layers.

    Input and output: (batch, seq_len, hidden).
    """
    mlp_hidden = max(1, round(hidden * mlp_ratio))
    return nn.Sequential(*[EncoderLayer(hidden, heads, mlp_hidden) for _ in range(layers)])


@register_workload(
    "attention",
    input_shape=lambda p: [p["seq_len"], p["hidden"]],
    check=_check_heads,
    family="encoder",
)
def attention(*, hidden: int = 768, heads: int = 12, seq_len: int = 128) -> nn.Module:
    """Attention-only block: qkv Linear, `F.scaled_dot_product_attention` (non-causal), output Linear.

    Parameters:
        hidden (int, 768): model width; must be divisible by heads.
        heads (int, 12): attention heads.
        seq_len (int, 128): sequence length of the input.

    Input and output: (batch, seq_len, hidden).
    """
    return SelfAttention(hidden, heads)


# --------------------------------------------------------------------------------------------------
# Parameter parsing and building
# --------------------------------------------------------------------------------------------------


def _parse_value(workload: str, key: str, raw: str, default: Any) -> Any:
    text = str(raw).strip()
    try:
        if isinstance(default, bool):
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return check_int64(f"synthetic:{workload}: parameter {key}", int(text))
        if isinstance(default, float):
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(text)
            return value
    except BadParameterError:
        raise
    except ValueError:
        kind = type(default).__name__
        raise BadParameterError(f"synthetic:{workload}: parameter {key}={raw!r} is not a valid {kind}") from None
    return text


def resolve_params(name: str, params: dict[str, str] | None) -> Params:
    """Defaults overlaid with the parsed, validated `params`; raises ModelSourceError on any problem."""
    workload = _get(name)
    params = dict(params or {})
    unknown = sorted(set(params) - set(workload.defaults))
    if unknown:
        valid = ", ".join(workload.defaults)
        raise BadParameterError(
            f"synthetic:{name}: unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"valid parameters: {valid}"
        )
    resolved = dict(workload.defaults)
    for key, raw in params.items():
        resolved[key] = _parse_value(name, key, raw, workload.defaults[key])
    for key, value in resolved.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and value <= 0:
            raise BadParameterError(f"synthetic:{name}: parameter {key} must be positive, got {value}")
        if key in workload.choices and value not in workload.choices[key]:
            raise BadParameterError(
                f"synthetic:{name}: parameter {key}={value!r} is not one of {' | '.join(workload.choices[key])}"
            )
    if workload.check is not None:
        try:
            workload.check(resolved)
        except ModelSourceError as exc:
            msg = str(exc)
            prefix = f"synthetic:{name}"
            raise ModelSourceError(msg if msg.startswith(prefix) else f"{prefix}: {msg}") from None
    return resolved


def _get(name: str) -> Workload:
    key = name.removeprefix("synthetic:")
    try:
        return WORKLOADS[key]
    except KeyError:
        raise ModelSourceError(
            f"unknown synthetic workload {name!r}; choose one of {', '.join(sorted(WORKLOADS))}"
        ) from None


def build(name: str, *, batch: int, params: dict[str, str]) -> BuiltModel:
    """Build the synthetic workload `name` (without the `synthetic:` prefix) for `batch` samples."""
    workload = _get(name)
    if int(batch) < 1:
        raise ModelSourceError(f"batch must be >= 1, got {batch}")
    batch = int(batch)
    resolved = resolve_params(workload.name, params)
    sample_shape = [int(d) for d in workload.input_shape(resolved)]
    input_shape = [batch, *sample_shape]

    def build_module() -> nn.Module:
        return workload.factory(**resolved).eval()

    def make_inputs(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor]:
        return (torch.randn(input_shape, device=device, dtype=dtype),)

    return BuiltModel(
        name=f"synthetic:{workload.name}",
        source="synthetic",
        build=build_module,
        make_inputs=make_inputs,
        input_shape=input_shape,
        batch=batch,
        options={k: str(v) for k, v in resolved.items()},
        family=workload.family,
    )
