"""`perfgraph analyze` (one model's cost summary, or with --hardware its mapping onto chips) and
`perfgraph models`."""

from __future__ import annotations

import json

import click

from perfgraph import pipeline
from perfgraph.cli import output
from perfgraph.cli.group import cli
from perfgraph.cli.options import model_options, rules_from, runtime_options
from perfgraph.vocab import Phase, Precision, choices


@cli.command()
@click.argument("model")
@model_options(batch_list=True)
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=0), help="Heaviest subgraphs to list.")
@click.option("--hardware", "--hw", "hardware", default=None, metavar="CHIP[,CHIP...]",
              help="Map onto these chips (ids, aliases or names: h100,tpu-v4,kpu-t256; see `perfgraph hardware "
                   "list`) and print a comparison per chip x batch.")
@click.option("--precision", default=None, metavar="P[,P...]",
              help=f"With --hardware: {' | '.join(choices(Precision))}, or a list [default: --dtype].")
@click.option("--saturation", is_flag=True,
              help="With --hardware: sweep the batch (the --batch list, default 1,2,4,...,256) and report the "
                   "smallest batch that saturates each chip.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (or the comparison rows) as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="With --hardware: print the comparison rows as CSV.")
@click.option("--kernels", is_flag=True,
              help="With --hardware: also a per-kernel table per chip x batch (pattern, units allocated of total, "
                   "bound, parallelism batch·channels·spatial, latency, utilisation); with --json, in each row.")
@click.option("--phase", type=click.Choice(choices(Phase)), default=None,
              help="hf: decoders: trace the prefill (prompt = -p seq_len) or one decode step at --context with a "
                   "KV cache (see `perfgraph llm`).")
@click.option("--context", default=512, show_default=True, type=click.IntRange(min=1),
              help="With --phase decode: tokens already in the KV cache.")
@runtime_options
def analyze(model, model_opts, top, hardware, precision, saturation, as_json, as_csv, kernels, phase, context, runtime,
            conv_tf32, matmul_precision):
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
    if phase:
        from perfgraph.cli.llm_cmds import analyze_phase

        analyze_phase(model, phase, model_opts.batches, model_opts.params, context, hardware, top, as_json)
        return
    if hardware:
        from perfgraph.cli.compare import compare

        compare(model, model_opts, hardware, precision, saturation, as_json, as_csv, runtime=runtime,
                rules=rules_from(conv_tf32, matmul_precision), kernels=kernels)
        return
    ctx = click.get_current_context()
    runtime_given = any(ctx.get_parameter_source(p) is click.core.ParameterSource.COMMANDLINE
                        for p in ("runtime", "conv_tf32", "matmul_precision"))
    for flag, given in (("--precision", precision), ("--saturation", saturation), ("--csv", as_csv),
                        ("--kernels", kernels), ("--runtime and the precision rules", runtime_given)):
        if given:
            raise click.UsageError(f"{flag} needs --hardware")
    spec = model_opts.spec(model)
    with output.status(f"tracing {model}"):
        mg = pipeline.analyze(spec)
    summary = pipeline.summarize(mg, top=top)
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
