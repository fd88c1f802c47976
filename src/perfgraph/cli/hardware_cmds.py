"""`perfgraph hardware list|show|validate`, `perfgraph map` (write the mapping overlay into Neo4j), and the
chip comparison and batch-saturation sweep behind `perfgraph analyze MODEL --hardware ...`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from perfgraph.cli import output
from perfgraph.cli.graph_cmds import neo4j_options, open_store
from perfgraph.cli.main import build_graph, cli, model_options
from perfgraph.cli.options import rules_from, runtime_options

DEFAULT_SWEEP = (1, 2, 4, 8, 16, 32, 64, 128, 256)
SATURATION_THRESHOLD = 0.8  # `engine.sweep.saturation_batch`'s default: 80 % of the best over the sweep


# -- parsing --------------------------------------------------------------------------------------------
def parse_chips(value: str):
    """'h100,tpu-v4,kpu-t256' -> specs (ids, aliases, names, 'local', 'id@mode'); duplicates dropped."""
    from perfgraph.hardware.spec import get

    names = [n.strip() for n in str(value or "").split(",") if n.strip()]
    if not names:
        raise click.UsageError("--hardware needs at least one chip (see `perfgraph hardware list`)")
    chips = {}
    for n in names:
        spec = get(n)
        chips.setdefault(spec.id, spec)
    return list(chips.values())


def parse_precisions(value: str | None, dtype: str) -> list[str]:
    from perfgraph.hardware.spec import PRECISIONS

    names = [p.strip().lower() for p in str(value or dtype).split(",") if p.strip()]
    for p in names:
        if p not in PRECISIONS:
            raise click.BadParameter(f"unknown precision {p!r}; choose from {', '.join(PRECISIONS)}",
                                     param_hint="--precision")
    return list(dict.fromkeys(names))


def _check_supported(chips, precisions) -> None:
    for hw in chips:
        for p in precisions:
            hw.resolve_precision(p)  # one clear error before any tracing


# -- formatting (compact: these tables have many columns) -----------------------------------------------
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


def _csv(rows: list[dict[str, Any]]) -> None:
    output.write_csv([{k: v for k, v in r.items() if not isinstance(v, (dict, list))} for r in rows],
                     stream=sys.stdout)


def _emit(rows: list[dict[str, Any]], as_json: bool, as_csv: bool, title: str, pretty) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif as_csv:
        _csv(rows)
    else:
        print_table([pretty(r) for r in rows], title=title)


# -- perfgraph hardware ---------------------------------------------------------------------------------
@cli.group()
def hardware():
    """Chip specs: list them, show one with the source of every number, validate your own YAML.

    Specs are YAML files: the packaged ones, then $PERFGRAPH_HARDWARE_PATH and ~/.config/perfgraph/hardware
    (a file there with a packaged id replaces it). `local` describes this machine.

    \b
    Examples:
      perfgraph hardware list --kind GPU
      perfgraph hardware show h100
      perfgraph hardware show h100 --yaml > ~/.config/perfgraph/hardware/my-gpu.yaml   # a template
      perfgraph hardware validate ~/.config/perfgraph/hardware/my-gpu.yaml
    """


def _peak(spec, p: str) -> float | None:
    return spec.peak_flops.get(p)


def list_rows(kind: str | None = None) -> list[dict[str, Any]]:
    from perfgraph.hardware.spec import load_all

    rows = []
    for spec in sorted(load_all().values(), key=lambda s: (s.kind, s.id)):
        if kind and spec.kind != kind.upper():
            continue
        rows.append({
            "id": spec.id, "name": spec.name, "kind": spec.kind, "vendor": spec.vendor, "units": spec.unit_count,
            "unit_type": spec.unit_type, "peak_fp32": _peak(spec, "fp32"), "peak_bf16": _peak(spec, "bf16"),
            "peak_fp16": _peak(spec, "fp16"), "peak_int8": _peak(spec, "int8"),
            "memory_bytes": spec.dram.capacity_bytes, "memory_bandwidth_bytes_per_s": spec.dram_bandwidth,
            "tdp_w": spec.tdp_w, "modes": ",".join(spec.modes), "status": spec.status, "origin": spec.origin,
        })
    return rows


def _pretty_list(r: dict[str, Any]) -> dict[str, str]:
    def h(x):
        return output.human(x) if x else "-"

    return {"id": r["id"] + (" (planned)" if r["status"] != "released" else ""), "kind": r["kind"],
            "units": f"{r['units']} {r['unit_type']}", "fp32 FLOP/s": h(r["peak_fp32"]),
            "bf16 FLOP/s": h(r["peak_bf16"]), "int8 OP/s": h(r["peak_int8"]), "memory B": h(r["memory_bytes"]),
            "mem B/s": h(r["memory_bandwidth_bytes_per_s"]), "TDP W": f"{r['tdp_w']:g}"}


@hardware.command("list")
@click.option("--kind", type=click.Choice(["CPU", "GPU", "TPU", "KPU"], case_sensitive=False), help="Only this kind.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print as CSV.")
def hardware_list(kind, as_json, as_csv):
    """List the known chips with their dense peaks, main memory and power.

    \b
    Examples:
      perfgraph hardware list
      perfgraph hardware list --kind TPU --json
    """
    rows = list_rows(kind)
    _emit(rows, as_json, as_csv, f"{len(rows)} chips", _pretty_list)


def show_dict(spec) -> dict[str, Any]:
    return {
        "id": spec.id, "name": spec.name, "kind": spec.kind, "vendor": spec.vendor, "aliases": list(spec.aliases),
        "status": spec.status, "mode": spec.mode, "peak_flops": spec.peak_flops, "vector_flops": spec.vector_flops,
        "precision_fallback": spec.precision_fallback,
        "clock_ghz": {"base": spec.clock_base_ghz, "boost": spec.clock_boost_ghz},
        "compute_units": {"type": spec.unit_type, "count": spec.unit_count, "details": spec.unit_details},
        "memory": [{"name": lv.name, "kind": lv.kind, "scope": lv.scope, "capacity_bytes": lv.capacity_bytes,
                    "bandwidth_bytes_per_s": lv.bandwidth_bytes_per_s, "energy_pj_per_byte": lv.energy_pj_per_byte}
                   for lv in spec.memory],
        "power": {"tdp_w": spec.tdp_w, "static_w": spec.static_w, "modes": list(spec.modes)},
        "pj_per_flop": spec.pj_per_flop, "launch_overhead_s": spec.launch_overhead_s, "origin": spec.origin,
        "measured": measured_summary(spec),
        "sources": dict(spec.sources),
    }


def _show_rows(spec) -> list[dict[str, str]]:
    src = spec.sources
    rows: list[dict[str, str]] = []

    def add(what: str, value: str, key: str | None = None) -> None:
        rows.append({"what": what, "value": value, "source": src.get(key, "") if key else ""})

    add("id / kind / vendor", f"{spec.id} / {spec.kind} / {spec.vendor}")
    if spec.aliases:
        add("aliases", ", ".join(spec.aliases))
    add("status", spec.status)
    for p, v in spec.peak_flops.items():
        add(f"peak {p} (dense)", output.human(v, "OP/s" if p == "int8" else "FLOP/s"), f"peak_flops.{p}")
    for p, v in spec.vector_flops.items():
        add(f"vector {p}", output.human(v, "FLOP/s"), f"vector_flops.{p}")
    for p, q in spec.precision_fallback.items():
        add(f"{p} runs as", q, f"precision_fallback.{p}")
    if spec.clock_boost_ghz:
        add("clock (boost)", f"{spec.clock_boost_ghz:g} GHz", "clock_ghz.boost")
    add("compute units", f"{spec.unit_count} {spec.unit_type}", "compute_units.count")
    for i, lv in enumerate(spec.memory):
        parts = [f"{output.human(lv.capacity_bytes, 'B')} {lv.scope.replace('_', ' ')}"]
        if lv.bandwidth_bytes_per_s:
            parts.append(f"{output.human(lv.bandwidth_bytes_per_s, 'B/s')}")
        key = next((k for k in (f"memory.{lv.name}.bandwidth_bytes_per_s", f"memory.{lv.name}.capacity_bytes")
                    if k in src), None)
        add(f"memory {lv.name} ({lv.kind})", ", ".join(parts), key)
        if lv.energy_pj_per_byte:
            add(f"memory {lv.name} energy", f"{lv.energy_pj_per_byte:g} pJ/B", f"memory.{lv.name}.energy_pj_per_byte")
    add("TDP", f"{spec.tdp_w:g} W", "power.tdp_w")
    add("static power", f"{spec.static_w:g} W", "power.static_w")
    if spec.modes:
        add("power modes", ", ".join(spec.modes) + f"  (use {spec.id}@MODE)")
    for p, v in spec.pj_per_flop.items():
        add(f"energy {p}", f"{v:.3g} pJ/op", f"energy.pj_per_flop.{p}")
    add("launch overhead", fmt_time(spec.launch_overhead_s), "overhead.launch_s")
    measured = measured_summary(spec)
    if measured:
        rows.append({"what": "measured (calibration)", "value": measured["mode"], "source": measured["source"]})
        if measured.get("dispatch_s"):
            add("  eager dispatch per op", fmt_time(measured["dispatch_s"]))
        if measured.get("bandwidth_bytes_per_s"):
            add("  sustained bandwidth", si(measured["bandwidth_bytes_per_s"], "B/s"))
        for p, r in measured.get("gemm_flops_per_s", {}).items():
            add(f"  sustained GEMM {p}", si(r, "FLOP/s"))
    add("file", spec.origin)
    return rows


def measured_summary(spec) -> dict[str, Any]:
    """The fitted sustained rates of the chip's calibration section for the mode shown ({} when none)."""
    from perfgraph.engine.measured import curves_for

    curves = curves_for(spec)
    if curves is None:
        return {}
    mode = next(name for name, m in spec.calibration.modes.items() if m is curves.mode)
    return {"mode": mode, "host": spec.calibration.host, "source": curves.mode.source, **curves.summary()}


@hardware.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the spec (with every source) as JSON.")
@click.option("--yaml", "as_yaml", is_flag=True, help="Print the spec's YAML file (a template for your own).")
def hardware_show(name, as_json, as_yaml):
    """Show one chip (id, alias or name; ID@MODE for a power mode) and the source of each number.

    \b
    Examples:
      perfgraph hardware show h100
      perfgraph hardware show jetson-orin-agx-64gb@15W --json
    """
    from perfgraph.hardware.spec import get

    spec = get(name)
    if as_yaml:
        path = Path(spec.origin.split(" [")[0])
        if path.is_file():
            click.echo(path.read_text(encoding="utf-8"), nl=False)
        else:
            import yaml

            click.echo(yaml.safe_dump(spec.raw, sort_keys=False))
    elif as_json:
        click.echo(json.dumps(show_dict(spec), indent=2))
    else:
        rows = _show_rows(spec)
        notes: dict[str, int] = {}
        for r in rows:
            if r["source"]:
                r["source"] = f"[{notes.setdefault(r['source'], len(notes) + 1)}]"
        output.print_rows(rows, title=spec.name)
        for text, n in notes.items():
            output.console.print(f"[{n}] {text}", soft_wrap=True, markup=False)


@hardware.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def hardware_validate(files):
    """Check spec FILES: schema, plausible values, and a source for every number.

    Prints `ok` per valid file; a bad file is one line naming the file and every problem, exit code 1.

    \b
    Example:
      perfgraph hardware validate my-chip.yaml
    """
    from perfgraph.hardware.spec import HardwareSpecError, load_all, load_file

    try:
        packaged = {s.id: s.origin for s in load_all().values()}
    except HardwareSpecError:  # a broken installed file must not stop the check of this one
        packaged = {}
    failed = 0
    for f in files:
        try:
            spec = load_file(f)
        except HardwareSpecError as exc:
            failed += 1
            click.echo(f"error: {output.one_line(exc)}", err=True)
            continue
        note = ""
        other = packaged.get(spec.id)
        if other and Path(other).resolve() != Path(f).resolve():
            note = f"; replaces {other} when installed"
        click.echo(f"ok: {f}: {spec.id} ({spec.kind}, {spec.vendor}), {len(spec.sources)} numbers, "
                   f"each with a source{note}")
    if failed:
        sys.exit(1)


# -- perfgraph analyze MODEL --hardware ... -------------------------------------------------------------
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
        "crit": fmt_time(r["critical_path_s"]), "inf/s": si(r["throughput_per_s"]),
        "E/inf": fmt_energy(r["energy_per_inference_j"]), "util": f"{r['utilization']:.1%}",
        "mem": si(r["peak_memory_bytes"], "B") + ("" if r["fits_in_memory"] else "!"),
        "mem-bd": f"{r['memory_bound_share']:.0%}",
    })
    return out


def compare_rows(graphs, chips, precisions, runtime=None, rules=None, kernels=False) -> list[dict[str, Any]]:
    """One row per chip x batch x precision (`engine.overlay.comparison_row`), chips in the order given.
    The `local` chip uses this machine's calibration profile when there is one (tier 'local').
    `kernels`: each row also carries its per-kernel rows (`engine.explain.kernel_rows`)."""
    from perfgraph.engine.explain import kernel_rows

    from perfgraph.engine.calibrated import profile_for
    from perfgraph.engine.model_mapping import map_model
    from perfgraph.engine.overlay import comparison_row

    rows = []
    for hw in chips:
        profile = profile_for(hw)
        for p in precisions:
            for mg in graphs:
                mm = map_model(mg, hw, p, runtime=runtime, rules=rules, profile=profile)
                rows.append({"model": mg.info.id, **comparison_row(mm, hw), **_fill(mm)})
                if kernels:
                    rows[-1]["kernel_rows"] = kernel_rows(mm, mm_graph(mg, mm))
    return rows


def mm_graph(mg, mm):
    """The graph whose subgraphs `mm`'s kernels are (the eager runtime maps one kernel per op)."""
    if mm.runtime == "eager" and len(mm.kernels) != len(mg.subgraphs):
        from perfgraph.engine.runtime import eager_graph

        return eager_graph(mg)
    return mg


def _fill(mm) -> dict[str, Any]:
    """How many MAC (GEMM) kernels occupy every unit of the chip."""
    gemms = [k for k in mm.kernels if k.kernel == "gemm"]
    full = sum(1 for k in gemms if k.units_allocated >= k.units_total)
    return {"gemm_kernels": len(gemms), "gemm_kernels_filling_chip": full}


def saturation_summary(rows: list[dict[str, Any]], threshold: float = SATURATION_THRESHOLD) -> dict[str, Any]:
    """For one chip and precision over a batch sweep: the saturation batch by throughput and by utilisation
    (`engine.sweep.saturation_batch`: smallest batch within `threshold` of the best seen), and the
    smallest batch at which every GEMM kernel occupies all of the chip's units."""
    from perfgraph.engine.sweep import saturation_batch

    usable = [r for r in rows if r["fits_in_memory"]]
    best = max(usable, key=lambda r: r["throughput_per_s"], default=None)
    fill = next((r["batch"] for r in sorted(usable, key=lambda r: r["batch"])
                 if r["gemm_kernels"] and r["gemm_kernels_filling_chip"] == r["gemm_kernels"]), None)
    return {
        "hardware": rows[0]["hardware"], "precision": rows[0]["precision"], "threshold": threshold,
        "batches": [r["batch"] for r in rows],
        "saturation_batch_throughput": saturation_batch(rows, threshold=threshold, metric="throughput"),
        "saturation_batch_utilization": saturation_batch(rows, threshold=threshold, metric="utilization"),
        "all_gemms_fill_chip_batch": fill,
        "best_throughput_per_s": best["throughput_per_s"] if best else None,
        "best_batch": best["batch"] if best else None,
    }


def compare(model, batches, dtype, input_shape, params, weights, tracer, hardware, precision, saturation,
            as_json, as_csv, runtime=None, rules=None, kernels=False) -> None:
    chips = parse_chips(hardware)
    precisions = parse_precisions(precision, dtype)
    _check_supported(chips, precisions)
    if saturation and not batches:
        batches = DEFAULT_SWEEP
    graphs = []
    with output.status(f"tracing {model}"):
        for b in batches or (None,):
            graphs.append(build_graph(model, b, dtype, input_shape, params, weights, tracer))
    rows = compare_rows(graphs, chips, precisions, runtime=runtime, rules=rules, kernels=kernels)
    if not saturation:
        one = len(precisions) == 1 and all(r["precision"] == r["precision_used"] for r in rows)
        title = (f"{graphs[0].info.name}{' at ' + precisions[0] if one else ''} -- latency per batch: seq(uential), "
                 "conc(urrency-aware), crit(ical-path bound); inf/s: throughput; E/inf: energy per inference; "
                 "util: of peak; mem: peak memory (! = does not fit); mem-bd: memory-bound kernels")
        _emit(rows, as_json, as_csv, title, lambda r: _pretty_compare(r, not one))
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
            summaries.append({**saturation_summary(sub), "rows": sub})
    if as_json:
        click.echo(json.dumps({"model": graphs[0].info.name, "sweeps": summaries}, indent=2))
        return
    if as_csv:
        _csv(rows)
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


# -- perfgraph map ----------------------------------------------------------------------------------------
@cli.command("map")
@click.argument("models", nargs=-1, required=True)
@model_options(batch_list=True)
@click.option("--hardware", "--hw", "hardware", required=True, metavar="CHIP[,CHIP...]",
              help="Chips to map onto (ids, aliases or names; see `perfgraph hardware list`).")
@click.option("--precision", default=None, metavar="P[,P...]",
              help="fp32 | tf32 | fp16 | bf16 | int8, or a list [default: --dtype].")
@click.option("--replace", is_flag=True,
              help="Re-ingest the models first (this drops every overlay already stored on them).")
@neo4j_options
@click.option("--json", "as_json", is_flag=True, help="Print the per-overlay results as JSON.")
@runtime_options
def map_cmd(models, batch, dtype, input_shape, params, weights, tracer, hardware, precision, replace, uri, user,
            password, database, home, as_json, runtime, conv_tf32, matmul_precision):
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
    from perfgraph.engine.calibrated import profile_for
    from perfgraph.engine.model_mapping import map_model
    from perfgraph.engine.overlay import write_overlay

    chips = parse_chips(hardware)
    precisions = parse_precisions(precision, dtype)
    _check_supported(chips, precisions)
    store = open_store(uri, user, password, database, home)
    rows = []
    try:
        jobs = [(m, b) for m in models for b in (batch or (None,))]
        with output.progress(len(jobs), "mapping") as advance:
            for m, b in jobs:
                advance(f"{m} b{b or ''}")
                mg = build_graph(m, b, dtype, input_shape, params, weights, tracer)
                state = store.ingest(mg, replace=replace)
                for hw in chips:
                    for p in precisions:
                        mm = map_model(mg, hw, p, runtime=runtime, rules=rules_from(conv_tf32, matmul_precision),
                                       profile=profile_for(hw))
                        res = write_overlay(store, mm, hw)
                        rows.append({"model": mg.info.id, "ingest": state, "hardware": hw.id, "batch": mm.batch,
                                     "precision": mm.precision, "runtime": mm.runtime, "tier": mm.tier,
                                     "overlay": res["result"],
                                     "subgraphs": res["subgraphs"], "latency_s": mm.latency_sequential_s,
                                     "throughput_per_s": mm.throughput_per_s,
                                     "energy_per_inference_j": mm.energy_per_sample_j})
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
