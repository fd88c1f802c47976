"""`perfgraph llm ...`: LLM phases, memory, serving metrics and training steps (see `perfgraph.llm`)."""

from __future__ import annotations

import json

import click

from perfgraph.cli import output
from perfgraph.cli.group import cli
from perfgraph.cli.options import BatchList
from perfgraph.vocab import Dtype, Phase, Precision, Scheme, choices
from perfgraph.cli.options import runtime_options
from perfgraph.engine.serving_engine import engine_ids, get as engine_profile
from perfgraph.cli.graph_cmds import neo4j_options, open_store

class _SchemeParam(click.ParamType):
    """A scheme name (`vocab.Scheme`), weight-only ones with an optional group suffix (w4a16-g32)."""

    name = "scheme"

    def convert(self, value, param, ctx):
        from perfgraph import llm

        try:
            return llm.check_scheme(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(choices(Scheme)) + "][-gN]"


SCHEME_CHOICE = _SchemeParam()
SCHEME_HELP = ("Storage and compute: fp32 | fp16 | bf16 | int8 (W8A8) | w8a16 / w4a16 (weight-only int8 / "
               "int4, bf16 compute; add -gN, e.g. w4a16-g32, to count a 16-bit scale and zero per group of N weights).")


def _params(pairs):
    from perfgraph.ingest.sources import parse_params

    return parse_params(pairs)


def _chips(text: str) -> list[str]:
    chips = [c.strip() for c in (text or "").split(",") if c.strip()]
    if not chips:
        raise click.UsageError("--hardware needs at least one chip (e.g. h100,a100)")
    return chips


def _emit(rows, as_json: bool, title: str, conditions: str) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    output.print_rows(rows, title=title)
    click.echo(conditions)


@cli.group("llm")
def llm_group() -> None:
    """LLMs: prefill and decode phases, KV-cache memory, serving metrics per chip, training steps.

    MODEL is an hf: decoder: hf:llama-7b, hf:llama3-8b (grouped-query attention), hf:llama-70b,
    hf:mistral-7b (sliding window), hf:mixtral-8x7b (mixture of experts), hf:gpt2, or hf:llama with -p.

    \b
    Examples:
      perfgraph llm phase hf:llama-7b --phase decode --batch 8 --context 2048
      perfgraph llm memory hf:llama-7b --batch 8 --context 4096 --hardware h100,a100
      perfgraph llm serve hf:llama-7b --hardware h100,a100 --batch 1,8,32
      perfgraph llm serve hf:llama-70b --hardware h100 --batch 8 --tp 4 --pp 2 --micro-batches 4
      perfgraph llm serve hf:llama3-8b --hardware h100 --batch 1,64 --runtime graph --engine vllm-v0
      perfgraph llm train hf:llama-7b --hardware h100 --seq-len 2048 --measured-step-time 0.5
      perfgraph llm ingest hf:gpt2 --phase decode --context 512 --hardware h100,a100 --uri bolt://127.0.0.1:7687
    """


def phase_summary(model, phase, batch, prompt_len, context, params, cache, top, as_json) -> None:
    """Print the cost summary of one traced phase (what `analyze --phase` shows)."""
    from perfgraph import llm
    from perfgraph.pipeline import summarize

    with output.status(f"tracing the {phase} of {model}"):
        mg = llm.phase_graph(model, phase, batch=batch, prompt_len=prompt_len, context=context,
                             params=_params(params), cache=cache)
    summary = summarize(mg, top=top)
    summary["phase"] = phase
    if phase == "decode":
        summary["context"] = context
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    output.print_summary(summary)
    where = f"one decode step at context {context}" if phase == "decode" else f"a prompt of {prompt_len} tokens"
    click.echo(f"phase {phase}: {where}, batch {batch} (concurrent sequences), cache {cache}, traced in bf16")


def analyze_phase(model, phase, batches, params, context, hardware, top, as_json) -> None:
    """`perfgraph analyze MODEL --phase ...`: the phase summary; the prompt is `-p seq_len` (default 128)."""
    if hardware:
        raise click.UsageError("--phase with --hardware: use `perfgraph llm serve MODEL --hardware ...` "
                               "(TTFT, TPOT and tokens/s per chip)")
    if batches and len(batches) > 1:
        raise click.UsageError("a list of batches needs `perfgraph llm serve` (one phase summary per run)")
    pairs = _params(params)
    raw = pairs.pop("seq_len", "128")
    try:
        prompt_len = int(raw)
    except ValueError:
        raise click.UsageError(f"-p seq_len={raw!r} must be a positive integer") from None
    if prompt_len < 1:
        raise click.UsageError(f"-p seq_len={raw!r} must be a positive integer")
    rest = tuple(f"{k}={v}" for k, v in pairs.items())
    phase_summary(model, phase, batches[0] if batches else 1, prompt_len, context, rest, "static", top, as_json)


def phase_options(f):
    """--phase, --batch, --prompt, --context, --cache and -p: what chooses one traced phase of a decoder."""
    for opt in reversed([
        click.option("--phase", type=click.Choice(choices(Phase)), default=Phase.DECODE.value, show_default=True),
        click.option("--batch", "-b", default=1, show_default=True, type=click.IntRange(min=1),
                     help="Concurrent sequences."),
        click.option("--prompt", "prompt_len", default=512, show_default=True, type=click.IntRange(min=1),
                     help="Prompt tokens (prefill)."),
        click.option("--context", default=512, show_default=True, type=click.IntRange(min=1),
                     help="Tokens already in the KV cache (decode)."),
        click.option("--cache", type=click.Choice(["static", "dynamic"]), default="static", show_default=True,
                     help="static: preallocated cache written in place; dynamic: torch.cat every step "
                          "(eager generate)."),
        click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
                     help="Config override, repeatable."),
    ]):
        f = opt(f)
    return f


@llm_group.command("phase")
@click.argument("model")
@phase_options
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True)
def phase_cmd(model, phase, batch, prompt_len, context, cache, params, top, as_json):
    """Trace one prefill or one decode step of MODEL and print its cost summary."""
    phase_summary(model, phase, batch, prompt_len, context, params, cache, top, as_json)


@llm_group.command("memory")
@click.argument("model")
@click.option("--batch", "-b", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--context", default=4096, show_default=True, type=click.IntRange(min=1),
              help="Tokens per sequence held in the KV cache.")
@click.option("--precision", "schemes", default="fp32,bf16,int8,w8a16,w4a16", show_default=True,
              help="Comma-separated schemes: " + SCHEME_HELP)
@click.option("--hardware", "--hw", "hardware", default=None, metavar="CHIP[,CHIP...]",
              help="Also: chips needed, and the largest batch / context that fits one chip.")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE")
@click.option("--json", "as_json", is_flag=True)
def memory_cmd(model, batch, context, schemes, hardware, params, as_json):
    """Weights, KV cache (per token and at --context) and activations, per precision; fits on N chips."""
    from perfgraph import llm
    from perfgraph.hardware.spec import get

    params = _params(params)
    names = [s.strip().lower() for s in schemes.split(",") if s.strip()]
    with output.status(f"tracing {model}"):
        arch = llm.architecture(model, params)
        rows = []
        for scheme in names:
            mem = llm.memory(arch, batch=batch, context=context, scheme=scheme, model=model, params=params)
            row = {"scheme": scheme, "weights": output.human(mem.weights_bytes, "B"),
                   "kv_per_token": output.human(mem.kv_bytes_per_token, "B"),
                   "kv_cache": output.human(mem.kv_bytes, "B"),
                   "activations": output.human(mem.activation_bytes, "B"),
                   "total": output.human(mem.total_bytes, "B")}
            raw = {**mem.as_dict(), "assumptions": llm.scheme_assumptions(scheme)}
            for chip in _chips(hardware) if hardware else []:
                hw = get(chip)
                f = llm.fit(mem, arch, hw)
                row[f"{hw.id} chips/max batch/max ctx"] = f"{f.chips_needed} / {f.max_batch} / {f.max_context}"
                raw[hw.id] = f.as_dict()
            rows.append(raw if as_json else row)
    moe = (f"; MoE: {arch.params_active:,} of {arch.params_total:,} parameters active per token"
           if arch.experts else "")
    window = f"; sliding window {arch.sliding_window} on {arch.sliding_layers} layers" if arch.sliding_window else ""
    _emit(rows, as_json, f"{model}: memory at batch {batch} x context {context}",
          f"{arch.params_total:,} parameters, {arch.layers} layers, {arch.kv_heads} KV heads x head size "
          f"{arch.head_dim}{moe}{window}. KV cache = 2 x layers x kv_heads x head_dim x context x batch x bytes; "
          f"activations: peak live tensors of a traced {context}-token prefill x batch; chips: memory only "
          f"(no parallelism overheads)." + "".join(f" Assumed: {a}." for s in names for a in llm.scheme_assumptions(s)))


@llm_group.command("serve")
@click.argument("model")
@click.option("--hardware", "--hw", "hardware", required=True, metavar="CHIP[,CHIP...]")
@click.option("--batch", "-b", "batches", default="1,8,32", show_default=True, type=BatchList(),
              help="Concurrent sequences: the batch sweep.")
@click.option("--prompt", "prompt_len", default=512, show_default=True, type=click.IntRange(min=1))
@click.option("--output", "output_len", default=256, show_default=True, type=click.IntRange(min=1),
              help="Generated tokens per sequence.")
@click.option("--precision", "scheme", default="bf16", show_default=True, type=SCHEME_CHOICE, help=SCHEME_HELP)
@click.option("--cache", type=click.Choice(["static", "dynamic"]), default="static", show_default=True)
@click.option("--tp", default=1, show_default=True, type=click.IntRange(min=1),
              help="Tensor parallel over this many chips (Megatron: 2 all-reduces per layer).")
@click.option("--pp", default=1, show_default=True, type=click.IntRange(min=1),
              help="Pipeline parallel stages (layers split evenly, one send per boundary).")
@click.option("--micro-batches", default=1, show_default=True, type=click.IntRange(min=1),
              help="Micro-batches per batch through the pipeline (--pp > 1); must divide every batch.")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE")
@click.option("--engine", default="none", show_default=True, type=click.Choice(engine_ids(), case_sensitive=False),
              help="Serving engine whose host work per step (scheduling, sampling, detokenising) is added to "
                   "every step: none = kernels only; vllm-v0 = vLLM's V0 engine (before 0.8), its cost per "
                   "sequence sourced in engine/serving_engines.yaml.")
@runtime_options
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True)
def serve_cmd(model, hardware, batches, prompt_len, output_len, scheme, cache, tp, pp, micro_batches, params, engine,
              runtime, conv_tf32, matmul_precision, as_json, as_csv):
    """TTFT, TPOT, tokens/s per chip and per sequence over a batch sweep, and the saturating batch."""
    from perfgraph import llm

    with output.status(f"tracing and mapping {model}"):
        rows = llm.serve(model, _chips(hardware), batches=batches, prompt_len=prompt_len, output_len=output_len,
                         scheme=scheme.lower(), runtime=runtime, params=_params(params), cache=cache, tp=tp, pp=pp,
                         micro_batches=micro_batches, engine=engine)
    if as_json or as_csv:
        if as_csv:
            output.write_csv([{k: v for k, v in r.items() if k not in ("expected_error", "assumptions")}
                              for r in rows])
        else:
            click.echo(json.dumps(rows, indent=2, default=str))
        return
    table = [{"chip": r["hardware"], "batch": r["batch"], "TTFT": f"{r['ttft_s'] * 1e3:.1f} ms",
              "TPOT": f"{r['tpot_s'] * 1e3:.2f} ms", "tok/s": f"{r['tokens_per_s']:.0f}",
              "tok/s/seq": f"{r['tokens_per_s_per_seq']:.1f}", "memory": output.human(r["memory_bytes"], "B"),
              "fits": r["fits"], "bound": r["decode_bound"], "runtime": r.get("runtime", ""),
              "tier": r.get("tier", ""), "saturates at": r["saturating_batch"]} for r in rows]
    if tp > 1 or pp > 1:
        for t, r in zip(table, rows):
            t["memory"] += " /chip"
            t["tok/s/chip"] = f"{r['tokens_per_s_per_chip']:.0f}"
            t["comm/token"] = f"{r['decode_collective_s'] * 1e3:.3f} ms"
            if pp > 1:
                t["bubble"] = f"{r['decode_bubble']:.0%}"
    if engine.lower() != "none":
        for t, r in zip(table, rows):
            t["host/step"] = f"{r['host_s_per_step'] * 1e3:.2f} ms"
    ctx = rows[0]["decode_context"] if rows else 0
    chips = (f"tp {tp} x pp {pp} = {tp * pp} chips per replica (collectives over each chip's interconnect"
             + (f"; {micro_batches} micro-batches through the pipeline" if pp > 1 else "")
             + "; weights and KV cache per chip divided by tp x pp)") if tp > 1 or pp > 1 else "one chip, no parallelism"
    _emit(table, False, f"{model}: serving, prompt {prompt_len}, output {output_len}, {scheme}",
          f"TTFT: prefill of `batch` prompts at once; TPOT: one decode step at context {ctx} (prompt + output/2); "
          f"tok/s = batch / TPOT; cache {cache}; 'saturates at': smallest fitting batch within 80 % of the best "
          f"tok/s of this sweep; {chips}." + "".join(f" Assumed: {a}." for a in llm.scheme_assumptions(scheme))
          + _engine_note(engine) + _serving_error_note(rows))


def _engine_note(engine: str) -> str:
    """One sentence on the serving engine's host work counted per step (or that none is)."""
    profile = engine_profile(engine)
    if profile.id == "none":
        return (" Serving engine: none -- no host work per step counted (kernels only; --engine adds an engine's "
                "scheduling, sampling and detokenising).")
    return (f" Serving engine {profile.id} ({profile.versions}): host work {profile.host_s_per_sequence * 1e3:g} ms "
            f"per sequence + {profile.host_s_per_step * 1e3:g} ms per step, added to every step ({profile.note}).")


def _serving_error_note(rows: list[dict]) -> str:
    """One sentence with the error measured on published serving results for the batches shown (graph runtime on
    GPUs), or nothing where no row has one."""
    seen: dict[str, dict] = {}
    for r in rows:
        err = r.get("expected_error") or {}
        if err.get("tier") == "llm serving" and err.get("median_abs_error") is not None:
            seen.setdefault(err["kind"], err)
    parts = [f"{kind}: median |error| {e['median_abs_error']:.0%}, "
             f"{e['within_share']:.0%} within ±{e['within_band']:.0%} over {e['rows']} rows"
             for kind, e in seen.items()]
    return (" Measured on published serving results no rule was fitted to (docs/llm_validation.md): "
            + "; ".join(parts) + ".") if parts else ""


@llm_group.command("train")
@click.argument("model")
@click.option("--hardware", "--hw", "hardware", required=True, metavar="CHIP")
@click.option("--batch", "-b", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--seq-len", default=2048, show_default=True, type=click.IntRange(min=1))
@click.option("--precision", "scheme", default="bf16", show_default=True,
              type=click.Choice(choices(Dtype), case_sensitive=False))
@click.option("--measured-step-time", type=float, default=None, metavar="SECONDS",
              help="A measured step time: report the MFU it implies.")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE")
@runtime_options
@click.option("--json", "as_json", is_flag=True)
def train_cmd(model, hardware, batch, seq_len, scheme, measured_step_time, params, runtime, conv_tf32,
              matmul_precision, as_json):
    """One training step (forward + backward + AdamW): FLOPs vs 6ND, memory, step time, MFU."""
    from perfgraph import llm

    if measured_step_time is not None and measured_step_time <= 0:
        raise click.UsageError(f"--measured-step-time must be positive, got {measured_step_time}")
    with output.status(f"tracing a training step of {model}"):
        ts = llm.train_step(model, hardware, batch=batch, seq_len=seq_len, scheme=scheme.lower(), runtime=runtime,
                            params=_params(params), measured_step_time_s=measured_step_time)
    if as_json:
        click.echo(json.dumps(ts.as_dict(), indent=2, default=str))
        return
    m, c = ts.memory, ts.memory_checkpointed
    rows = [
        {"what": "parameters", "value": f"{ts.params:,}"},
        {"what": "tokens per step", "value": f"{ts.tokens:,} ({ts.batch} x {ts.seq_len})"},
        {"what": "step FLOPs (traced)", "value": f"{output.human(ts.step_flops)} = "
                                                  f"{ts.flops_ratio_to_6nd:.3f} x 6 x params x tokens"},
        {"what": "forward FLOPs", "value": f"{output.human(ts.forward_flops)} (step / forward = "
                                           f"{ts.step_flops / max(ts.forward_flops, 1):.2f})"},
        {"what": "predicted step time", "value": f"{ts.step_time_s * 1e3:.1f} ms on {ts.hardware} "
                                                 f"({ts.labels.get('runtime', '')}, tier {ts.labels.get('tier', '')})"},
        {"what": "predicted MFU", "value": f"{ts.predicted_mfu:.1%}"},
        {"what": "memory", "value": f"{output.human(m['total_bytes'], 'B')} (parameters "
                                    f"{output.human(m['parameters_bytes'], 'B')}, optimizer "
                                    f"{output.human(m['optimizer_bytes'], 'B')}, activations + gradients "
                                    f"{output.human(m['activations_and_gradients_bytes'], 'B')}); fits: {ts.fits}"},
        {"what": "with checkpointing", "value": f"{output.human(c['total_bytes'], 'B')} (activations + gradients "
                                                f"{output.human(c['activations_and_gradients_bytes'], 'B')})"},
    ]
    if ts.mfu is not None:
        rows.append({"what": "MFU at the measured step time", "value": f"{ts.mfu:.1%}"})
    _emit(rows, False, f"{model}: one training step, {scheme}",
          "MFU = 6 x params x tokens / (step time x dense peak); memory: 2 B bf16 parameters + 12 B fp32 "
          "optimizer states per parameter (ZeRO) + the traced peak of activations and gradients; one chip.")


@llm_group.command("ingest")
@click.argument("model")
@phase_options
@click.option("--hardware", "--hw", "hardware", default=None, metavar="CHIP[,CHIP...]",
              help="Also map the phase onto these chips and store the overlay (what `perfgraph map` does).")
@click.option("--precision", default="bf16", show_default=True,
              type=click.Choice(choices(Precision), case_sensitive=False))
@click.option("--replace", is_flag=True, help="Re-ingest the phase (drops its overlays and its link first).")
@neo4j_options
@runtime_options
@click.option("--json", "as_json", is_flag=True)
def ingest_cmd(model, phase, batch, prompt_len, context, cache, params, hardware, precision, replace, uri, user,
               password, database, home, runtime, conv_tf32, matmul_precision, as_json):
    """Store one phase of MODEL in Neo4j as a model of its own, linked to its source model.

    (:Model {id: phase id})-[:PHASE_OF {phase, batch, context}]->(:Model {id: source}); the source (the
    model and its -p overrides, e.g. hf:gpt2) is created as a stub when not stored. With --hardware the
    phase is also mapped and its overlay written, so `perfgraph query phase_compare` compares prefill and
    decode across chips.
    """
    from perfgraph import llm
    from perfgraph.engine.overlay import write_overlay
    from perfgraph.hardware.spec import get
    from perfgraph.phase_link import phase_link

    chips = [get(c) for c in _chips(hardware)] if hardware else []
    with output.status(f"tracing the {phase} of {model}"):
        mg = llm.phase_graph(model, phase, batch=batch, prompt_len=prompt_len, context=context,
                             params=_params(params), cache=cache)
    link = phase_link(mg.info)
    store = open_store(uri, user, password, database, home)
    rows = []
    try:
        state = store.ingest(mg, replace=replace)
        store.link_phase(mg.info.id, link["source"], link["source_name"],
                         {k: link[k] for k in ("phase", "batch", "context")})
        rows.append({"model": mg.info.id, "source": link["source"], "phase": phase, "result": state,
                     "hardware": "", "latency_s": None})
        for hw in chips:
            mm = llm.map_phase(mg, hw, precision.lower(), runtime)
            res = write_overlay(store, mm, hw)
            rows.append({"model": mg.info.id, "source": link["source"], "phase": phase,
                         "result": f"overlay {res['result']}", "hardware": hw.id, "latency_s": mm.latency_sequential_s,
                         "runtime": mm.runtime, "tier": mm.tier})
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    table = [{"model": r["model"], "source": r["source"], "phase": r["phase"], "result": r["result"],
              "chip": r["hardware"], "latency": f"{r['latency_s'] * 1e3:.3f} ms" if r["latency_s"] else "",
              "runtime": r.get("runtime", ""), "tier": r.get("tier", "")} for r in rows]
    _emit(table, False, f"{model}: {phase} in {store.uri}",
          f"linked: ({mg.info.id})-[:PHASE_OF]->({link['source']}); compare phases with "
          f"`perfgraph query phase_compare -p source={link['source']} --uri ...`")
