"""Click options shared by every command that predicts latency (one definition, one help text)."""

from __future__ import annotations

import click

from perfgraph.engine.runtime import MATMUL_PRECISIONS, RUNTIMES, PrecisionRules, parse_runtime

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


__all__ = ["runtime_options", "rules_from", "parse_runtime", "RUNTIME_HELP"]
