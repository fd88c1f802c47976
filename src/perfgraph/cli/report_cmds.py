"""`perfgraph report` (self-contained HTML) and `perfgraph export` (GraphML, JSON, Mermaid, dot)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from perfgraph.cli import output
from perfgraph import pipeline
from perfgraph.cli.group import cli
from perfgraph.cli.options import model_options, rules_from, runtime_options
from perfgraph.vocab import Precision, choices


def _default_name(model: str, suffix: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", model.rsplit("/", 1)[-1]).strip("_") or "model"
    return f"{stem}{suffix}"


@cli.command()
@click.argument("model")
@model_options
@click.option("--hardware", "--hw", "-H", "hardware", default=None, metavar="CHIP[,CHIP...]",
              help="Chips to map onto (ids, aliases or names; comma-separated or repeated). Without it the "
                   "report has no roofline.", multiple=True)
@click.option("--precision", default=None, type=click.Choice(choices(Precision), case_sensitive=False),
              help="Precision of the mapping [default: --dtype].")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file to write [default: MODEL-report.html in the current directory].")
@click.option("--png-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the plots as PNG files into this directory.")
@runtime_options
def report(model, model_opts, hardware, precision, out, png_dir, runtime, conv_tf32, matmul_precision):
    """Write a self-contained HTML report for MODEL: summary, per-chip latency and energy, a roofline per
    chip with every kernel on it, the kernel DAG by stage with its critical path, and the kernel table.

    \b
    Examples:
      perfgraph report resnet18 --hardware h100-sxm,tpu-v4
      perfgraph report vit_b_16 --batch 8 --dtype bf16 -H h100-sxm -H tpu-v5e --out vit.html
      perfgraph report hf:gpt2 -p seq_len=256 -H a100 --png-dir plots/
    """
    from perfgraph.api import analyze
    from perfgraph.report import write_report

    spec = model_opts.spec(model)
    chips = pipeline.chips(hardware)  # an unknown chip or a broken spec file fails before tracing
    out = out or Path(_default_name(model, "-report.html"))
    with output.status(f"tracing {model}"):
        rep = analyze(spec, hardware=chips or None, precision=precision.lower() if precision else None,
                      runtime=runtime, rules=rules_from(conv_tf32, matmul_precision))
    with output.status("plotting"):
        written = write_report(rep, str(out), str(png_dir) if png_dir else None)
    click.echo(f"wrote {written['html']} ({written['bytes'] / 1e3:.0f} kB)")
    for name, path in written["images"].items():
        click.echo(f"wrote {path}")


@cli.command("export")
@click.argument("model")
@model_options
@click.option("--format", "-f", "fmt", type=click.Choice(["graphml", "json", "mermaid", "dot"]), default="graphml",
              show_default=True, help="graphml / json (node-link): every property; mermaid / dot: a drawing.")
@click.option("--level", type=click.Choice(["subgraphs", "ops"]), default="subgraphs", show_default=True,
              help="The kernel graph or the ATen op graph.")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write [default: standard output].")
@click.option("--force", is_flag=True, help="Draw (mermaid/dot) even above 300 nodes.")
def export_cmd(model, model_opts, fmt, level, out, force):
    """Export MODEL's kernel graph (or op graph) as GraphML, JSON, Mermaid or Graphviz dot.

    GraphML and JSON carry every property of the graph schema (lists as JSON strings in GraphML);
    Mermaid and dot draw the graph with the critical path in red, for graphs of up to 300 nodes.

    \b
    Examples:
      perfgraph export resnet18 --format graphml --out resnet18.graphml
      perfgraph export resnet18 --format json --level ops --out resnet18-ops.json
      perfgraph export resnet18 --format mermaid > resnet18.mmd
      perfgraph export resnet18 --format dot | dot -Tsvg > resnet18.svg
    """
    from perfgraph.export import export

    spec = model_opts.spec(model)
    with output.status(f"tracing {model}"):
        mg = pipeline.analyze(spec)
    text = export(mg, fmt, level, force)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    nodes = len(mg.subgraphs) if level == "subgraphs" else len(mg.ops)
    edges = len(mg.subgraph_edges) if level == "subgraphs" else len(mg.op_edges)
    click.echo(f"wrote {out} ({fmt}, {level}: {nodes} nodes, {edges} edges)", err=True)
