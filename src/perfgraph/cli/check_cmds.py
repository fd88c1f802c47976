"""`perfgraph check`: universal invariants and family profiles, pass/fail per check."""

from __future__ import annotations

import json
import sys

import click

from perfgraph.cli import output
from perfgraph import pipeline
from perfgraph.cli.group import cli
from perfgraph.cli.options import model_options

_FAMILIES = ("auto", "resnet", "mobilenet", "efficientnet", "vgg", "vit", "convnext", "none")


@cli.command()
@click.argument("model")
@model_options
@click.option("--family", default="auto", show_default=True, type=click.Choice(_FAMILIES, case_sensitive=False),
              help="Family profile to check against: auto (from the model name), a family, or none.")
@click.option("--sources", is_flag=True, help="Show the source of each family range in the table.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(model, model_opts, family, sources, as_json):
    """Validate MODEL's costed graph: universal checks, then its family's published ranges.

    Universal checks hold for every model: every op costed or named as uncosted; MACs and FLOPs conserved
    between ops and subgraphs; each subgraph's external bytes <= its ops' bytes; an acyclic subgraph graph;
    stages consistent with the edges; intensity = FLOPs / external bytes; no negative or NaN figure; every op
    in exactly one subgraph. Family profiles (ResNet, MobileNet, EfficientNet, VGG, ViT, ConvNeXt) add MACs,
    parameters and depth per member from published figures, and ranges for the conv share of MACs,
    depthwise convs, activation functions, the conv/matmul share of FLOPs and the model's intensity.
    Exit status 1 when any check fails.

    \b
    Examples:
      perfgraph check resnet50
      perfgraph check efficientnet_b0 --json
      perfgraph check my_nets.py:make_net --input-shape 1,3,224,224 --family resnet
      perfgraph check synthetic:mlp --family none
    """
    from perfgraph.checks import run_checks

    spec = model_opts.spec(model)
    with output.status(f"tracing {model}"):
        mg = pipeline.analyze(spec)
    report = run_checks(mg, family)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        rows, notes = [], {}
        for r in report.results:
            row = {"group": r.group, "check": r.name, "result": r.status.upper(), "measured": r.measured,
                   "expected": f"{r.expected}  ({r.detail})" if r.detail else r.expected}
            if sources:
                row["ref"] = f"[{notes.setdefault(r.source, len(notes) + 1)}]" if r.source else ""
            rows.append(row)
        counts = report.as_dict()["counts"]
        output.console.print(f"{report.model}: {report.family_note}", markup=False, soft_wrap=True)
        for group in dict.fromkeys(r["group"] for r in rows):
            output.print_rows([{k: v for k, v in r.items() if k != "group"} for r in rows if r["group"] == group],
                              title="universal checks" if group == "universal" else f"{group} profile")
        for text, n in notes.items():
            output.console.print(f"[{n}] {text}", markup=False)
        verdict = "all checks pass" if report.passed else f"{counts['fail']} failed"
        output.console.print(f"{verdict}: {counts['pass']} pass, {counts['fail']} fail, {counts['skip']} skipped"
                             + ("" if sources or not report.family else "  (--sources shows where each range "
                                                                         "comes from)"))
    if not report.passed:
        first = report.failures[0]
        click.echo(f"error: {len(report.failures)} check(s) failed, first: {first.group}/{first.name}: "
                   f"{first.detail or first.measured}", err=True)
        sys.exit(1)
