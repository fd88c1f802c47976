"""Hugging Face transformers models built from config numbers in code, randomly initialised.

Nothing is downloaded: every config is written out here (the published config numbers of gpt2,
bert-base-uncased and Llama-2-7B) or comes from the user's params. Models use transformers' SDPA attention
(`F.scaled_dot_product_attention`) and `use_cache=False`, and are wrapped in `LogitsOnly`, whose
forward(input_ids) returns the logits tensor alone.

Meta tensors: transformers' causal-mask builder for `attn_implementation="sdpa"` inspects position ids for
packed sequences with a data-dependent `.all()`, which raises on meta tensors. Decoders therefore use
`SDPA_NO_MASK` ("perfgraph_sdpa"): transformers' own `sdpa_attention_forward` registered under a name that has
no mask builder. With no attention mask (we never pass one) the ops are exactly those of "sdpa":
`F.scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=True)` per layer. BERT (bidirectional, no
such check) uses plain "sdpa".

transformers is the optional extra `perfgraph[hf]`; it is imported only when a model is built.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from perfgraph.ingest.model_source import BadParameterError, BuiltModel, ModelSourceError, check_int64

__all__ = ["build", "list_names", "LogitsOnly"]

DEFAULT_SEQ_LEN = 128

# Config fields for the generic `llama`: these must be given; the others have defaults.
_LLAMA_REQUIRED = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
_LLAMA_2_7B: dict[str, Any] = {
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "intermediate_size": 11008,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5,
    "hidden_act": "silu",
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "mlp_bias": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
}


SDPA_NO_MASK = "perfgraph_sdpa"


@dataclass(frozen=True)
class _Spec:
    config_class: str  # name in transformers
    model_class: str  # name in transformers
    config: dict[str, Any]
    family: str
    positions_field: str  # config field bounding seq_len
    attn_implementation: str = SDPA_NO_MASK
    published: dict[str, int] = field(default_factory=dict)
    required: tuple[str, ...] = ()  # params that must be given (generic configs)
    doc: str = ""


_SPECS: dict[str, _Spec] = {
    "gpt2": _Spec(
        config_class="GPT2Config",
        model_class="GPT2LMHeadModel",
        config={
            "vocab_size": 50257,
            "n_positions": 1024,
            "n_embd": 768,
            "n_layer": 12,
            "n_head": 12,
            "n_inner": None,
            "activation_function": "gelu_new",
            "layer_norm_epsilon": 1e-5,
            "tie_word_embeddings": True,
            "bos_token_id": 50256,
            "eos_token_id": 50256,
        },
        family="llm",
        positions_field="n_positions",
        # GPT-2 small with the LM head tied to the token embedding: 124,439,808 parameters.
        published={"params": 124_439_808},
        doc="GPT-2 small (124M), causal LM head",
    ),
    "bert-base": _Spec(
        config_class="BertConfig",
        model_class="BertForMaskedLM",
        config={
            "vocab_size": 30522,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "hidden_act": "gelu",
            "max_position_embeddings": 512,
            "type_vocab_size": 2,
            "layer_norm_eps": 1e-12,
            "pad_token_id": 0,
            "tie_word_embeddings": True,
        },
        family="encoder",
        positions_field="max_position_embeddings",
        attn_implementation="sdpa",
        doc="BERT base uncased (110M), masked-LM head",
    ),
    "llama-7b": _Spec(
        config_class="LlamaConfig",
        model_class="LlamaForCausalLM",
        config=dict(_LLAMA_2_7B),
        family="llm",
        positions_field="max_position_embeddings",
        # Llama-2-7B: 6,738,415,616 parameters (the published "6.74B").
        published={"params": 6_738_415_616},
        doc="Llama-2-7B numbers (hidden 4096, 32 layers, 32 heads, ffn 11008, vocab 32000)",
    ),
    "llama3-8b": _Spec(
        config_class="LlamaConfig",
        model_class="LlamaForCausalLM",
        config={**_LLAMA_2_7B, "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256,
                "max_position_embeddings": 8192, "rope_theta": 500000.0, "bos_token_id": 128000,
                "eos_token_id": 128001},
        family="llm",
        positions_field="max_position_embeddings",
        # Meta-Llama-3-8B config.json; 8,030,261,248 parameters (the published "8B").
        published={"params": 8_030_261_248},
        doc="Llama-3-8B numbers (grouped-query attention: 32 heads, 8 KV heads; ffn 14336, vocab 128256)",
    ),
    "llama-70b": _Spec(
        config_class="LlamaConfig",
        model_class="LlamaForCausalLM",
        config={**_LLAMA_2_7B, "hidden_size": 8192, "num_hidden_layers": 80, "num_attention_heads": 64,
                "num_key_value_heads": 8, "intermediate_size": 28672},
        family="llm",
        positions_field="max_position_embeddings",
        # Llama-2-70B: 68,976,648,192 parameters (the published "69B").
        published={"params": 68_976_648_192},
        doc="Llama-2-70B numbers (hidden 8192, 80 layers, 64 heads, 8 KV heads, ffn 28672)",
    ),
    "mistral-7b": _Spec(
        config_class="MistralConfig",
        model_class="MistralForCausalLM",
        config={"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
                "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 32000,
                "max_position_embeddings": 32768, "sliding_window": 4096, "rms_norm_eps": 1e-5,
                "tie_word_embeddings": False},
        family="llm",
        positions_field="max_position_embeddings",
        # Mistral-7B-v0.1 config.json (sliding window 4096); 7,241,732,096 parameters.
        published={"params": 7_241_732_096},
        doc="Mistral-7B-v0.1 numbers (sliding-window attention over 4096 tokens, 8 KV heads)",
    ),
    "mixtral-8x7b": _Spec(
        config_class="MixtralConfig",
        model_class="MixtralForCausalLM",
        config={"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
                "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 32000,
                "max_position_embeddings": 32768, "num_local_experts": 8, "num_experts_per_tok": 2,
                "rms_norm_eps": 1e-5, "tie_word_embeddings": False},
        family="llm",
        positions_field="max_position_embeddings",
        # Mixtral-8x7B-v0.1: 46,702,792,704 parameters (the published "46.7B", 12.9B active per token).
        published={"params": 46_702_792_704},
        doc="Mixtral-8x7B numbers (mixture of experts: 8 experts, 2 per token; 8 KV heads)",
    ),
    "llama": _Spec(
        config_class="LlamaConfig",
        model_class="LlamaForCausalLM",
        config={k: v for k, v in _LLAMA_2_7B.items() if k not in _LLAMA_REQUIRED and k != "num_key_value_heads"},
        family="llm",
        positions_field="max_position_embeddings",
        required=_LLAMA_REQUIRED,
        doc=(
            "generic Llama: params hidden_size, num_hidden_layers, num_attention_heads, intermediate_size "
            "(required), num_key_value_heads (default num_attention_heads), vocab_size (default 32000)"
        ),
    ),
}


def list_names() -> list[str]:
    """Names `build` accepts (shown as `hf:<name>`)."""
    return list(_SPECS)


def describe() -> dict[str, str]:
    """Name -> one-line description."""
    return {name: spec.doc for name, spec in _SPECS.items()}


class LogitsOnly(nn.Module):
    """Wraps a transformers model so that forward(input_ids) returns only the logits tensor."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, use_cache=False, return_dict=True).logits


def _import_transformers() -> Any:
    try:
        import transformers
        from transformers import AttentionInterface
        from transformers.integrations.sdpa_attention import sdpa_attention_forward
    except ImportError as exc:
        raise ModelSourceError(
            f"hf models need the optional dependency transformers ({exc}); install it with: pip install 'perfgraph[hf]'"
        ) from None
    if SDPA_NO_MASK not in AttentionInterface._global_mapping:
        AttentionInterface.register(SDPA_NO_MASK, sdpa_attention_forward)
    return transformers


_NUMERIC_BOOL = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def _parse_number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value


def _parse_override(name: str, key: str, raw: str, current: Any) -> Any:
    """Parse a config override by the type of the config's current value (numbers when it has none)."""
    text = str(raw).strip()
    bad = f"hf:{name}: parameter {key}={raw!r} is not a valid"
    if isinstance(current, bool):
        if text.lower() in _NUMERIC_BOOL:
            return _NUMERIC_BOOL[text.lower()]
        if text in ("0", "1"):
            return text == "1"
        raise BadParameterError(f"{bad} bool (true/false)")
    if isinstance(current, int):
        value = _parse_number(text)
        if not isinstance(value, int):
            raise BadParameterError(f"{bad} int")
        return check_int64(f"hf:{name}: parameter {key}", value)
    if isinstance(current, float):
        value = _parse_number(text)
        if value is None:
            raise BadParameterError(f"{bad} number")
        return float(value)
    if current is None:
        if text.lower() in ("none", "null"):
            return None
        value = _parse_number(text)
        return text if value is None else value
    if isinstance(current, str):
        return text
    raise ModelSourceError(f"hf:{name}: config field {key} ({type(current).__name__}) cannot be set from a param")


def _make_config(name: str, spec: _Spec, params: dict[str, str], transformers: Any) -> tuple[Any, int, dict[str, str]]:
    """The transformers config, the sequence length, and the resolved options (strings)."""
    config_cls = getattr(transformers, spec.config_class)
    params = dict(params or {})

    raw_seq = params.pop("seq_len", None)
    seq_len = DEFAULT_SEQ_LEN
    if raw_seq is not None:
        value = _parse_number(str(raw_seq).strip())
        if not isinstance(value, int) or value < 1:
            raise BadParameterError(f"hf:{name}: parameter seq_len={raw_seq!r} must be a positive int")
        seq_len = value

    missing = [k for k in spec.required if k not in params]
    if missing:
        raise ModelSourceError(
            f"hf:{name} needs params {', '.join(spec.required)} (missing {', '.join(missing)}), "
            f"e.g. --param hidden_size=2048 --param num_hidden_layers=16 ..."
        )

    base = config_cls(**spec.config)
    overrides: dict[str, Any] = {}
    for key, raw in params.items():
        if key.startswith("_") or not hasattr(base, key):
            raise BadParameterError(
                f"hf:{name}: unknown parameter {key!r}; use seq_len or a {spec.config_class} field "
                f"(e.g. {', '.join(k for k in spec.config if spec.config[k] is not None)})"
            )
        overrides[key] = _parse_override(name, key, raw, getattr(base, key))

    values = {**spec.config, **overrides}
    if spec.config_class == "LlamaConfig":
        values.setdefault("num_key_value_heads", values["num_attention_heads"])
        if values.get("head_dim", 0) is None:  # head_dim=none: derive it from hidden_size / heads
            values.pop("head_dim")
    for key, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0 and key.endswith(
            ("_size", "_layers", "_heads", "n_embd", "n_layer", "n_head", "n_positions", "_embeddings")
        ):
            raise BadParameterError(f"hf:{name}: parameter {key} must be positive, got {value}")
    _check_config(name, values)
    try:
        config = config_cls(**values)
    except Exception as exc:  # transformers wraps validator errors (huggingface_hub StrictDataclass...Error)
        cause = exc.__cause__ or exc
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise ModelSourceError(f"hf:{name}: invalid config: {first}") from None

    max_positions = getattr(config, spec.positions_field, None)
    if isinstance(max_positions, int) and seq_len > max_positions:
        raise ModelSourceError(
            f"hf:{name}: seq_len {seq_len} exceeds {spec.positions_field}={max_positions}; "
            f"raise it with --param {spec.positions_field}=..."
        )
    config.use_cache = False
    options = {"seq_len": str(seq_len), **{k: str(v) for k, v in sorted(overrides.items())}}
    if spec.required:  # generic config: the model is identified by all of its numbers
        options.update({k: str(values[k]) for k in (*spec.required, "num_key_value_heads", "vocab_size")})
    return config, seq_len, options


def _check_config(name: str, values: dict[str, Any]) -> None:
    """Head-count checks on the raw config values (GPT-2 spells them n_embd / n_head)."""
    hidden = values.get("hidden_size", values.get("n_embd"))
    heads = values.get("num_attention_heads", values.get("n_head"))
    if isinstance(hidden, int) and isinstance(heads, int) and heads > 0:
        if values.get("head_dim") is None and hidden % heads:
            raise ModelSourceError(f"hf:{name}: hidden size {hidden} must be divisible by {heads} attention heads")
        kv = values.get("num_key_value_heads")
        if isinstance(kv, int) and (kv < 1 or heads % kv):
            raise ModelSourceError(
                f"hf:{name}: num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kv})"
            )


def build(name: str, *, batch: int, params: dict[str, str]) -> BuiltModel:
    """Build the transformers model `name` (without the `hf:` prefix) from config numbers, random init."""
    key = name.removeprefix("hf:")
    spec = _SPECS.get(key)
    if spec is None:
        raise ModelSourceError(f"unknown hf model {name!r}; choose one of {', '.join(_SPECS)}")
    if int(batch) < 1:
        raise ModelSourceError(f"batch must be >= 1, got {batch}")
    batch = int(batch)
    transformers = _import_transformers()
    config, seq_len, options = _make_config(key, spec, params, transformers)
    model_cls = getattr(transformers, spec.model_class)
    vocab = int(config.vocab_size)

    def build_module() -> nn.Module:
        # The ambient `torch.device(...)` context (meta or cpu) decides where parameters live; under meta
        # transformers' weight init runs on meta tensors and allocates nothing.
        try:
            model = model_cls._from_config(
                copy.deepcopy(config), attn_implementation=spec.attn_implementation, dtype=torch.get_default_dtype()
            )
        except Exception as exc:  # a config override transformers rejects only when building (e.g. activation)
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ModelSourceError(f"hf:{key}: cannot build {spec.model_class}: {type(exc).__name__}: {first}") from None
        return LogitsOnly(model).eval()

    def make_inputs(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor]:
        # Token ids are int64 whatever the float dtype.
        return (torch.randint(0, vocab, (batch, seq_len), device=device, dtype=torch.int64),)

    published = dict(spec.published) if not (set(options) - {"seq_len"}) else {}
    return BuiltModel(
        name=f"hf:{key}",
        source="transformers",
        build=build_module,
        make_inputs=make_inputs,
        input_shape=[batch, seq_len],
        batch=batch,
        published=published,
        options=options,
        family=spec.family,
    )
