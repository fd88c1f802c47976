"""`perfgraph map`: map models onto chips and write the results into Neo4j as an overlay."""

from __future__ import annotations

import json

import click

from perfgraph import pipeline
from perfgraph.cli import output
from perfgraph.cli.compare import chip_option, precision_option
from perfgraph.cli.graph_cmds import neo4j_options, open_store
from perfgraph.cli.group import cli
from perfgraph.cli.options import model_options, rules_from, runtime_options
from perfgraph.cli.tables import fmt_energy, fmt_time, print_table, si
from perfgraph.vocab import Precision, choices


@cli.command("map")
@click.argument("models", nargs=-1, required=True)
@model_options(batch_list=True)
@click.option("--hardware", "--hw", "hardware", required=True, metavar="CHIP[,CHIP...]",
              help="Chips to map onto (ids, aliases or names; see `perfgraph hardware list`).")
@click.option("--precision", default=None, metavar="P[,P...]",
              help=f"{' | '.join(choices(Precision))}, or a list [default: --dtype].")
@click.option("--replace", is_flag=True,
              help="Re-ingest the models first (this drops every overlay already stored on them).")
@neo4j_options
@click.option("--json", "as_json", is_flag=True, help="Print the per-overlay results as JSON.")
@runtime_options
def map_cmd(models, model_opts, hardware, precision, replace, uri, user, password, database, home, as_json, runtime,
            conv_tf32, matmul_precision):
    """Map MODELS onto chips and write the results into Neo4j as an overlay.

    For every model and --batch, the model traced at that batch is ingested if it is not stored yet (its id
    carries the batch: resnet18:b8:3x224x224:fp32); then, per chip and precision, one transaction MERGEs the
    (:Hardware) node and writes (:Model)-[:MAPPED_TO]->(:Hardware) and one (:Subgraph)-[:MAPPED_TO]->
    (:Hardware) per kernel, with batch, precision, runtime, tier, latency_s, energy_j, utilization, units
    and bound (an eager mapping's per-op kernels are summed onto the stored kernel that holds each op).
    Re-running replaces the overlay with the same (model, chip, batch, precision, runtime).

    \b
    Examples:
      perfgraph map resnet50 vit_b_16 --hardware h100,tpu-v4,kpu-t256 --batch 1,8,64 --precision bf16
      perfgraph query best_chip --uri bolt://127.0.0.1:7687
      perfgraph query critical_path -m resnet50:b8:3x224x224:fp32 -p weight=latency -p hardware=h100 --uri …
    """
    from perfgraph.engine.overlay import write_overlay

    chips = chip_option(hardware)
    precisions = precision_option(precision, model_opts.dtype, chips)
    specs = [spec for name in models for spec in model_opts.specs(name)]  # all validated before any tracing
    rules = rules_from(conv_tf32, matmul_precision)
    store = open_store(uri, user, password, database, home)
    rows = []
    try:
        with output.progress(len(specs), "mapping") as advance:
            for spec in specs:
                advance(f"{spec.model} b{spec.batch or ''}")
                mg = pipeline.analyze(spec)
                state = store.ingest(mg, replace=replace)
                for hw in chips:
                    for p in precisions:
                        mm = pipeline.map_model(mg, hw, p, runtime=runtime, rules=rules)
                        res = write_overlay(store, mm, hw)
                        row = pipeline.MappingRow.of(mm, hw)
                        rows.append({"model": mg.info.id, "ingest": state, "hardware": hw.id, "batch": row.batch,
                                     "precision": row.precision, "runtime": row.runtime, "tier": row.tier,
                                     "overlay": res["result"], "subgraphs": res["subgraphs"],
                                     "latency_s": row.latency_s, "throughput_per_s": row.throughput_per_s,
                                     "energy_per_inference_j": row.energy_per_inference_j})
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        print_table([{"model": r["model"], "model in store": r["ingest"], "chip": r["hardware"],
                            "prec": r["precision"], "runtime": r["runtime"], "tier": r["tier"],
                            "overlay": r["overlay"], "kernels": r["subgraphs"],
                            "latency": fmt_time(r["latency_s"]), "inf/s": si(r["throughput_per_s"]),
                            "energy/inf": fmt_energy(r["energy_per_inference_j"])} for r in rows],
                          title=f"{len(rows)} overlays in {store.uri}")
