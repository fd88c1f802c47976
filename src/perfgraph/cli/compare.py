"""`perfgraph analyze MODEL --hardware ...`: the chip x batch x precision comparison (`pipeline.map_onto`)
and the batch-saturation sweep (`pipeline.saturation`), as tables, JSON or CSV."""

from __future__ import annotations

import json
from typing import Any

import click

from perfgraph import pipeline
from perfgraph.cli import output
from perfgraph.cli.options import ModelOptions
from perfgraph.cli.tables import emit, fmt_energy, fmt_time, print_table, si, write_csv


def chip_option(value: str | None) -> list:
    """--hardware's chips (ids, aliases, names, 'local', 'id@mode'), each once, in the order given."""
    if not str(value or "").replace(",", "").strip():
        raise click.UsageError("--hardware needs at least one chip (see `perfgraph hardware list`)")
    return pipeline.chips(value)


def precision_option(value: str | None, dtype: str, chips) -> list[str]:
    """--precision's names (default: --dtype), checked against every chip before any tracing."""
    try:
        names = pipeline.precisions(value, dtype)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--precision") from None
    for hw in chips:
        for p in names:
            hw.resolve_precision(p)  # one clear error before any tracing
    return names


def _pretty_compare(r: dict[str, Any], show_precision: bool = True) -> dict[str, str]:
    out = {"chip": r["hardware"], "batch": str(r["batch"])}
    if show_precision:
        out["prec"] = r["precision"] if r["precision"] == r["precision_used"] else \
            f"{r['precision']}→{r['precision_used']}"
    err = r.get("expected_error")
    out.update({
        "runtime": r["runtime"] + (f" ({r['bound_by']}-bd)" if r.get("bound_by") else ""),
        "tier": r["tier"] + (f" ±{err:.0%}" if err is not None else " (unvalidated)"),
        "seq": fmt_time(r["latency_s"]), "conc": fmt_time(r["latency_concurrent_s"]),
        "crit": fmt_time(r["latency_critical_path_s"]), "inf/s": si(r["throughput_per_s"]),
        "E/inf": fmt_energy(r["energy_per_inference_j"]), "util": f"{r['utilization']:.1%}",
        "mem": si(r["peak_memory_bytes"], "B") + ("" if r["fits_in_memory"] else "!"),
        "mem-bd": f"{r['memory_bound_share']:.0%}",
    })
    return out


def compare(model: str, model_opts: ModelOptions, hardware: str, precision: str | None, saturation: bool,
            as_json: bool, as_csv: bool, runtime=None, rules=None, kernels: bool = False) -> None:
    chips = chip_option(hardware)
    precisions = precision_option(precision, model_opts.dtype, chips)
    batches = model_opts.batches or (pipeline.DEFAULT_SWEEP if saturation else (None,))
    specs = [model_opts.spec(model, b) for b in batches]  # every spec is validated before any tracing
    graphs = []
    with output.status(f"tracing {model}"):
        for spec in specs:
            graphs.append(pipeline.analyze(spec))
    rows = [r.as_dict() for r in pipeline.map_onto(graphs, chips, precisions, runtime=runtime or "eager",
                                                   rules=rules, kernels=kernels)]
    if not saturation:
        one = len(precisions) == 1 and all(r["precision"] == r["precision_used"] for r in rows)
        title = (f"{graphs[0].info.name}{' at ' + precisions[0] if one else ''} -- latency per batch: seq(uential), "
                 "conc(urrency-aware), crit(ical-path bound); inf/s: throughput; E/inf: energy per inference; "
                 "util: of peak; mem: peak memory (! = does not fit); mem-bd: memory-bound kernels")
        emit(rows, as_json, as_csv, title, lambda r: _pretty_compare(r, not one))
        if not (as_json or as_csv):
            print_notes(rows)
            print_explanations(rows)
            if kernels:
                print_kernel_tables(rows)
        return
    summaries = []
    for hw in chips:
        for p in precisions:
            sub = [r for r in rows if r["hardware"] == hw.id and r["precision"] == p]
            summaries.append({**pipeline.saturation(sub), "rows": sub})
    if as_json:
        click.echo(json.dumps({"model": graphs[0].info.name, "sweeps": summaries}, indent=2))
        return
    if as_csv:
        write_csv(rows)
        return
    for s in summaries:
        def pretty(r, best=s["best_throughput_per_s"] or 1.0):
            return {"batch": str(r["batch"]), "latency": fmt_time(r["latency_s"]),
                    "inf/s": si(r["throughput_per_s"]), "of best": f"{r['throughput_per_s'] / best:.0%}",
                    "util": f"{r['utilization']:.1%}",
                    "GEMMs filling chip": f"{r['gemm_kernels_filling_chip']}/{r['gemm_kernels']}",
                    "mem-bd": f"{r['memory_bound_share']:.0%}",
                    "peak mem": si(r["peak_memory_bytes"], "B") + ("" if r["fits_in_memory"] else "!")}

        print_table([pretty(r) for r in s["rows"]],
                          title=f"{graphs[0].info.name} on {s['hardware']} ({s['precision']}): batch sweep")
        output.console.print(
            f"{s['hardware']}: throughput reaches {s['threshold']:.0%} of its best "
            f"({si(s['best_throughput_per_s'] or 0)}/s at batch {s['best_batch']}) at batch "
            f"[bold]{s['saturation_batch_throughput']}[/]; utilisation at batch {s['saturation_batch_utilization']}; "
            f"{_fill_verdict(s)}", soft_wrap=True)


def _fill_verdict(s: dict[str, Any]) -> str:
    """When every GEMM kernel fills the chip, in words that also read right when it never does."""
    if s["all_gemms_fill_chip_batch"] is not None:
        return f"every GEMM kernel occupies all the chip's units from batch {s['all_gemms_fill_chip_batch']}"
    if not any(r["gemm_kernels"] for r in s["rows"]):
        return "the model has no GEMM kernel"
    return (f"at no batch in the sweep (up to {max(s['batches'])}) does every GEMM kernel occupy all the "
            "chip's units")


def print_explanations(rows: list[dict[str, Any]]) -> None:
    """Per row: what fits on chip and what streams over which link, and the energy split with each
    figure's provenance (`engine.explain`)."""
    for r in rows:
        where = f"{r['hardware']} b{r['batch']} {r['precision']}"
        if r.get("onchip"):
            output.console.print(f"{where}: {r['onchip']}", soft_wrap=True, markup=False, highlight=False)
        if r.get("energy_note"):
            output.console.print(f"{where}: energy per batch {r['energy_note']}", soft_wrap=True, markup=False,
                                 highlight=False)


def _pretty_kernel(k: dict[str, Any]) -> dict[str, str]:
    util = f"{k['utilization']:.0%}" if k["utilization"] is not None else f"- ({k['bound']})"
    return {"#": str(k["index"]), "pattern": k["pattern"], "units": f"{k['units_allocated']}/{k['units_total']}",
            "bound": k["bound"],
            "par b·c·s": f"{k['parallelism_batch']}·{k['parallelism_channels']}·{k['parallelism_spatial']}",
            "latency": fmt_time(k["latency_s"]), "util": util}


def print_kernel_tables(rows: list[dict[str, Any]]) -> None:
    """One table per chip x batch x precision: the `--kernels` view."""
    for r in rows:
        print_table([_pretty_kernel(k) for k in r.get("kernel_rows", [])],
                    title=f"{r['model']} on {r['hardware']} ({r['precision']}, {r['runtime']}): kernels -- units "
                          "allocated/total, parallelism batch·channels·spatial, util only for compute-bound kernels")


def print_notes(rows: list[dict[str, Any]]) -> None:
    """What each prediction assumed, and what its tier was validated at, once per distinct line."""
    lines: dict[str, None] = {}
    for r in rows:
        for note in r.get("notes", []):
            lines[f"{r['hardware']}: {note}"] = None
        lines[f"{r['hardware']}: {r['tier_note']}"] = None
    for line in lines:
        output.console.print(line, soft_wrap=True, markup=False, highlight=False)


