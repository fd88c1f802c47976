"""`perfgraph cache info` / `perfgraph cache clear`: the on-disk graph cache (`perfgraph.graph_cache`)."""

from __future__ import annotations

import datetime as _dt
import json

import click

from perfgraph.cli import output
from perfgraph.cli.group import cli

_LISTED = 20  # entries shown as a table; --json lists all


def _entries(n: int) -> str:
    return f"{n:,} {'entry' if n == 1 else 'entries'}"


@cli.group("cache")
def cache() -> None:
    """The graph cache: analysed models kept in $PERFGRAPH_HOME/graphs, so that a model analysed before is
    mapped, queried and reported on without tracing it again (or importing torch).

    An entry is used when the model spec (model, batch, dtype, input shape, params, weights, tracer), the
    perfgraph version and source files, and the installed torch, torchvision and transformers versions all
    match. User factories (file.py:make_model) are never cached. Commands that build a model take
    --no-cache; PERFGRAPH_NO_CACHE=1 turns the cache off altogether.

    \b
    Examples:
      perfgraph cache info
      perfgraph cache clear --json
    """


@cache.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON, with every entry.")
def info_cmd(as_json: bool) -> None:
    """Where the cache is, what it holds, its bounds and the versions that key it."""
    from perfgraph import graph_cache

    info = graph_cache.info()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    state = "on" if info["enabled"] else f"off: {info['off_because']}"
    click.echo(f"graph cache: {info['directory']} ({state})")
    click.echo(f"{_entries(info['entries'])}, {output.human(info['bytes'], 'B')}; bounded to "
               f"{info['max_entries']} entries and {output.human(info['max_bytes'], 'B')}, least recently used "
               f"evicted first; {info['stale_entries']} from other versions (never used, evicted in turn)")
    rows = [{"model": m["model"], "batch": m["batch"], "dtype": m["dtype"], "size": output.human(m["bytes"], "B"),
             "last used": _dt.datetime.fromtimestamp(m["last_used"]).strftime("%Y-%m-%d %H:%M")}
            for m in info["models"][:_LISTED]]
    if rows:
        more = len(info["models"]) - len(rows)
        output.print_rows(rows, title="most recently used" + (f" ({more} more with --json)" if more > 0 else ""))


@cache.command("clear")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def clear_cmd(as_json: bool) -> None:
    """Delete every cached graph (the next analysis of each model traces it again)."""
    from perfgraph import graph_cache

    result = graph_cache.clear()
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"removed {_entries(result['removed'])} "
               f"({output.human(result['bytes_freed'], 'B')}) from {result['directory']}")
