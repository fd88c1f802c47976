"""LLM phases on meta tensors: a prefill, one decode step with a KV cache, and a training step.

The models are the `hf:` decoders of `ingest.hf_models` (same configs, same `-p` overrides); what changes
is what one forward pass does:

* **prefill**: the prompt (batch x prompt_len tokens) runs once and writes its keys and values into the
  cache; logits are computed for the last position only (`logits_to_keep=1`, as `generate` does).
* **decode**: one new token per sequence (batch = concurrent sequences) attends over `context` cached
  tokens. The cache is a real transformers cache object holding meta tensors, pre-filled to `context`:
  `static` (transformers' `StaticCache`: preallocated, the new entry written in place with `index_copy_`,
  as a serving engine's preallocated cache) or `dynamic` (`DynamicCache`: `torch.cat` of the whole cache
  every step, what eager `generate` does by default). Sliding-window layers keep min(context, window)
  tokens (transformers' sliding layers). A prefill with cache `none` writes no cache (its live tensors are
  the activations alone).
* **forward**: the plain forward pass with logits at every position and no cache (what a training step's
  forward computes).
* **train**: forward with labels (cross-entropy loss), `loss.backward()` (autograd's backward ops on meta
  tensors), and one optimizer update (`torch.optim.AdamW`, `foreach=False`: one update per parameter).
  With `checkpointing`, transformers' gradient checkpointing recomputes each layer's forward in backward.

Attention is recorded as one fused kernel (`aten._scaled_dot_product_flash_attention_for_cpu`, which
takes grouped K/V heads as they are): serving engines run flash/paged attention that reads each cached
key and value once. Its FLOPs are torch's SDPA formula (Q@K^T and P@V over the full key length, a causal
prompt counted as the full square) plus 5 FLOPs per score for the softmax. Training uses transformers'
own SDPA path instead, because the fused CPU op has no meta backward here.

MoE (Mixtral-style) experts use transformers' `grouped_mm` implementation at 16-bit dtypes (one grouped
GEMM over the routed tokens: FLOPs = routed tokens x top-k x expert size, all expert weights read) and
`batched_mm` at fp32 (`grouped_mm` needs 16-bit operands).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from perfgraph.graph import ModelGraph
from perfgraph.ingest import hf_models
from perfgraph.ingest.model_source import BuiltModel, ModelSourceError, parse_dtype
from perfgraph.ingest.recorder import OpRecorder
from perfgraph.ingest.trace import _module_path_tracking, to_model_graph

PHASES = ("prefill", "decode", "train", "forward")
CACHES = ("static", "dynamic", "none")
FUSED_SDPA = "perfgraph_fused_sdpa"


@dataclass(frozen=True)
class Arch:
    """The numbers of a decoder that memory and FLOP formulas need (read from the transformers config)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    params_total: int
    params_active: int  # per token: total minus the experts a token is not routed to
    experts: int = 0
    experts_per_token: int = 0
    sliding_window: int | None = None
    sliding_layers: int = 0  # layers whose cache keeps only the window
    max_positions: int | None = None

    def cached_tokens(self, context: int) -> list[int]:
        """Tokens each layer keeps in its KV cache at `context`."""
        window = self.sliding_window
        return [min(context, window) if (window and i < self.sliding_layers) else context
                for i in range(self.layers)]


def _fused_sdpa_forward(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None,
                        **kwargs):
    """query (B, H, Lq, D), key/value (B, KV, Lk, D) -> (B, Lq, H, D), as transformers' attention functions."""
    causal = query.shape[2] > 1 and query.shape[2] == key.shape[2]
    out = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
        query, key, value, 0.0, causal, scale=scaling)[0]
    return out.transpose(1, 2).contiguous(), None


def _register_attention() -> Any:
    transformers = hf_models._import_transformers()
    from transformers import AttentionInterface

    if FUSED_SDPA not in AttentionInterface._global_mapping:
        AttentionInterface.register(FUSED_SDPA, _fused_sdpa_forward)
    return transformers


def _spec(model: str) -> tuple[str, Any]:
    prefix, sep, rest = model.strip().partition(":")
    if not sep or prefix not in ("hf", "transformers"):
        raise ModelSourceError(f"LLM phases need an hf: decoder (e.g. hf:llama-7b), got {model!r}")
    spec = hf_models._SPECS.get(rest)
    if spec is None or spec.family != "llm":
        names = ", ".join(f"hf:{n}" for n, s in hf_models._SPECS.items() if s.family == "llm")
        raise ModelSourceError(f"{model!r} is not an hf: decoder; choose one of {names}")
    return rest, spec


def _config(model: str, params: dict[str, str] | None, seq_len: int) -> tuple[str, Any, Any, dict[str, str]]:
    key, spec = _spec(model)
    transformers = _register_attention()
    params = {k: v for k, v in (params or {}).items() if k != "seq_len"}
    config, _, options = hf_models._make_config(key, spec, {**params, "seq_len": str(seq_len)}, transformers)
    options.pop("seq_len", None)
    return key, spec, config, options


def _is_moe(config: Any) -> bool:
    return bool(getattr(config, "num_local_experts", 0) or getattr(config, "num_experts", 0))


def _build_model(spec: Any, config: Any, dtype: torch.dtype, attention: str) -> nn.Module:
    transformers = hf_models._import_transformers()
    model_cls = getattr(transformers, spec.model_class)
    kwargs: dict[str, Any] = {"attn_implementation": attention, "dtype": dtype}
    if _is_moe(config):
        kwargs["experts_implementation"] = "grouped_mm" if dtype in (torch.float16, torch.bfloat16) else "batched_mm"
    with torch.device("meta"):
        try:
            return model_cls._from_config(config, **kwargs)
        except Exception as exc:  # a config transformers rejects only when building
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ModelSourceError(f"cannot build {spec.model_class}: {type(exc).__name__}: {first}") from None


def _layer_kinds(config: Any) -> tuple[int | None, int]:
    """(sliding window, number of sliding layers first in order) as transformers' caches will see them."""
    window = getattr(config, "sliding_window", None)
    if not window:
        return None, 0
    types = getattr(config, "layer_types", None) or ["sliding_attention"] * config.num_hidden_layers
    return int(window), sum(1 for t in types if t == "sliding_attention")


def architecture(model: str, params: dict[str, str] | None = None) -> Arch:
    """The decoder's numbers and its parameter counts (total, and active per token for MoE), on meta."""
    key, spec, config, _ = _config(model, params, 1)
    module = _build_model(spec, config, torch.float32, FUSED_SDPA)
    total = sum(p.numel() for p in module.parameters())
    experts = int(getattr(config, "num_local_experts", 0) or getattr(config, "num_experts", 0) or 0)
    top_k = int(getattr(config, "num_experts_per_tok", 0) or 0)
    expert_params = sum(p.numel() for n, p in module.named_parameters()
                        if ".experts." in n and experts and p.shape[0] == experts)
    active = total - (expert_params * (experts - top_k) // experts if experts else 0)
    heads = int(config.num_attention_heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    window, sliding = _layer_kinds(config)
    return Arch(
        name=f"hf:{key}", layers=int(config.num_hidden_layers), hidden=int(config.hidden_size), heads=heads,
        kv_heads=int(getattr(config, "num_key_value_heads", None) or heads), head_dim=head_dim,
        intermediate=int(getattr(config, "intermediate_size", None) or getattr(config, "n_inner", None)
                         or 4 * config.hidden_size), vocab=int(config.vocab_size), params_total=int(total),
        params_active=int(active), experts=experts, experts_per_token=top_k, sliding_window=window,
        sliding_layers=sliding, max_positions=getattr(config, spec.positions_field, None))


def _forward_kwargs(module: nn.Module) -> str:
    """transformers 5.x renamed `past_key_values` to `cache`; use whichever the model takes."""
    names = inspect.signature(module.forward).parameters
    return "cache" if "cache" in names else "past_key_values"


def _make_cache(kind: str, config: Any, batch: int, context: int, max_len: int, dtype: torch.dtype,
                kv_heads: int, head_dim: int) -> tuple[Any, list[torch.Tensor]]:
    """A transformers cache holding `context` tokens per sequence (meta tensors), and its tensors."""
    from transformers import DynamicCache, StaticCache

    window, sliding = _layer_kinds(config)
    layers = int(config.num_hidden_layers)
    tensors: list[torch.Tensor] = []
    if kind == "dynamic":
        cache = DynamicCache(config=config)
        for i, layer in enumerate(cache.layers):
            keep = min(context, window - 1) if (window and i < sliding) else context
            k = torch.empty(batch, kv_heads, keep, head_dim, device="meta", dtype=dtype)
            v = torch.empty_like(k)
            layer.lazy_initialization(k, v)
            layer.keys, layer.values = k, v
            if hasattr(layer, "cumulative_length"):
                layer.cumulative_length = context
            tensors += [k, v]
        return cache, tensors
    cache = StaticCache(config=config, max_cache_len=max_len)
    assert len(cache.layers) == layers
    for layer in cache.layers:
        proto = torch.empty(batch, kv_heads, 1, head_dim, device="meta", dtype=dtype)
        layer.lazy_initialization(proto, proto)
        if hasattr(layer, "cumulative_length_int"):
            layer.cumulative_length_int = context
        layer.cumulative_length = torch.tensor(min(context, layer.max_cache_len))
        tensors += [layer.keys, layer.values]
    return cache, tensors


def trace_phase(model: str, phase: str, *, batch: int = 1, prompt_len: int = 512, context: int = 512,
                dtype: str = "bf16", params: dict[str, str] | None = None, cache: str = "static",
                optimizer: bool = True, checkpointing: bool = False) -> ModelGraph:
    """Record one phase of an hf: decoder on meta tensors and return its costed op graph (not partitioned).

    prefill: `batch` prompts of `prompt_len` tokens; decode: one token for each of `batch` sequences at
    `context` cached tokens; train: `batch` sequences of `prompt_len` tokens, forward + backward (+ AdamW).
    """
    if phase not in PHASES:
        raise ModelSourceError(f"unknown phase {phase!r}; choose one of {', '.join(PHASES)}")
    if cache not in CACHES:
        raise ModelSourceError(f"unknown cache {cache!r}; choose one of {', '.join(CACHES)}")
    for label, value in (("batch", batch), ("prompt_len", prompt_len), ("context", context)):
        if not isinstance(value, int) or value < 1:
            raise ModelSourceError(f"{label} must be a positive integer, got {value!r}")
    torch_dtype = parse_dtype(dtype)
    tokens = context + 1 if phase == "decode" else prompt_len
    key, spec, config, options = _config(model, params, tokens)
    attention = spec.attn_implementation if phase == "train" else FUSED_SDPA
    module = _build_model(spec, config, torch_dtype, attention)
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    vocab = int(config.vocab_size)
    stack: list[str] = []
    recorder = OpRecorder(stack)
    cache_arg = _forward_kwargs(module)

    if phase == "train":
        options.update({"phase": "train", "seq_len": str(prompt_len), "optimizer": "adamw" if optimizer else "none",
                        "checkpointing": str(bool(checkpointing)).lower()})
        module.train()
        if checkpointing:
            if hasattr(module, "activation_checkpointing_enable"):  # transformers >= 5.x
                module.activation_checkpointing_enable({"use_reentrant": False})
            else:
                module.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        ids = torch.randint(0, vocab, (batch, prompt_len), device="meta")
        opt = torch.optim.AdamW(module.parameters(), foreach=False, fused=False) if optimizer else None
        recorder.mark_inputs([ids])
        with _module_path_tracking(module, stack), recorder:
            out = module(input_ids=ids, labels=ids, use_cache=False)
            out.loss.backward()
            if opt is not None:
                opt.step()
        shape = [batch, prompt_len]
    else:
        module.eval()
        if phase in ("prefill", "forward"):
            full = phase == "forward" or cache == "none"
            kv, tensors = (None, []) if full else _make_cache(cache, config, batch, 0, prompt_len, torch_dtype,
                                                             kv_heads, head_dim)
            ids = torch.randint(0, vocab, (batch, prompt_len), device="meta")
            extra: dict[str, Any] = {"logits_to_keep": 0 if phase == "forward" else 1}
            options.update({"phase": phase, "seq_len": str(prompt_len), "cache": "none" if full else cache})
            shape = [batch, prompt_len]
        else:
            if cache == "none":
                raise ModelSourceError("a decode step needs a KV cache: cache static or dynamic")
            kv, tensors = _make_cache(cache, config, batch, context, context + 1, torch_dtype, kv_heads, head_dim)
            ids = torch.randint(0, vocab, (batch, 1), device="meta")
            positions = torch.full((batch, 1), context, device="meta", dtype=torch.int64)
            extra = {"position_ids": positions, "cache_position": torch.tensor([context], device="meta")}
            options.update({"phase": "decode", "context": str(context), "cache": cache})
            shape = [batch, 1]
        recorder.mark_inputs([ids, *tensors])
        with torch.no_grad(), _module_path_tracking(module, stack), recorder:
            cached = {cache_arg: kv, "use_cache": True} if kv is not None else {"use_cache": False}
            out = module(input_ids=ids, **cached, **extra)
    recorder.mark_outputs(out.logits)
    built = BuiltModel(name=f"hf:{key}", source="transformers", build=lambda: module,
                       make_inputs=lambda d, t: (), input_shape=shape, batch=batch, options=options, family="llm")
    n_params = sum(p.numel() for p in module.parameters())
    return to_model_graph(recorder.recording, built, torch_dtype, n_params, "meta")
