"""LLM serving and training on a chip: phases, memory, serving metrics, training step.

    from perfgraph import llm
    arch = llm.architecture("hf:llama-7b")
    llm.memory(arch, batch=8, context=4096, scheme="bf16")            # weights, KV cache, activations
    llm.serve("hf:llama-7b", ["h100", "a100"], batches=(1, 8, 64))     # TTFT, TPOT, tokens/s per chip x batch
    llm.train_step("hf:llama-7b", "h100", batch=1, seq_len=2048)       # FLOPs, memory, step time, MFU

Phases are traced by `ingest.hf_phases` (meta tensors, bf16) and mapped with `engine.model_mapping.map_model`;
nothing here imports torch at module level.

**Schemes** (`SCHEMES`): what weights, activations and the KV cache are stored in, and which peak the
compute runs at.  `w8a16` / `w4a16` are weight-only quantisation: weights stored in 8 / 4 bits, dequantised
into bf16 GEMMs (compute at the bf16 peak, every weight byte read scaled by 1/2 or 1/4; quantisation
scales are not counted, and every result says so: `scheme_assumptions`).  A group suffix counts them:
`w4a16-g32` stores a 16-bit scale and a 16-bit zero point per group of 32 weights (`GROUP_SCALE_BYTES`), so
0.5 + 4/32 bytes per weight.

**Memory** (`memory`): weights = parameters x weight bytes; KV cache = 2 (K and V) x layers x kv_heads x
head_dim x cached tokens x batch x KV bytes (a sliding-window layer caches min(context, window) tokens);
activations = the peak of live tensors over the traced prefill at batch 1 without a cache (what is alive
at once besides weights), times the batch.  `fit`: chips needed = ceil(total / one chip's memory), the
largest batch at the context and the largest context at the batch that fit one chip.

**Serving** (`serve`): TTFT = the prefill of `batch` prompts of `prompt_len` tokens at once; TPOT = one
decode step at context = prompt_len + output_len / 2 (the mean over the generation: decode cost is linear
in the context); tokens/s per chip = batch / TPOT, per sequence = 1 / TPOT.  The saturating batch is the
smallest batch that fits and reaches 80 % of the best tokens/s of the sweep (`engine.saturation`'s definition).

**Training** (`train_step`): forward + backward + AdamW traced on meta tensors; memory for mixed precision
(ZeRO paper, Rajbhandari et al. 2020, section 3.1): 2 bytes bf16 parameters + 12 bytes fp32 optimizer
states (master copy, Adam m and v) per parameter, plus the traced peak of live tensors over forward +
backward (saved activations and the bf16 gradients produced so far), with or without activation
checkpointing; MFU = 6 x params x tokens / (step time x peak)
(the PaLM paper's definition, Chowdhery et al. 2022, appendix B, attention FLOPs not counted).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable, Sequence

from perfgraph.engine.model_mapping import ModelMapping, map_model, peak_memory
from perfgraph.graph import ModelGraph

TRACE_DTYPE = "bf16"
TRACE_BYTES = 2
# name -> (compute precision for the engine, weight bytes, activation and KV-cache bytes)
SCHEMES: dict[str, tuple[str, float, float]] = {
    "fp32": ("fp32", 4, 4), "fp16": ("fp16", 2, 2), "bf16": ("bf16", 2, 2), "int8": ("int8", 1, 1),
    "w8a16": ("bf16", 1, 2), "w4a16": ("bf16", 0.5, 2),
}
# Bytes per quantisation group: a bf16 scale and a bf16 zero point (gpt-fast's and torchao's int4 weight-only
# layout keeps `scales_and_zeros` as bfloat16 pairs per group and output column).
GROUP_SCALE_BYTES = 4
SATURATION_THRESHOLD = 0.8
# Mixed-precision training bytes per parameter (ZeRO paper, section 3.1: "2Ψ + 2Ψ + KΨ" with K = 12).
TRAIN_PARAM_BYTES, TRAIN_GRAD_BYTES, TRAIN_OPTIMIZER_BYTES = 2, 2, 12


def scheme_assumptions(name: str) -> list[str]:
    """What a scheme's byte counts leave out, printed with every result that uses it (weight-only schemes).

    >>> scheme_assumptions("bf16")
    []
    """
    _, weight_bytes, act_bytes = _scheme(name)
    if weight_bytes >= act_bytes:  # not weight-only: weights stored like the activations, no scales
        return []
    base, group = split_scheme(name)
    if group:
        return [f"{name.lower()}: {SCHEMES[base][1]:g} byte per weight + a 16-bit scale and zero point per group of "
                f"{group} weights ({weight_bytes:g} bytes per weight); the dequantising GEMM is costed at the "
                "streaming rate"]
    return [f"{name.lower()}: {weight_bytes:g} byte per weight; the group-wise quantisation scales and zero points "
            "are not counted (a 16-bit scale and zero per group of G weights adds 4/G bytes per weight: +6 % on "
            "int4 weights at G = 128, +25 % at G = 32; name the group to count them, e.g. w4a16-g32)"]


def split_scheme(name: str) -> tuple[str, str]:
    """(scheme, group size text or "") of a name with an optional group suffix; no validation (`_scheme`).

    >>> split_scheme("W4A16-g32"), split_scheme("bf16")
    (('w4a16', '32'), ('bf16', ''))
    """
    base, _, group = name.lower().partition("-g")
    return base, group


def _scheme(name: str) -> tuple[str, float, float]:
    """(compute precision, weight bytes, activation bytes) of a scheme name, a weight-only one with an optional
    group suffix (module docstring).

    >>> _scheme("w4a16-g32")
    ('bf16', 0.625, 2)

    Raises:
        ValueError: an unknown scheme, or a group suffix on a scheme without groups or with a bad size.
    """
    key = name.lower()
    base, group = split_scheme(key)
    if "-g" in key:
        weight_only = base in SCHEMES and SCHEMES[base][1] < SCHEMES[base][2]
        if not weight_only or not group.isdigit() or int(group) < 1:
            raise ValueError(f"bad precision {name!r}: a group suffix -g<N> (N >= 1 weights) follows a weight-only "
                             f"scheme ({', '.join(k for k, v in SCHEMES.items() if v[1] < v[2])})")
        precision, weight_bytes, act_bytes = SCHEMES[base]
        return precision, weight_bytes + GROUP_SCALE_BYTES / int(group), act_bytes
    try:
        return SCHEMES[key]
    except KeyError:
        raise ValueError(f"unknown precision {name!r}; choose one of {', '.join(SCHEMES)} "
                         "(weight-only ones with a group suffix, e.g. w4a16-g128)") from None


def check_scheme(name: str) -> str:
    """`name` in lower case when it is a scheme (`_scheme`: with or without a group suffix).

    Raises:
        ValueError: not a scheme, with the ones there are.
    """
    _scheme(name)
    return name.lower()


def architecture(model: str, params: dict[str, str] | None = None):
    """`ingest.hf_phases.Arch`: layers, heads, KV heads, head size, total and active parameters."""
    from perfgraph.ingest.hf_phases import architecture as arch

    return arch(model, dict(params or {}))


def _frozen(params: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((params or {}).items()))


@functools.lru_cache(maxsize=64)
def _phase_graph(model: str, phase: str, batch: int, prompt_len: int, context: int,
                 params: tuple[tuple[str, str], ...], cache: str, checkpointing: bool,
                 optimizer: bool = True) -> ModelGraph:
    from perfgraph.analysis import annotate_stages
    from perfgraph.ingest.hf_phases import trace_phase
    from perfgraph.ingest.partition import partition

    mg = trace_phase(model, phase, batch=batch, prompt_len=prompt_len, context=context, dtype=TRACE_DTYPE,
                     params=dict(params), cache=cache, checkpointing=checkpointing, optimizer=optimizer)
    tokens = batch * (1 if phase == "decode" else prompt_len)
    return with_experts_touched(annotate_stages(partition(mg)), architecture(model, dict(params)), tokens)


def phase_graph(model: str, phase: str, *, batch: int = 1, prompt_len: int = 512, context: int = 512,
                params: dict[str, str] | None = None, cache: str = "static",
                checkpointing: bool = False, optimizer: bool = True) -> ModelGraph:
    """The partitioned op graph of one phase (prefill | decode | train | forward), traced once per argument
    set (`train`: with the AdamW update unless `optimizer=False`)."""
    return _phase_graph(model, phase, int(batch), int(prompt_len), int(context), _frozen(params), cache,
                        bool(checkpointing), bool(optimizer))


def with_weight_bytes(mg: ModelGraph, factor: float) -> ModelGraph:
    """A copy of `mg` whose weight bytes are scaled by `factor` (weight-only quantisation); FLOPs unchanged."""
    if factor == 1:
        return mg
    values = [replace(v, nbytes=int(v.nbytes * factor)) if v.is_weight else v for v in mg.values]
    ops = [replace(op, weight_bytes=int(op.weight_bytes * factor)) if op.weight_bytes else op for op in mg.ops]
    return _with_weight_reads(mg, mg.info, ops, values, lambda sg: int(sg.weight_bytes * factor))


def _with_weight_reads(mg: ModelGraph, info: Any, ops: list, values: list, weight_of: Any) -> ModelGraph:
    """`mg` with new ops and values, each subgraph reading `weight_of(subgraph)` weight bytes (its external
    bytes and intensity follow)."""
    subgraphs = []
    for sg in mg.subgraphs:
        weight = weight_of(sg)
        external = sg.external_bytes - sg.weight_bytes + weight
        subgraphs.append(replace(sg, weight_bytes=weight, external_bytes=external,
                                 intensity=sg.flops / external if external else 0.0))
    return ModelGraph(info=info, ops=ops, values=values, op_edges=mg.op_edges, subgraphs=subgraphs,
                      subgraph_edges=mg.subgraph_edges)


def experts_touched(experts: int, per_token: int, tokens: int) -> float:
    """The expected share of a MoE layer's experts that `tokens` tokens reach when each token goes to
    `per_token` distinct experts, uniformly: 1 - (1 - k/E)^T (exact for one token; an assumption for more,
    since real routers are not uniform).

    Examples:
        >>> experts_touched(8, 2, 1)
        0.25
    """
    return 1.0 - (1.0 - per_token / experts) ** tokens


def with_experts_touched(mg: ModelGraph, arch: Any, tokens: int) -> ModelGraph:
    """A copy of `mg` in which the expert GEMMs of a MoE model read only the experts its `tokens` reach
    (`experts_touched`): the traced grouped GEMM takes every expert's weights, a serving engine reads the
    routed ones. Weight values (memory: every expert stays resident) and FLOPs are unchanged; the share is
    recorded in the model's assumptions."""
    if not getattr(arch, "experts", 0) or not getattr(arch, "experts_per_token", 0):
        return mg
    share = experts_touched(arch.experts, arch.experts_per_token, tokens)
    expert_ops = {op.index for op in mg.ops if op.weight_bytes and ".experts" in op.module_path}
    if share >= 0.999 or not expert_ops:
        return mg
    ops = [replace(op, weight_bytes=int(op.weight_bytes * share)) if op.index in expert_ops else op for op in mg.ops]

    def weight_of(sg) -> int:
        return sg.weight_bytes - sum(mg.ops[i].weight_bytes - ops[i].weight_bytes for i in sg.op_indices)

    note = (f"MoE: {tokens} token(s) routed to {arch.experts_per_token} of {arch.experts} experts each read "
            f"{share:.0%} of the expert weights per layer (uniform routing assumed: 1 - (1 - k/E)^tokens)")
    info = replace(mg.info, assumptions=[*(mg.info.assumptions or []), note])
    return _with_weight_reads(mg, info, ops, mg.values, weight_of)


def map_phase(mg: ModelGraph, hw: Any, scheme: str = "bf16", runtime: str | None = None) -> ModelMapping:
    """Map a phase graph onto a chip under a precision scheme (see `SCHEMES`)."""
    precision, weight_bytes, act_bytes = _scheme(scheme)
    from perfgraph.engine.common import PRECISION_BYTES

    factor = weight_bytes / PRECISION_BYTES[precision]
    kwargs: dict[str, Any] = {"runtime": runtime} if runtime else {}
    return map_model(with_weight_bytes(mg, factor), hw, precision, **kwargs)


# ---- memory ---------------------------------------------------------------------------------------------
def kv_cache_bytes(arch: Any, context: int, batch: int = 1, bytes_per_value: float = 2) -> float:
    """2 (K and V) x sum over layers of cached tokens x kv_heads x head_dim x batch x bytes."""
    tokens = sum(arch.cached_tokens(int(context)))
    return 2.0 * tokens * arch.kv_heads * arch.head_dim * int(batch) * bytes_per_value


@dataclass
class Memory:
    scheme: str
    batch: int
    context: int
    weights_bytes: float
    kv_bytes_per_token: float  # per sequence, all layers, at full attention (before any window)
    kv_bytes: float
    activation_bytes: float
    total_bytes: float
    tp: int = 1  # per chip of tp x pp chips: weights and KV cache divided by tp x pp, activations not
    pp: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@functools.lru_cache(maxsize=32)
def _activation_bytes_per_sequence(model: str, prompt_len: int, params: tuple[tuple[str, str], ...]) -> float:
    """Peak live activations of a prefill of one prompt without a cache, at the traced (bf16) size."""
    from perfgraph.analysis import annotate_stages
    from perfgraph.ingest.hf_phases import trace_phase
    from perfgraph.ingest.partition import partition

    mg = trace_phase(model, "prefill", batch=1, prompt_len=prompt_len, dtype=TRACE_DTYPE,
                     params=dict(params), cache="none")
    return peak_memory(annotate_stages(partition(mg)))[1]


def memory(arch: Any, *, batch: int, context: int, scheme: str = "bf16", model: str | None = None,
           params: dict[str, str] | None = None, prompt_len: int | None = None,
           activation_bytes: float | None = None, tp: int = 1, pp: int = 1) -> Memory:
    """Weights, KV cache and activations at `batch` sequences of `context` tokens (module docstring).

    Activations come from a traced prefill of `prompt_len` (default: `context`) tokens of `model`, unless
    `activation_bytes` (per batch, at the scheme's size) is given; without either they are 0 and say so
    nowhere else — pass one of them.  With `tp` x `pp` chips the figures are per chip: weights and KV cache
    divided by tp x pp (heads and layers split evenly, `llm_parallel`), activations kept whole (an upper
    bound: the replicated residual stream is full size on every chip)."""
    _, weight_bytes, act_bytes = _scheme(scheme)
    if activation_bytes is None:
        if model is None:
            raise ValueError("memory() needs model= (to trace the activations) or activation_bytes=")
        per_seq = _activation_bytes_per_sequence(model, int(prompt_len or context), _frozen(params))
        activation_bytes = per_seq * act_bytes / TRACE_BYTES * int(batch)
    chips = int(tp) * int(pp)
    weights = arch.params_total * weight_bytes / chips
    kv = kv_cache_bytes(arch, context, batch, act_bytes) / chips
    per_token = 2.0 * arch.layers * arch.kv_heads * arch.head_dim * act_bytes / chips
    return Memory(scheme=scheme, batch=int(batch), context=int(context), weights_bytes=weights,
                  kv_bytes_per_token=per_token, kv_bytes=kv, activation_bytes=float(activation_bytes),
                  total_bytes=weights + kv + float(activation_bytes), tp=int(tp), pp=int(pp))


@dataclass
class Fit:
    hardware: str
    capacity_bytes: float
    chips_needed: int  # ceil(total / capacity): weights, KV cache and activations split evenly
    max_batch: int  # at the context asked, on one chip (0: the weights alone do not fit)
    max_context: int  # at the batch asked, on one chip (0: not even one token)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit(mem: Memory, arch: Any, hw: Any) -> Fit:
    """How many chips `mem` needs, and the largest batch x context that fits one chip."""
    cap = float(hw.dram.capacity_bytes)
    act_per_seq = mem.activation_bytes / max(mem.batch, 1)
    kv_per_seq = mem.kv_bytes / max(mem.batch, 1)
    free = cap - mem.weights_bytes
    max_batch = int(free // (kv_per_seq + act_per_seq)) if free > 0 and kv_per_seq + act_per_seq > 0 else 0
    max_context = 0
    free_ctx = free - act_per_seq * mem.batch
    if free_ctx > 0:
        act = _scheme(mem.scheme)[2]
        lo, hi = 0, 1 << 24  # largest context whose KV cache fits (monotone in the context)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if kv_cache_bytes(arch, mid, mem.batch, act) <= free_ctx:
                lo = mid
            else:
                hi = mid - 1
        max_context = lo
    return Fit(hardware=hw.id, capacity_bytes=cap, chips_needed=max(1, math.ceil(mem.total_bytes / cap)),
               max_batch=max_batch, max_context=max_context)


# ---- serving -------------------------------------------------------------------------------------------
def _hardware(chips: Iterable[Any]) -> list[Any]:
    from perfgraph.hardware.registry import get
    return [get(c) if isinstance(c, str) else c for c in chips]


def _label(m: ModelMapping) -> dict[str, Any]:
    """runtime / tier / expected error of a mapping, where the engine provides them."""
    out = {}
    for key in ("runtime", "tier", "expected_error"):
        value = getattr(m, key, None)
        if value is not None:
            out[key] = str(value) if key != "expected_error" else value
    return out


def _serving_label(m: ModelMapping, hw: Any, batch: int) -> dict[str, Any]:
    """`_label`, with the error measured on published LLM serving results where they cover the prediction (the
    ``graph`` runtime on a GPU, `engine.tiers.serving_expected_error`) in place of the tier's figure."""
    from perfgraph.engine.tiers import serving_expected_error

    out = _label(m)
    serving = serving_expected_error(int(batch)) if hw.kind == "GPU" and out.get("runtime") == "graph" else None
    if serving is not None:
        out["expected_error"] = serving.as_dict()
    return out


def serve(model: str, chips: Sequence[Any], *, batches: Sequence[int] = (1, 8, 32), prompt_len: int = 512,
          output_len: int = 256, scheme: str = "bf16", runtime: str | None = None,
          params: dict[str, str] | None = None, cache: str = "static", tp: int = 1, pp: int = 1,
          micro_batches: int = 1, engine: str | None = None) -> list[dict[str, Any]]:
    """One row per chip x batch: TTFT, TPOT, tokens/s per chip and per sequence, memory, fits, saturating.

    `engine` (`engine.serving_engine`, default ``none``): a serving engine's host work per step, added to the
    prefill step and to every decode step (``host_s_per_step``).

    `tp` x `pp` chips (`llm_parallel`): each phase is mapped as one chip's share with its collectives; with
    `pp` > 1 a batch runs as `micro_batches` micro-batches through the pipeline (its time and bubble).
    `expected_error`: under the ``graph`` runtime on a GPU, the error measured on published serving results at
    the row's batch (`engine.tiers.serving_expected_error`); elsewhere the tier's figure."""
    from perfgraph import llm_parallel
    from perfgraph.engine.serving_engine import get as engine_profile

    profile = engine_profile(engine)
    arch = architecture(model, params)
    llm_parallel.check_degrees(arch, int(tp), int(pp))
    parallel = int(tp) > 1 or int(pp) > 1
    for b in batches:
        if int(b) % int(micro_batches):
            raise ValueError(f"batch {b} does not split into {micro_batches} micro-batches")
    context = int(prompt_len) + int(output_len) // 2
    end = int(prompt_len) + int(output_len)
    rows: list[dict[str, Any]] = []
    for hw in _hardware(chips):
        chip_rows = []
        for b in batches:
            micro = int(b) // int(micro_batches) if parallel else int(b)
            pre_g = phase_graph(model, "prefill", batch=micro, prompt_len=prompt_len, params=params, cache=cache)
            dec_g = phase_graph(model, "decode", batch=micro, context=context, params=params, cache=cache)
            if parallel:
                (ttft, pre_bubble), (tpot, dec), extra = _parallel_phases(pre_g, dec_g, hw, scheme, runtime, tp,
                                                                          pp, micro_batches)
            else:
                dec = map_phase(dec_g, hw, scheme, runtime)
                ttft, tpot, extra = map_phase(pre_g, hw, scheme, runtime).latency_sequential_s, \
                    dec.latency_sequential_s, {}
            mem = memory(arch, batch=b, context=end, scheme=scheme, model=model, params=params,
                         prompt_len=prompt_len, tp=tp, pp=pp)
            host = profile.host_s(int(b))  # a step whose host work outlasts its kernels waits on the host
            bound = "host" if host > tpot else max(dec.bound_time_s, key=dec.bound_time_s.get, default="")
            ttft, tpot = ttft + host, tpot + host
            chip_rows.append({
                "model": model, "hardware": hw.id, "scheme": scheme, "batch": int(b), "prompt_len": int(prompt_len),
                "output_len": int(output_len), "decode_context": context, "ttft_s": ttft,
                "tpot_s": tpot, "tokens_per_s": b / tpot if tpot > 0 else 0.0,
                "tp": int(tp), "pp": int(pp), "chips": int(tp) * int(pp),
                "tokens_per_s_per_chip": b / tpot / (int(tp) * int(pp)) if tpot > 0 else 0.0, **extra,
                "tokens_per_s_per_seq": 1 / tpot if tpot > 0 else 0.0,
                "decode_bound": bound, "engine": profile.id, "host_s_per_step": host,
                "weights_bytes": mem.weights_bytes, "kv_bytes": mem.kv_bytes,
                "activation_bytes": mem.activation_bytes, "memory_bytes": mem.total_bytes,
                "fits": mem.total_bytes <= hw.dram.capacity_bytes, **_serving_label(dec, hw, b),
                "assumptions": scheme_assumptions(scheme) + [a for a in (profile.assumption(int(b)),) if a],
            })
        fitting = [r for r in chip_rows if r["fits"]]
        best = max((r["tokens_per_s"] for r in fitting), default=0.0)
        saturating = next((r["batch"] for r in sorted(fitting, key=lambda r: r["batch"])
                           if best > 0 and r["tokens_per_s"] >= SATURATION_THRESHOLD * best), None)
        for r in chip_rows:
            r["saturating_batch"] = saturating
        rows += chip_rows
    return rows


def _parallel_phases(pre_g: ModelGraph, dec_g: ModelGraph, hw: Any, scheme: str, runtime: str | None, tp: int,
                     pp: int, micro_batches: int):
    """((TTFT, its bubble), (TPOT, the decode mapping), row fields) of one chip's share under tp x pp."""
    from perfgraph import llm_parallel

    out = []
    extra: dict[str, Any] = {"micro_batches": int(micro_batches)}
    for name, g in (("prefill", pre_g), ("decode", dec_g)):
        pg = llm_parallel.parallelize(g, tp, pp)
        mm = map_phase(pg.graph, hw, scheme, runtime)
        total, bubble = llm_parallel.pipeline_time(llm_parallel.stage_times(mm, pg), micro_batches)
        comm = sum(k.latency_s for k in mm.kernels if k.kernel == "collective")
        extra[f"{name}_collective_s"] = comm
        extra[f"{name}_bubble"] = bubble
        extra[f"{name}_collectives"] = sum(pg.collectives.values())
        out.append((total, mm))
    return (out[0][0], extra["prefill_bubble"]), out[1], extra


# ---- training ------------------------------------------------------------------------------------------
@dataclass
class TrainStep:
    model: str
    hardware: str
    batch: int
    seq_len: int
    tokens: int
    params: int
    forward_flops: int
    step_flops: int  # traced: forward + backward + optimizer
    flops_ratio_to_6nd: float  # step FLOPs / (6 x params x tokens)
    step_time_s: float
    memory: dict[str, float] = field(default_factory=dict)
    memory_checkpointed: dict[str, float] = field(default_factory=dict)
    fits: bool = True
    mfu: float | None = None  # given a measured step time
    predicted_mfu: float = 0.0
    labels: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _train_memory(params: int, fwd_bwd: ModelGraph, act_scale: float) -> dict[str, float]:
    """Parameters and optimizer states (static), plus the traced peak of live tensors over forward + backward
    (no optimizer): saved activations and the gradients produced so far, which is what varies in a step."""
    dynamic = peak_memory(fwd_bwd)[1] * act_scale
    out = {"parameters_bytes": float(params * TRAIN_PARAM_BYTES),
           "optimizer_bytes": float(params * TRAIN_OPTIMIZER_BYTES),
           "activations_and_gradients_bytes": float(dynamic)}
    out["total_bytes"] = sum(out.values())
    out["gradients_bytes"] = float(params * TRAIN_GRAD_BYTES)  # included in the traced peak above
    return out


def train_step(model: str, chip: Any, *, batch: int = 1, seq_len: int = 2048, scheme: str = "bf16",
               runtime: str | None = None, params: dict[str, str] | None = None,
               measured_step_time_s: float | None = None) -> TrainStep:
    """Forward + backward + AdamW of one step of `batch` x `seq_len` tokens on one chip (module docstring)."""
    hw = _hardware([chip])[0]
    step = phase_graph(model, "train", batch=batch, prompt_len=seq_len, params=params)
    fwd = phase_graph(model, "forward", batch=batch, prompt_len=seq_len, params=params)
    no_opt = phase_graph(model, "train", batch=batch, prompt_len=seq_len, params=params, optimizer=False)
    ckpt = phase_graph(model, "train", batch=batch, prompt_len=seq_len, params=params, checkpointing=True,
                       optimizer=False)
    mapping = map_phase(step, hw, scheme, runtime)
    n = int(step.info.params)
    tokens = int(batch) * int(seq_len)
    six_nd = 6 * n * tokens
    peak = hw.peak(_scheme(scheme)[0])
    act_scale = _scheme(scheme)[2] / TRACE_BYTES
    mem = _train_memory(n, no_opt, act_scale)
    if measured_step_time_s is not None and measured_step_time_s <= 0:
        raise ValueError(f"--measured-step-time must be positive, got {measured_step_time_s}")
    return TrainStep(
        model=model, hardware=hw.id, batch=int(batch), seq_len=int(seq_len), tokens=tokens, params=n,
        forward_flops=int(fwd.info.flops), step_flops=int(step.info.flops),
        flops_ratio_to_6nd=step.info.flops / six_nd, step_time_s=mapping.latency_sequential_s,
        memory=mem, memory_checkpointed=_train_memory(n, ckpt, act_scale), fits=mem["total_bytes"] <= hw.dram.capacity_bytes,
        mfu=six_nd / (measured_step_time_s * peak) if measured_step_time_s else None,
        predicted_mfu=six_nd / (mapping.latency_sequential_s * peak) if mapping.latency_sequential_s > 0 else 0.0,
        labels=_label(mapping))
