"""`perfgraph hardware list|show|validate|schema`: the chips perfgraph knows, each number with its source."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from perfgraph.cli import output
from perfgraph.cli.group import cli
from perfgraph.cli.tables import emit, fmt_time, si
from perfgraph.vocab import ChipKind, choices


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
@click.option("--kind", type=click.Choice(choices(ChipKind), case_sensitive=False), help="Only this kind.")
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
    emit(rows, as_json, as_csv, f"{len(rows)} chips", _pretty_list)


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


@hardware.command("schema")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the schema to this file instead of standard output.")
def hardware_schema(out_path):
    """Print the JSON Schema of a chip file, for editors that complete and check YAML.

    The same schema ships as `perfgraph/hardware/data/chip.schema.json`. With the YAML language server
    (VS Code, Neovim, ...), put `# yaml-language-server: $schema=<path to chip.schema.json>` on a chip
    file's first line. `perfgraph hardware validate` also checks what a schema cannot: a source for every
    number.

    \b
    Examples:
      perfgraph hardware schema --out chip.schema.json
      perfgraph hardware schema | python -m json.tool | head
    """
    from perfgraph.hardware.schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if out_path is None:
        sys.stdout.write(text)
    else:
        out_path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out_path}", err=True)
