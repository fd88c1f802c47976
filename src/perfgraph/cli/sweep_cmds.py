"""`perfgraph sweep`: a model over the Cartesian product of parameter values, batches and chips."""

from __future__ import annotations

import contextlib
import json
import re
import sys

import click

from perfgraph.cli import output
from perfgraph.cli.group import cli
from perfgraph.cli.options import no_cache_option
from perfgraph.cli.options import RUNTIME_HELP
from perfgraph.engine.runtime import RUNTIMES
from perfgraph.vocab import Dtype, Precision, Tracer, choices


@contextlib.contextmanager
def _completions(total: int, what: str):
    """Progress over `total` items counted as they finish (in any order); yields done(label)."""
    if total <= 0:
        yield lambda label: None
        return
    if not output.err_console.is_terminal:
        count = [0]

        def plain(label: str) -> None:
            count[0] += 1
            output.err_console.print(f"[{count[0]}/{total}] {what} {label}", markup=False)

        yield plain
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[label]}"),
                  console=output.err_console) as bar:
        task = bar.add_task(what, total=total, label="")

        def done(label: str) -> None:
            bar.update(task, advance=1, label=output.escape(label))

        yield done


def _seconds(v) -> str:
    if not isinstance(v, (int, float)):
        return "-"
    for factor, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if v >= factor:
            return f"{v / factor:.3g} {unit}"
    return f"{v * 1e9:.3g} ns"


def _short_error(text: str, model: str) -> str:
    """'ModelSourceError: synthetic:x: hidden (256) must be ...' -> 'hidden (256) must be ...'."""
    text = text.split(": ", 1)[1] if re.match(r"^\w+: ", text) else text
    for prefix in (f"{model}: ", f"synthetic:{model.removeprefix('synthetic:')}: "):
        text = text.removeprefix(prefix)
    return text


def _table_rows(result) -> tuple[list[dict], dict[str, int]]:
    """Table rows, and the footnotes (reason -> number) that their `note` column points to."""
    spec = result.spec
    swept = spec.swept() or [f"p.{n}" for n in spec.axes] or ["batch"]
    notes: dict[str, int] = {}
    rows = []
    for r in result.rows:
        out = {c[2:] if c.startswith("p.") else c: r.get(c) for c in swept}
        ok = not r.get("error")
        out.update({"MACs": output.human(r["macs"]) if ok else "-",
                    "ext. bytes": output.human(r["external_bytes"], "B") if ok else "-",
                    "FLOP/B": f"{r['intensity']:.1f}" if ok else "-",
                    "stages": r["depth"] if ok else "-", "widest": r["width"] if ok else "-"})
        for chip in spec.hardware:
            out[f"latency {chip}"] = _seconds(r.get(f"latency_s@{chip}")) if ok else "-"
        if result.failed or result.invalid:
            n = notes.setdefault(_short_error(r["error"], spec.model), len(notes) + 1) if not ok else 0
            out["note"] = f"{r.get('status', 'failed')} [{n}]" if not ok else ""
        rows.append(out)
    return rows, notes


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


@cli.command()
@click.argument("model")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=V1,V2,...",
              help="Parameter values to sweep, repeatable; one value fixes a parameter.")
@click.option("--batch", "-b", "batches", default="1", show_default=True, metavar="B1,B2,...",
              help="Batch sizes to sweep.")
@click.option("--hardware", "-H", multiple=True, metavar="CHIP[,CHIP...]",
              help="Chips to predict latency on (hardware ids, e.g. h100-sxm,tpu-v4); repeatable.")
@click.option("--precision", default=None, type=click.Choice(choices(Precision)),
              help="Precision the chips compute in [default: --dtype].")
@click.option("--dtype", default=Dtype.FP32.value, show_default=True, type=click.Choice(choices(Dtype)),
              help="Tensor dtype of the traced model.")
@click.option("--input-shape", default=None, metavar="N,C,H,W", help="Input shape (user models; batch from --batch).")
@click.option("--weights", default=None, help="torchvision weights whose eval size to use.")
@click.option("--tracer", type=click.Choice(choices(Tracer)), default=Tracer.AUTO.value, show_default=True,
              help="meta: fake tensors; real: CPU tensors; auto: meta, then real.")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1),
              help="Points analysed at once, each in its own process.")
@click.option("--out", "-o", "out_dir", default=None, metavar="DIR",
              help="Folder for points.jsonl, sweep.json, sweep.csv and plots [default: sweeps/<model>].")
@click.option("--resume", is_flag=True, help="Keep the points already in DIR/points.jsonl and run only the rest.")
@click.option("--overwrite", is_flag=True, help="Discard DIR/points.jsonl and start again.")
@click.option("--plot", "plots", multiple=True, metavar="METRIC",
              help="Plot METRIC against the swept parameter (PNG in DIR), repeatable: macs, flops, params, "
                   "external_bytes, intensity, depth, width, latency, throughput, energy, utilization, memory.")
@click.option("--x", "x_axis", default=None, metavar="AXIS",
              help="Axis for the plot's x (a swept parameter or batch) [default: the first swept one].")
@click.option("--max-points", default=None, type=click.IntRange(min=0), metavar="N",
              help="Refuse a grid of more than N points [default: 1000; 0: no cap].")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the results as CSV.")
@click.option("--runtime", default="eager", show_default=True, type=click.Choice(RUNTIMES), help=RUNTIME_HELP)
@no_cache_option
def sweep(model, params, batches, hardware, precision, dtype, input_shape, weights, tracer, jobs, out_dir, resume,
          overwrite, plots, x_axis, max_points, as_json, as_csv, runtime):
    """Analyse MODEL over every combination of parameter values and batch sizes.

    Each point is traced and costed on its own (in parallel with --jobs) and, with --hardware, mapped onto
    each chip for predicted latency. Each finished point is appended to DIR/points.jsonl at once: Ctrl-C
    keeps them, and --resume skips them. The results go to DIR/sweep.json and DIR/sweep.csv, a table on
    the terminal, and with --plot a PNG per metric: one line per combination of the other swept values
    (and per chip).

    \b
    Examples:
      perfgraph sweep synthetic:mlp -p width=512,1024,2048,4096 -p depth=2,4,8 --plot macs
      perfgraph sweep synthetic:transformer_encoder -p seq_len=128,512,2048 -b 1,8 \\
          -H h100-sxm,tpu-v4 --precision bf16 --plot latency --jobs 2
      perfgraph sweep resnet50 -b 1,8,32,128 -H a100-sxm-80gb --plot throughput --out sweeps/r50
      perfgraph sweep synthetic:conv_stack -p groups=1,8,64 --out sweeps/groups --resume --csv
    """
    from pathlib import Path

    from perfgraph import graph_cache, sweep as sw
    from perfgraph.ingest.sources import parse_shape

    if as_json and as_csv:
        raise sw.SweepError("--json and --csv are exclusive")
    if resume and overwrite:
        raise sw.SweepError("--resume and --overwrite are exclusive")
    for m in plots:
        sw.metric_key(m)
    precision = (precision or dtype).lower()
    chips = sw.validate_chips(_split(hardware), precision)
    spec = sw.SweepSpec(model=model, axes=sw.parse_axes(params), batches=sw.parse_int_list(batches, "batch"),
                        hardware=chips, precision=precision, dtype=dtype.lower(),
                        input_shape=None if input_shape is None else parse_shape(input_shape), weights=weights,
                        tracer=tracer, runtime=runtime, cache=graph_cache.enabled())
    for m in plots:
        if sw.METRICS[sw.metric_key(m)].per_chip and not chips:
            raise sw.SweepError(f"--plot {m} is predicted per chip: add --hardware (e.g. -H h100-sxm)")
    if plots and not spec.swept():
        raise sw.SweepError("--plot needs a swept axis: give some --param or --batch more than one value")
    if x_axis is not None:  # checked now, not after every point has run
        if not plots:
            raise sw.SweepError("--x sets the plot's x axis: add --plot METRIC")
        sw.x_column(spec, x_axis)
    max_points = sw.MAX_POINTS if max_points is None else max_points
    sw.check_size(spec, max_points)
    out = Path(out_dir or Path("sweeps") / (re.sub(r"[^A-Za-z0-9_.-]+", "_", model).strip("_") or "model"))

    state = {}

    def on_start(todo: int, reused: int) -> None:
        if reused:
            output.err_console.print(f"resuming: {reused} of {todo + reused} points already in {out / sw.JSONL}")
        state["bar"] = stack.enter_context(_completions(todo, "sweep"))

    def on_point(rec) -> None:
        text = sw.label(rec["point"])
        if rec["row"].get("error"):
            text += f"  [failed: {rec['row']['error'][:80]}]"
        state["bar"](text)

    with contextlib.ExitStack() as stack:
        try:
            result = sw.run_sweep(spec, out, jobs=jobs, resume=resume, overwrite=overwrite, on_start=on_start,
                                  on_point=on_point, max_points=max_points)
        except sw.SweepInterrupted as exc:
            stack.close()
            click.echo(str(exc), err=True)
            sys.exit(130)
    for m in plots:
        path = sw.plot(result, m, out / sw.plot_name(m, spec, x_axis), x=x_axis)
        result.files[f"plot:{m}"] = path

    if as_json:
        click.echo(json.dumps(json.loads(result.files["json"].read_text()), indent=2))
    elif as_csv:
        click.echo(result.files["csv"].read_text(), nl=False)
    else:
        fixed = ", ".join(f"{n}={v[0]}" for n, v in spec.axes.items() if len(v) == 1)
        title = f"{model}: {len(result.rows)} points" + (f" ({fixed})" if fixed else "")
        if len(spec.batches) == 1:
            title += f", batch {spec.batches[0]}"
        title += f", {spec.dtype}" + (f", {precision} on chip" if chips else "")
        rows, notes = _table_rows(result)
        output.print_rows(rows, title=title)
        for text, n in notes.items():
            output.console.print(f"[{n}] {text}", markup=False)
    written = [str(result.files[k]) for k in ("csv", "json", "jsonl")]
    plots_written = [str(p) for k, p in result.files.items() if k.startswith("plot:")]
    output.err_console.print(f"wrote {', '.join(written)}" + (f"; plots: {', '.join(plots_written)}"
                                                             if plots_written else ""))
    if result.invalid:
        output.err_console.print(f"{len(result.invalid)} of {len(result.rows)} points skipped: the model rejects "
                                 "those parameter combinations")
    if result.failed:
        first = result.failed[0]
        click.echo(f"error: {len(result.failed)} of {len(result.rows)} points failed "
                   f"(first: {first['error']})", err=True)
        sys.exit(1)
