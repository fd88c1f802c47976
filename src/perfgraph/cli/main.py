"""The `perfgraph` command. Every error is one line and a non-zero exit; `--debug` shows the traceback."""

from __future__ import annotations

import json
import os
import sys
import warnings

import click

from perfgraph.cli import output
from perfgraph.cli.options import rules_from, runtime_options

# Exceptions whose message is already one clear line for the user.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError, OSError, LookupError, ImportError)


def _shows_help(exc: click.UsageError) -> bool:
    """A group run without a command raises a UsageError whose message is its help text: let click show it."""
    return type(exc).__name__ == "NoArgsIsHelpError"


def _usage_error(exc: click.UsageError, fallback_path: str) -> None:
    where = exc.ctx.command_path if exc.ctx else fallback_path
    click.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
    sys.exit(exc.exit_code)


class PerfgraphGroup(click.Group):
    """Turns any exception into `error: <one line>` and exit code 1, unless `--debug` was given."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # bad option or argument: one line too (exit code 2, as click's)
            if (ctx.obj and ctx.obj.get("debug")) or _shows_help(exc):
                raise
            _usage_error(exc, ctx.command_path)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the one place where errors become messages
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {output.one_line(exc)}", err=True)
            sys.exit(1)

    def make_context(self, info_name, args, parent=None, **extra):
        """Errors in the group's own options (`perfgraph --nope`) are one line as well."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            if "--debug" in args or os.environ.get("PERFGRAPH_DEBUG") or _shows_help(exc):
                raise
            _usage_error(exc, info_name or "perfgraph")


@click.group(cls=PerfgraphGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="perfgraph")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """perfgraph: how will this network run on that chip, and why?

    Trace a PyTorch model into its op graph, fuse it into kernels, cost every op and kernel, and store
    the result as a graph (in-process by default, or in Neo4j).

    \b
    Examples:
      perfgraph analyze resnet18
      perfgraph analyze vit_b_16 --batch 8 --json
      perfgraph analyze hf:llama-7b --param seq_len=512 --dtype bf16
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug or bool(os.environ.get("PERFGRAPH_DEBUG"))
    from perfgraph.ingest import limits

    limits.reset()  # one command, one set of trace limits (tests run many commands in one process)
    from perfgraph import graph_cache

    graph_cache.reset()  # and the graph cache on unless this command says --no-cache
    if not ctx.obj["debug"]:
        warnings.filterwarnings("ignore")


class BatchList(click.ParamType):
    """`--batch 1,8,64`: one or more batch sizes (each >= 1), as a tuple of ints."""

    name = "N[,N...]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            out = tuple(int(x) for x in str(value).split(",") if x.strip())
        except ValueError:
            self.fail(f"{value!r} is not a batch size or a comma-separated list of them (e.g. 1,8,64)", param, ctx)
        if not out or min(out) < 1:
            self.fail(f"batch sizes must be integers >= 1, got {value!r}", param, ctx)
        return tuple(dict.fromkeys(out))


def _set_limit(ctx, param, value):
    """--max-memory / --max-ops / --trace-timeout: stored as the trace limits of this command."""
    if value is None:
        return
    from perfgraph.ingest import limits

    if param.name == "max_memory":
        try:
            limits.configure(max_memory_bytes=limits.parse_size(value))
        except limits.LimitError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None
    elif param.name == "max_ops":
        limits.configure(max_ops=value)
    else:
        limits.configure(timeout_s=value)


def limit_options(f):
    """Bounds on tracing a model (see ingest/limits.py), for every command that traces one."""
    f = click.option("--trace-timeout", type=click.FloatRange(min=0, min_open=True), expose_value=False,
                     callback=_set_limit, metavar="SECONDS",
                     help="Stop a forward pass running longer than this [default: 600].")(f)
    f = click.option("--max-ops", type=click.IntRange(min=1), expose_value=False, callback=_set_limit,
                     help="Stop a forward pass executing more ATen ops than this [default: 200000].")(f)
    f = click.option("--max-memory", expose_value=False, callback=_set_limit, metavar="SIZE",
                     help="Memory the real-tensor tracer may use, e.g. 8GB [default: half this machine's, or 80% "
                          "of what is free if less].")(f)
    return f


def _disable_cache(ctx, param, value):
    if value:
        from perfgraph import graph_cache

        graph_cache.disable()


def no_cache_option(f):
    """--no-cache: trace the model even if the graph cache holds it (and do not store it)."""
    return click.option("--no-cache", is_flag=True, expose_value=False, callback=_disable_cache,
                        help="Trace the model again instead of reusing the graph analysed before (kept in "
                             "$PERFGRAPH_HOME/graphs; see `perfgraph cache info`).")(f)


def model_options(f=None, *, batch_list: bool = False):
    """Options shared by every command that builds a model. `@model_options(batch_list=True)` lets
    --batch take a comma-separated list (a tuple of ints, or None)."""
    if f is None:
        return lambda g: model_options(g, batch_list=batch_list)
    if batch_list:
        f = click.option("--batch", "-b", default=None, type=BatchList(),
                         help="Batch size, or with --hardware a comma-separated list (1,8,64) "
                              "[default: the input shape's first dimension, else 1].")(f)
    else:
        f = click.option("--batch", "-b", default=None, type=click.IntRange(min=1),
                         help="Batch size [default: the input shape's first dimension, else 1].")(f)
    f = click.option("--dtype", default="fp32", show_default=True,
                     type=click.Choice(["fp32", "fp16", "bf16"], case_sensitive=False), help="Tensor dtype.")(f)
    f = click.option("--input-shape", default=None, metavar="N,C,H,W",
                     help="Input shape (batch first); required for user models, overrides the default size.")(f)
    f = click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
                     help="Model parameter, repeatable (e.g. seq_len=512 for hf:, width=4096 for synthetic:).")(f)
    f = click.option("--weights", default=None,
                     help="torchvision weights whose eval size and published figures to use (default: DEFAULT).")(f)
    f = click.option("--tracer", type=click.Choice(["auto", "meta", "real"]), default="auto", show_default=True,
                     help="meta: fake tensors, no compute; real: CPU tensors; auto: meta, then real.")(f)
    return no_cache_option(limit_options(f))


def build_graph(model: str, batch: int, dtype: str, input_shape: str | None, params: tuple[str, ...],
                weights: str | None, tracer: str):
    from perfgraph.analysis import analyze_graph
    from perfgraph.ingest.sources import parse_params, parse_shape

    return analyze_graph(
        model, batch=batch, dtype=dtype.lower(),
        input_shape=None if input_shape is None else parse_shape(input_shape),
        params=parse_params(params), weights=weights, tracers=None if tracer == "auto" else (tracer,))


@cli.command()
@click.argument("model")
@model_options(batch_list=True)
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=0), help="Heaviest subgraphs to list.")
@click.option("--hardware", "--hw", "hardware", default=None, metavar="CHIP[,CHIP...]",
              help="Map onto these chips (ids, aliases or names: h100,tpu-v4,kpu-t256; see `perfgraph hardware "
                   "list`) and print a comparison per chip x batch.")
@click.option("--precision", default=None, metavar="P[,P...]",
              help="With --hardware: fp32 | tf32 | fp16 | bf16 | int8, or a list [default: --dtype].")
@click.option("--saturation", is_flag=True,
              help="With --hardware: sweep the batch (the --batch list, default 1,2,4,...,256) and report the "
                   "smallest batch that saturates each chip.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (or the comparison rows) as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="With --hardware: print the comparison rows as CSV.")
@click.option("--kernels", is_flag=True,
              help="With --hardware: also a per-kernel table per chip x batch (pattern, units allocated of total, "
                   "bound, parallelism batch·channels·spatial, latency, utilisation); with --json, in each row.")
@click.option("--phase", type=click.Choice(["prefill", "decode"]), default=None,
              help="hf: decoders: trace the prefill (prompt = -p seq_len) or one decode step at --context with a "
                   "KV cache (see `perfgraph llm`).")
@click.option("--context", default=512, show_default=True, type=click.IntRange(min=1),
              help="With --phase decode: tokens already in the KV cache.")
@runtime_options
def analyze(model, batch, dtype, input_shape, params, weights, tracer, top, hardware, precision, saturation,
            as_json, as_csv, kernels, phase, context, runtime, conv_tf32, matmul_precision):
    """Trace MODEL, fuse it into kernels and print its cost summary (no server needed).

    MODEL is a torchvision name (resnet18), hf:NAME (hf:gpt2, hf:bert-base, hf:llama-7b), synthetic:NAME
    (synthetic:mlp), or a factory: path/to/file.py:make_model or package.module:make_model.

    With --hardware, the model is traced at each --batch and mapped onto each chip: latency (sequential,
    concurrency-aware, critical-path bound), throughput, energy per inference, utilisation, peak memory and
    the share of memory-bound kernels, per chip x batch.

    \b
    Examples:
      perfgraph analyze resnet18
      perfgraph analyze efficientnet_b0 --batch 32 --dtype fp16 --json
      perfgraph analyze synthetic:mlp -p width=4096 -p depth=8
      perfgraph analyze my_models.py:make_net --input-shape 1,3,128,128
      perfgraph analyze resnet50 --hardware h100,tpu-v4,kpu-t256 --batch 1,8,64 --precision bf16
      perfgraph analyze resnet18 --hardware h100 --saturation
      perfgraph analyze resnet50 --hardware edge-tpu --precision int8 --kernels
      perfgraph analyze resnet18 --hardware jetson-orin-agx-64gb --runtime eager
      perfgraph analyze hf:llama-7b --phase decode --context 2048 --batch 8
    """
    from perfgraph.analysis import summarize

    if phase:
        from perfgraph.cli.llm_cmds import analyze_phase

        analyze_phase(model, phase, batch, params, context, hardware, top, as_json)
        return
    if hardware:
        from perfgraph.cli.hardware_cmds import compare

        compare(model, batch, dtype, input_shape, params, weights, tracer, hardware, precision, saturation,
                as_json, as_csv, runtime=runtime, rules=rules_from(conv_tf32, matmul_precision), kernels=kernels)
        return
    ctx = click.get_current_context()
    runtime_given = any(ctx.get_parameter_source(p) is click.core.ParameterSource.COMMANDLINE
                        for p in ("runtime", "conv_tf32", "matmul_precision"))
    for flag, given in (("--precision", precision), ("--saturation", saturation), ("--csv", as_csv),
                        ("--kernels", kernels), ("--runtime and the precision rules", runtime_given)):
        if given:
            raise click.UsageError(f"{flag} needs --hardware")
    if batch and len(batch) > 1:
        raise click.UsageError("a list of batches needs --hardware (one model summary per run)")
    batch = batch[0] if batch else None
    with output.status(f"tracing {model}"):
        mg = build_graph(model, batch, dtype, input_shape, params, weights, tracer)
    summary = summarize(mg, top=top)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        output.print_summary(summary)


@cli.command("models")
@click.option("--family", type=click.Choice(["classification", "segmentation", "detection", "video",
                                             "optical_flow", "quantization", "hf", "synthetic"]),
              help="Only this family.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def models_cmd(family, as_json):
    """List the models perfgraph can build by name.

    \b
    Example:
      perfgraph models --family segmentation
    """
    from perfgraph.ingest import torchvision_models

    rows = [{"model": n, "family": f, "parameters": ""} for n, f in sorted(torchvision_models.family_of().items())
            if family in (None, f)]
    if family in (None, "hf"):
        from perfgraph.ingest import hf_models

        hf_params = f"seq_len={hf_models.DEFAULT_SEQ_LEN}, any config field"
        rows += [{"model": f"hf:{n}", "family": "hf", "parameters": hf_params} for n in hf_models.list_names()]
    if family in (None, "synthetic"):
        from perfgraph.ingest import synthetic

        # Each workload with its parameters at their defaults: what `-p name=value` can change.
        rows += [{"model": f"synthetic:{n}", "family": "synthetic",
                  "parameters": ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in d.items())}
                 for n, (_doc, d) in synthetic.list_workloads().items()]
    if family not in (None, "hf", "synthetic"):
        rows = [{k: v for k, v in r.items() if k != "parameters"} for r in rows]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        output.print_rows(rows, title=f"{len(rows)} models")


def _register_commands() -> None:
    """Commands that live in their own modules register themselves on import."""
    from perfgraph.cli import graph_cmds  # noqa: F401
    from perfgraph.cli import hardware_cmds  # noqa: F401
    from perfgraph.cli import check_cmds, sweep_cmds  # noqa: F401
    from perfgraph.cli import measure_cmds  # noqa: F401
    from perfgraph.cli import report_cmds  # noqa: F401
    from perfgraph.cli import llm_cmds  # noqa: F401
    from perfgraph.cli import cache_cmds  # noqa: F401
    from perfgraph.cli.neo4j_cmd import neo4j

    cli.add_command(neo4j)


_register_commands()


def main() -> None:
    cli(prog_name="perfgraph")


if __name__ == "__main__":
    main()
