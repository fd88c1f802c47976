"""Printing for the CLI: rich tables on a terminal, plain text when piped, and human units."""

from __future__ import annotations

import contextlib
import math
import sys
from typing import Any, Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

# No emoji codes (`hf:llama:` would print a llama): model names and paths are the user's text. For the same
# reason user strings never go through rich markup: tables take them as `Text`, messages through `escape`.
console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)


def one_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def plural(n: int, word: str) -> str:
    """plural(1, 'subgraph') -> '1 subgraph'; plural(3, 'subgraph') -> '3 subgraphs'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def human(n: float, unit: str = "") -> str:
    """1.81e9 -> '1.81 G'. Decimal prefixes, as FLOP and byte rates are quoted."""
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}"
    return f"{n:.0f} {unit}".rstrip() if float(n).is_integer() else f"{n:.3g} {unit}".rstrip()


@contextlib.contextmanager
def status(message: str):
    """A spinner on a terminal for work slower than a second; silent when output is piped."""
    if err_console.is_terminal:
        with err_console.status(escape(message)):
            yield
    else:
        yield


@contextlib.contextmanager
def progress(total: int, what: str):
    """A progress bar over `total` items on a terminal (plain lines when piped); yields advance(label)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not err_console.is_terminal:
        count = [0]

        def advance_plain(label: str) -> None:
            count[0] += 1
            err_console.print(f"[{count[0]}/{total}] {what} {label}", markup=False)

        yield advance_plain
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[label]}"), console=err_console, transient=False) as bar:
        task = bar.add_task(escape(what), total=total, label="")
        started = [False]

        def advance(label: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, label=escape(label))

        yield advance
        if started[0]:
            bar.advance(task)


def print_summary(s: dict[str, Any]) -> None:
    table = Table(title=Text(f"{s['model']}  (batch {s['batch']}, {s['dtype']}, input {s['input_shape']})"),
                  show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    rows = [
        ("parameters", f"{s['params']:,}"),
        ("MACs", f"{human(s['macs'])}  ({s['macs']:,})"),
        ("FLOPs", f"{human(s['flops'])}  ({s['flops']:,})"),
    ]
    if "published_macs" in s:
        rows.append(("published MACs", f"{human(s['published_macs'])} per sample  (ours / published = "
                                       f"{s['macs_ratio']:.4f})"))
    rows += [
        ("ops", f"{s['ops']:,}"),
        ("subgraphs (kernels)", f"{s['subgraphs']:,}"),
        ("depth (stages)", str(s["depth"])),
        ("widest stage", f"stage {s['widest_stage']}: {plural(s['width'], 'subgraph')}"),
        ("external bytes", human(s["external_bytes"], "B")),
        ("bytes before fusion", human(s["op_bytes"], "B")),
        ("intensity", f"{s['intensity']:.2f} FLOP/B"),
        ("critical path", f"{plural(s['critical_path_length'], 'subgraph')}, {human(s['critical_path_flops'])}FLOPs"),
        ("tracer", s["tracer"]),
    ]
    rows += [("assumed", text) for text in s.get("assumptions", [])]
    for what, value in rows:
        table.add_row(what, Text(value))
    console.print(table)
    if s["heaviest_subgraphs"]:
        print_rows([{"#": h["index"], "pattern": h["pattern"], "stage": h["stage"], "MACs": human(h["macs"]),
                     "FLOPs": human(h["flops"]), "bytes": human(h["external_bytes"], "B"),
                     "FLOP/B": f"{h['intensity']:.1f}"} for h in s["heaviest_subgraphs"]],
                   title="heaviest subgraphs")
    if s["uncosted_ops"]:
        names = escape(", ".join(s["uncosted_ops"]))
        console.print(f"[yellow]uncosted ops (no FLOP formula, counted as 0):[/] {names}")


def print_rows(rows: Iterable[dict[str, Any]], title: str | None = None) -> None:
    rows = list(rows)
    if not rows:
        console.print("(no rows)")
        return
    table = Table(title=None if title is None else Text(title), title_justify="left")
    for key in rows[0]:
        table.add_column(Text(str(key)), overflow="fold")
    for row in rows:
        table.add_row(*[Text(_cell(v, str(k))) for k, v in row.items()])
    console.print(table)


# Column suffixes whose numbers read better with their unit (tables only; JSON and CSV keep raw numbers).
_UNIT_SUFFIXES = {"_s": "s", "_j": "J", "_bytes": "B", "_w": "W"}


def quantity(v: float, unit: str) -> str:
    """3.421e-4, 's' -> '342 µs'; 0.0645, 'J' -> '64.5 mJ'; 2.5e9, 'B' -> '2.50 GB'."""
    if v == 0 or abs(v) >= 1:
        return human(v, unit) if unit != "s" or abs(v) < 1e3 else f"{v:,.0f} s"
    for factor, prefix in ((1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(v) >= factor:
            return f"{v / factor:.3g} {prefix}{unit}"
    return f"{v:.3g} {unit}"


def _cell(v: Any, key: str = "") -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        unit = next((u for suffix, u in _UNIT_SUFFIXES.items() if key.endswith(suffix)), None)
        if unit and math.isfinite(v):
            return quantity(float(v), unit)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_csv(rows: list[dict[str, Any]], stream=None) -> None:
    import csv

    if not rows:
        return
    # sys.stdout looked up now, not at import: a replaced stdout (click's CliRunner, redirects) gets the rows
    writer = csv.DictWriter(stream or sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
