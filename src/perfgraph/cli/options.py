"""Click options shared by the commands (one definition, one help text), in the manner of pip-tools'
`scripts/options.py`: `model_options` (what decides a model's graph, handed to the command as one
`ModelOptions`), the trace limits and `--no-cache` that come with it, and `runtime_options`."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import click

from perfgraph.engine.runtime import MATMUL_PRECISIONS, RUNTIMES, PrecisionRules, parse_runtime
from perfgraph.pipeline import ModelSpec
from perfgraph.vocab import Dtype, Tracer, choices


@dataclass(frozen=True)
class ModelOptions:
    """The model options of one command line (all but the model itself): `spec(model)` makes the
    validated `pipeline.ModelSpec`, `specs(model)` one per `--batch` of a list."""

    batches: tuple[int, ...] | None
    dtype: str
    input_shape: str | None
    params: tuple[str, ...]
    weights: str | None
    tracer: str

    @property
    def batch(self) -> int | None:
        """The one batch of a command that takes a single `--batch` (None: the default)."""
        if self.batches and len(self.batches) > 1:
            raise click.UsageError("a list of batches needs --hardware (one model summary per run)")
        return self.batches[0] if self.batches else None

    def spec(self, model: str, batch: int | None = None) -> ModelSpec:
        return ModelSpec(model, batch=batch if batch is not None else self.batch, dtype=self.dtype,
                         input_shape=self.input_shape, params=self.params, weights=self.weights, tracer=self.tracer)

    def specs(self, model: str) -> list[ModelSpec]:
        return [self.spec(model, b) for b in (self.batches or (None,))]


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


MODEL_OPTION_NAMES = ("batch", "dtype", "input_shape", "params", "weights", "tracer")


def model_options(f=None, *, batch_list: bool = False):
    """Options shared by every command that builds a model; the command receives them as one
    `model_opts: ModelOptions`. `@model_options(batch_list=True)` lets --batch take a comma-separated list."""
    if f is None:
        return lambda g: model_options(g, batch_list=batch_list)

    @functools.wraps(f)
    def command(*args, **kwargs):
        values = {name: kwargs.pop(name) for name in MODEL_OPTION_NAMES}
        batch = values.pop("batch")
        batches = batch if isinstance(batch, tuple) else (None if batch is None else (batch,))
        return f(*args, model_opts=ModelOptions(batches=batches or None, **values), **kwargs)

    if batch_list:
        command = click.option("--batch", "-b", default=None, type=BatchList(),
                               help="Batch size, or with --hardware a comma-separated list (1,8,64) "
                                    "[default: the input shape's first dimension, else 1].")(command)
    else:
        command = click.option("--batch", "-b", default=None, type=click.IntRange(min=1),
                               help="Batch size [default: the input shape's first dimension, else 1].")(command)
    command = click.option("--dtype", default=Dtype.FP32.value, show_default=True,
                           type=click.Choice(choices(Dtype), case_sensitive=False), help="Tensor dtype.")(command)
    command = click.option("--input-shape", default=None, metavar="N,C,H,W",
                           help="Input shape (batch first); required for user models, overrides the default "
                                "size.")(command)
    command = click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
                           help="Model parameter, repeatable (e.g. seq_len=512 for hf:, width=4096 for "
                                "synthetic:).")(command)
    command = click.option("--weights", default=None,
                           help="torchvision weights whose eval size and published figures to use (default: "
                                "DEFAULT).")(command)
    command = click.option("--tracer", type=click.Choice(choices(Tracer)), default=Tracer.AUTO.value,
                           show_default=True,
                           help="meta: fake tensors, no compute; real: CPU tensors; auto: meta, then real.")(command)
    return no_cache_option(limit_options(command))

RUNTIME_HELP = (
    "How the model runs: eager (PyTorch eager: one kernel per op, host dispatch and device as two queues; "
    "the default), compiled (torch.compile-style fused kernels, one launch each) or graph (fused kernels "
    "replayed as a CUDA graph / TensorRT engine). TPUs and KPUs always run compiled.")


def runtime_options(f):
    """--runtime, --conv-tf32/--no-conv-tf32 and --matmul-precision; the command receives `runtime` (str)
    and `rules` (`engine.runtime.PrecisionRules`)."""
    f = click.option("--matmul-precision", "matmul_precision", default="highest", show_default=True,
                     type=click.Choice(MATMUL_PRECISIONS),
                     help="torch.set_float32_matmul_precision on GPUs: highest = fp32, high = TF32, medium = bf16.")(f)
    f = click.option("--conv-tf32/--no-conv-tf32", "conv_tf32", default=True, show_default=True,
                     help="fp32 convolutions run as TF32 on GPUs that have it (torch.backends.cudnn.allow_tf32).")(f)
    f = click.option("--runtime", default="eager", show_default=True, type=click.Choice(RUNTIMES),
                     help=RUNTIME_HELP)(f)
    return f


def rules_from(conv_tf32: bool, matmul_precision: str) -> PrecisionRules:
    return PrecisionRules(conv_tf32=conv_tf32, matmul_precision=matmul_precision)


__all__ = ["ModelOptions", "model_options", "limit_options", "no_cache_option", "BatchList", "runtime_options",
           "rules_from", "parse_runtime", "RUNTIME_HELP"]
