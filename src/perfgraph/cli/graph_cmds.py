"""`perfgraph ingest` and `perfgraph query`: the graph store commands."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from perfgraph.cli import output
from perfgraph import pipeline
from perfgraph.cli.group import cli
from perfgraph.cli.options import model_options


def neo4j_options(f):
    f = click.option("--uri", envvar="NEO4J_URI", default=None, metavar="URI",
                     help="Neo4j URI: bolt://127.0.0.1:7687, neo4j://host (routing), neo4j+s://… (Aura); "
                          "schemes bolt, bolt+s, bolt+ssc, neo4j, neo4j+s, neo4j+ssc. [env: NEO4J_URI]")(f)
    f = click.option("--user", envvar="NEO4J_USER", default="neo4j", show_default=True,
                     help="Neo4j user. [env: NEO4J_USER]")(f)
    f = click.option("--password", envvar="NEO4J_PASSWORD", default=None,
                     help="Neo4j password [env: NEO4J_PASSWORD; default: the stored one of the local server, "
                          "sent only to that server's own URI].")(f)
    f = click.option("--database", envvar="NEO4J_DATABASE", default=None, help="Database name (default: the server's).")(f)
    f = click.option("--home", type=click.Path(file_okay=False), default=None, metavar="DIR",
                     help="Use the server `perfgraph neo4j start --home DIR` runs (its URI and password). "
                          "Without --uri or --home: the last server `perfgraph neo4j start` ran.")(f)
    return f


def open_store(uri, user, password, database, home=None):
    """A verified Neo4j store; says on stderr which server it is when no URI was given."""
    from perfgraph.store.neo4j_store import connect_from_env

    store = connect_from_env(uri, user, password, database, home)
    store.verify()
    if store.origin:  # found, not given: no silent assumption
        output.err_console.print(f"Neo4j: {store.uri} ({store.origin})", markup=False, soft_wrap=True)
    return store


@cli.command()
@click.argument("models", nargs=-1)
@model_options
@click.option("--zoo", type=click.Choice(["torchvision"]), help="Ingest every torchvision classification model.")
@click.option("--replace", is_flag=True, help="Re-ingest models already stored (default: leave them as they are).")
@neo4j_options
@click.option("--json", "as_json", is_flag=True, help="Print the per-model results as JSON.")
def ingest(models, model_opts, zoo, replace, uri, user, password, database, home, as_json):
    """Trace MODELS and store them in Neo4j, with stages and critical paths computed in Cypher.

    Each model is all-or-nothing: fully stored or absent, never half-written (small models share a
    transaction, a model never spans two). Re-ingesting is idempotent (the stored model is left alone);
    --replace writes it again. Models that fail are listed at the end; the rest is still ingested.
    Concurrent ingests of one model queue behind each other (never duplicated).

    \b
    Examples:
      perfgraph neo4j start
      perfgraph ingest resnet18 vit_b_16 --uri bolt://127.0.0.1:7687
      perfgraph ingest resnet18 --home /tmp/pg     # the server of `perfgraph neo4j start --home /tmp/pg`
      perfgraph ingest --zoo torchvision
      NEO4J_URI=neo4j+s://xxxx.databases.neo4j.io NEO4J_PASSWORD=… perfgraph ingest hf:gpt2
    """
    from perfgraph.store.neo4j_store import INGEST_BATCH_ELEMENTS, INGEST_WORKERS, element_count

    names = list(models)
    if zoo == "torchvision":
        from perfgraph.ingest.torchvision_models import list_names

        names += list_names("classification")
    if not names:
        raise click.UsageError("name at least one model, or --zoo torchvision")
    store = open_store(uri, user, password, database, home)
    results, failures = [], []
    t0 = time.perf_counter()
    pending: list[tuple[str, Any, float]] = []  # traced, not yet written: (name, graph, trace seconds)

    def write_pending() -> None:
        """Small models share transactions, several run at once (each model still all-or-nothing)."""
        if not pending:
            return
        by_id = {mg.info.id: name for name, mg, _ in pending}
        t = time.perf_counter()
        states = store.ingest_many([mg for _, mg, _ in pending], replace=replace,
                                   on_error=lambda g, exc: failures.append(
                                       {"model": by_id[g.info.id], "error": output.one_line(exc)}))
        share = (time.perf_counter() - t) / sum(element_count(mg) for _, mg, _ in pending)
        for name, mg, trace_s in pending:
            if mg.info.id in states:
                results.append({"model": name, "id": mg.info.id, "result": states[mg.info.id], "ops": mg.info.ops,
                                "subgraphs": mg.info.subgraphs, "elements": element_count(mg),
                                "seconds": round(trace_s + share * element_count(mg), 3)})
        pending.clear()

    with output.progress(len(names), "ingesting") as advance:
        for name in names:
            advance(name)
            try:
                t = time.perf_counter()
                mg = pipeline.analyze(model_opts.spec(name))
            except Exception as exc:  # noqa: BLE001 - a failed model is listed; the rest still goes in
                failures.append({"model": name, "error": output.one_line(exc)})
                continue
            if any(mg.info.id == g.info.id for _, g, _ in pending):
                write_pending()  # the same model named twice: the second is one more (idempotent) ingest
            pending.append((name, mg, time.perf_counter() - t))
            if sum(element_count(g) for _, g, _ in pending) >= INGEST_BATCH_ELEMENTS * INGEST_WORKERS:
                write_pending()
        write_pending()
    store.close()
    summary = {"ingested": results, "failed": failures, "seconds": round(time.perf_counter() - t0, 2),
               "store": store.uri}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        output.print_rows([{k: r[k] for k in ("model", "result", "ops", "subgraphs", "seconds")} for r in results],
                          title=f"{len(results)} models in {store.uri}")
        for f in failures:
            output.err_console.print(f"[red]failed[/] {output.escape(f['model'])}: {output.escape(f['error'])}",
                                     soft_wrap=True)  # one line
    if failures:
        sys.exit(3 if results else 1)


@cli.command()
@click.argument("name", required=False)
@click.option("--model", "-m", "model_names", multiple=True,
              help="Model (name or id). Repeat it for cross-model queries on the embedded store.")
@click.option("--param", "-p", "qparams", multiple=True, metavar="NAME=VALUE", help="Query parameter, repeatable.")
@click.option("--store", type=click.Choice(["auto", "embedded", "neo4j"]), default="auto", show_default=True,
              help="auto: Neo4j when a URI (flag or NEO4J_URI) or --home is given, else in-process.")
@click.option("--list", "list_queries", is_flag=True, help="List the named queries and their parameters.")
@neo4j_options
@click.option("--batch", "-b", default=None, type=click.IntRange(min=1), help="Batch (embedded store).")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print rows as CSV.")
def query(name, model_names, qparams, store, list_queries, uri, user, password, database, home, batch, as_json,
          as_csv):
    """Run the named query NAME on Neo4j or on the embedded (in-process) store.

    Both stores answer every named query with the same rows.

    \b
    Examples:
      perfgraph query --list
      perfgraph query depth -m resnet18                          # embedded: traces resnet18 now
      perfgraph query critical_path -m resnet50 -p weight=bytes --uri bolt://127.0.0.1:7687
      perfgraph query depth -m resnet18 --home /tmp/pg           # the server of `neo4j start --home /tmp/pg`
      perfgraph query rank_models -p by=depth --uri bolt://127.0.0.1:7687 --json
    """
    from perfgraph.ingest.sources import parse_params
    from perfgraph.queries import named

    if list_queries or not name:
        rows = [{"query": q.name, "what": q.help, "parameters": "; ".join(f"{k}: {v}" for k, v in q.params.items()),
                 "needs --model": q.per_model} for q in named.QUERIES.values()]
        _emit(rows, as_json, as_csv, "named queries")
        return
    q = named.get(name)
    params = parse_params(qparams)
    use_neo4j = store == "neo4j" or (store == "auto" and (uri or home))
    if use_neo4j:
        neo = open_store(uri, user, password, database, home)
        try:
            model_id = neo.resolve_model_id(model_names[0]) if q.per_model and model_names else None
            rows = named.run_neo4j(name, neo, model_id, **params)
        finally:
            neo.close()
        answered_by = f"Neo4j at {neo.uri}"
    else:
        if not model_names:
            raise click.UsageError("the embedded store analyses the models you name: pass --model/-m")
        with output.status("analysing"):
            mgs = [pipeline.analyze(pipeline.ModelSpec(m, batch=batch)) for m in model_names]
        rows = pipeline.query(name, mgs, mgs[0].info.id if q.per_model else None, **params)
        answered_by = "the embedded store (in-process)"
    if as_json or as_csv:  # the rows' shape stays as it is; which store answered goes to stderr
        output.err_console.print(f"answered by {answered_by}", markup=False, soft_wrap=True)
    _emit(rows, as_json, as_csv, f"{name} -- answered by {answered_by}")


def _emit(rows, as_json, as_csv, title):
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif as_csv:
        output.write_csv(rows)
    else:
        output.console.print(title, markup=False, soft_wrap=True)  # a table title would wrap at the table's width
        output.print_rows(rows)
