"""Compact tables for the chip comparisons: SI numbers, times, energies, and one emitter for table / JSON / CSV."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from perfgraph.cli import output


def si(x: float, unit: str = "") -> str:
    """3 significant digits and an SI prefix, no space: 1.45e3 -> '1.45k', 2.5e-4 s -> '250µs'."""
    if x == 0:
        return f"0{unit}"
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"),
                           (1e-6, "µ"), (1e-9, "n")):
        if abs(x) >= factor * 0.9995:
            return f"{x / factor:.3g}{prefix}{unit}"
    return f"{x:.3g}{unit}"


def fmt_time(s: float) -> str:
    return si(s, "s")


def fmt_energy(j: float) -> str:
    return si(j, "J")


def print_table(rows: list[dict[str, Any]], title: str | None = None, keep: int = 1) -> None:
    """`output.print_rows`, but the first `keep` columns (chip ids, batches) never wrap."""
    from rich.table import Table

    if not rows:
        output.console.print("(no rows)")
        return
    table = Table(title=title, title_justify="left")
    for i, key in enumerate(rows[0]):
        table.add_column(str(key), no_wrap=i < keep, overflow="fold")
    for row in rows:
        table.add_row(*[output.Text(str(v)) for v in row.values()])
    console = output.console
    if not console.is_terminal:  # piped: print at the table's natural width instead of folding at 80 columns
        from rich.console import Console
        from rich.measure import Measurement

        width = max(console.width, Measurement.get(console, console.options.update(width=400), table).maximum)
        console = Console(highlight=False, width=width, file=sys.stdout)
    console.print(table)


def write_csv(rows: list[dict[str, Any]]) -> None:
    """Rows as CSV on stdout, scalar columns only (nested dicts and lists stay in --json)."""
    output.write_csv([{k: v for k, v in r.items() if not isinstance(v, (dict, list))} for r in rows],
                     stream=sys.stdout)


def emit(rows: list[dict[str, Any]], as_json: bool, as_csv: bool, title: str, pretty) -> None:
    """Rows as JSON, CSV, or a table of `pretty(row)`."""
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif as_csv:
        write_csv(rows)
    else:
        print_table([pretty(r) for r in rows], title=title)
