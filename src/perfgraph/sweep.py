"""Parameter sweeps: analyse a model over the Cartesian product of parameter values and batch sizes, map
each point onto chips, and write the results as JSONL (as points finish), JSON, CSV and a plot.

A **point** is one combination of parameter values and one batch size. Each point is independent: it is
traced, partitioned and costed on its own (`analysis.analyze_graph`), then mapped onto every requested chip
(`engine.model_mapping.map_model` with `hardware.spec.get`), so points run in parallel worker processes
(`jobs`). Every finished point is appended to ``points.jsonl`` in the output folder at once, one JSON
object a line with the point's key; an interrupted sweep keeps what finished, and ``resume=True`` skips
points already there (matched by key: model, dtype, input shape, weights, tracer, parameter values,
batch; a stored point is reused only when it has every requested chip at the requested precision).

Rows are flat dicts, the same in JSON and CSV: ``model``, ``batch``, one ``p.NAME`` column per parameter
(values parsed as int or float where they look like numbers), the graph metrics of `GRAPH_METRICS`, one
``METRIC@CHIP`` column per chip metric of `CHIP_METRICS`, ``id``, ``seconds`` (analysis time),
``status`` (``ok``; ``invalid``: the model rejects this combination of values, e.g. hidden not divisible by
heads, checked before any tracing; ``failed``: the analysis raised) and ``error`` (why, else empty).

`plot` draws any metric against one swept axis (matplotlib, Agg backend): one line per combination of the
other swept axes and, for chip metrics, per chip.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import re
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

JSONL = "points.jsonl"
# Points a sweep may hold unless `max_points` says otherwise: each point is traced on its own (a second
# or more), so a larger grid is more often a typo in the axes than an intended run.
MAX_POINTS = 1000


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # axis label, without the unit
    unit: str  # for matplotlib's EngFormatter ("" for counts)
    per_chip: bool = False


GRAPH_METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("macs", "MACs (conv + matmul + attention)", ""),
    Metric("flops", "FLOPs", ""),
    Metric("params", "parameters", ""),
    Metric("external_bytes", "external bytes (after fusion)", "B"),
    Metric("op_bytes", "bytes before fusion", "B"),
    Metric("weight_bytes", "weight bytes", "B"),
    Metric("intensity", "arithmetic intensity (FLOP/B)", ""),
    Metric("depth", "depth (stages)", ""),
    Metric("width", "widest stage (subgraphs)", ""),
    Metric("subgraphs", "subgraphs (kernels)", ""),
    Metric("ops", "ATen ops", ""),
    Metric("critical_path_flops", "critical path FLOPs", ""),
]}
CHIP_METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("latency_s", "predicted latency (kernels in sequence)", "s", True),
    Metric("latency_concurrent_s", "predicted latency (stages concurrent)", "s", True),
    Metric("throughput_per_s", "predicted throughput (samples/s)", "", True),
    Metric("energy_per_sample_j", "predicted energy per sample", "J", True),
    Metric("utilization", "achieved fraction of peak", "", True),
    Metric("peak_memory_bytes", "peak memory", "B", True),
]}
METRICS = {**GRAPH_METRICS, **CHIP_METRICS}
ALIASES = {"latency": "latency_s", "latency_concurrent": "latency_concurrent_s", "bytes": "external_bytes",
           "widest_stage": "width", "stages": "depth", "throughput": "throughput_per_s",
           "energy": "energy_per_sample_j", "memory": "peak_memory_bytes", "mac": "macs"}


class SweepError(ValueError):
    """A sweep that cannot start: bad axes, an unknown chip or metric, an output folder in the way."""


class SweepInterrupted(Exception):
    def __init__(self, done: int, total: int, path: Path):
        super().__init__(f"interrupted: {done} of {total} points kept in {path}; run again with --resume")
        self.done, self.total, self.path = done, total, path


def metric_key(name: str) -> str:
    key = ALIASES.get(name.lower().replace("-", "_"), name.lower().replace("-", "_"))
    if key not in METRICS:
        raise SweepError(f"unknown metric {name!r}; choose from {', '.join(METRICS)} "
                         f"(or {', '.join(ALIASES)})")
    return key


def parse_axes(pairs: Iterable[str]) -> dict[str, list[str]]:
    """`("width=1024,2048", "depth=4")` -> {"width": ["1024", "2048"], "depth": ["4"]}, in the order given."""
    axes: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, values = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SweepError(f"bad --param {pair!r}; write it as name=v1,v2,...")
        if name in axes:
            raise SweepError(f"--param {name} given twice; list all its values in one: {name}=v1,v2")
        vals = [v.strip() for v in values.split(",")]
        if not vals or any(not v for v in vals):
            raise SweepError(f"bad --param {pair!r}: empty value; write it as {name}=v1,v2,...")
        axes[name] = list(dict.fromkeys(vals))
    return axes


def parse_int_list(text: str | None, what: str) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise SweepError(f"bad --{what} {text!r}; write it as 1,8,64") from None
    if not values or any(v < 1 for v in values):
        raise SweepError(f"bad --{what} {text!r}: every value must be a positive integer")
    return list(dict.fromkeys(values))


def _typed(value: str) -> Any:
    """'4096' -> 4096, '2.5' -> 2.5, 'gelu' -> 'gelu' (for CSV, JSON and plot axes)."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        f = float(value)
        return f if math.isfinite(f) else value
    except ValueError:
        return value


@dataclass(frozen=True)
class SweepSpec:
    model: str
    axes: dict[str, list[str]]  # parameter -> values, in the order given
    batches: list[int] = field(default_factory=lambda: [1])
    hardware: list[str] = field(default_factory=list)  # chip ids, as resolved by hardware.spec.get
    precision: str = "fp32"
    dtype: str = "fp32"
    input_shape: list[int] | None = None
    weights: str | None = None
    tracer: str = "auto"
    runtime: str = "eager"  # engine.runtime
    cache: bool = True  # reuse graphs analysed before (graph_cache); travels with the spec to the workers

    def iter_points(self) -> Iterator[dict[str, Any]]:
        """The Cartesian product, one point at a time: parameters in the order given, batch last
        (fastest-varying). Nothing is built up front, whatever the size of the grid."""
        names = list(self.axes)
        for combo in itertools.product(*(self.axes[n] for n in names)):
            for b in self.batches:
                yield {"params": dict(zip(names, combo)), "batch": b}

    def points(self) -> list[dict[str, Any]]:
        return list(self.iter_points())

    def count(self) -> int:
        return math.prod(len(v) for v in self.axes.values()) * len(self.batches)

    def key(self, point: dict[str, Any]) -> str:
        return json.dumps({"model": self.model, "dtype": self.dtype, "input_shape": self.input_shape,
                           "weights": self.weights, "tracer": self.tracer, "params": point["params"],
                           "batch": point["batch"]}, sort_keys=True)

    def swept(self) -> list[str]:
        """Axes with more than one value, as row columns (`p.NAME`, `batch`), in the order given."""
        cols = [f"p.{n}" for n, v in self.axes.items() if len(v) > 1]
        return cols + (["batch"] if len(self.batches) > 1 else [])

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def label(point: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in point["params"].items()] + [f"batch={point['batch']}"]
    return " ".join(parts)


# --------------------------------------------------------------------------------------------------
# One point (runs in a worker process; imports torch through analysis)
# --------------------------------------------------------------------------------------------------

_HW_CACHE: dict[str, Any] = {}


def _chip(name: str):
    from perfgraph.hardware.spec import get

    if name not in _HW_CACHE:
        _HW_CACHE[name] = get(name)
    return _HW_CACHE[name]


def run_point(spec: SweepSpec, point: dict[str, Any]) -> dict[str, Any]:
    """Analyse one point and map it onto every chip; returns a record {key, point, row}. Never raises for
    a failing model: the row's `error` says why."""
    from perfgraph.analysis import analyze_graph, summarize

    row: dict[str, Any] = {"model": spec.model, "batch": point["batch"]}
    row.update({f"p.{k}": _typed(v) for k, v in point["params"].items()})
    started = time.perf_counter()
    try:
        mg = analyze_graph(spec.model, batch=point["batch"], dtype=spec.dtype, input_shape=spec.input_shape,
                           params=point["params"], weights=spec.weights,
                           tracers=None if spec.tracer == "auto" else (spec.tracer,), use_cache=spec.cache)
        s = summarize(mg, top=0)
        for key in GRAPH_METRICS:
            row[key] = s[key]
        if spec.hardware:
            from perfgraph.engine.model_mapping import map_model

            stages = {sg.index: sg.stage for sg in mg.subgraphs}
            for chip in spec.hardware:
                mm = map_model(mg, _chip(chip), spec.precision, stages, runtime=spec.runtime)
                values = {"latency_s": mm.latency_sequential_s, "latency_concurrent_s": mm.latency_concurrent_s,
                          "throughput_per_s": mm.throughput_per_s, "energy_per_sample_j": mm.energy_per_sample_j,
                          "utilization": mm.achieved_fraction_of_peak, "peak_memory_bytes": mm.peak_memory_bytes}
                for key in CHIP_METRICS:
                    row[f"{key}@{chip}"] = values[key]
        row["id"] = mg.info.id
        row["status"] = "ok"
        row["error"] = ""
    except Exception as exc:  # noqa: BLE001 - one failing point must not end the sweep
        row["status"] = "failed"
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        row["error"] = f"{type(exc).__name__}: {lines[0][:300] if lines else ''}".rstrip(": ")
    row["seconds"] = round(time.perf_counter() - started, 3)
    return {"key": spec.key(point), "point": point, "hardware": list(spec.hardware), "precision": spec.precision,
            "runtime": spec.runtime, "row": row}


def _worker_init() -> None:
    # Ctrl-C goes to the whole process group: let only the parent handle it (it terminates the pool).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import warnings

    warnings.filterwarnings("ignore")


# Imported once by the fork server, so that workers fork with torch and the tracer already loaded.
PRELOAD = ["torch", "torchvision", "perfgraph.analysis", "perfgraph.ingest.trace", "perfgraph.ingest.sources",
           "perfgraph.engine.model_mapping"]


def _context():
    """Workers never fork from this process (it may have run torch and started its thread pools): a fork
    server that has only imported torch and perfgraph forks them, which saves each worker the seconds of
    importing torch; `spawn` where there is no fork server (Windows)."""
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return mp.get_context("spawn")


# --------------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    spec: SweepSpec
    rows: list[dict[str, Any]]  # in point order
    out_dir: Path
    reused: int  # points taken from points.jsonl (--resume)
    ran: int
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Points whose analysis failed (not those the model rejects as invalid combinations)."""
        return [r for r in self.rows if r.get("status") == "failed"]

    @property
    def invalid(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("status") == "invalid"]


def load_records(path: Path) -> dict[str, dict[str, Any]]:
    """key -> the last record for it in a points.jsonl; a torn last line (killed mid-write) is ignored."""
    records: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return records
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "key" in rec and "row" in rec:
            records[rec["key"]] = rec
    return records


def invalid_record(spec: SweepSpec, p: dict[str, Any]) -> dict[str, Any] | None:
    """An error record if the model source rejects this point's combination of parameters (resolving a
    spec builds nothing: it parses and validates the parameters), so a bad combination costs no tracing."""
    from perfgraph.ingest.model_source import ModelSourceError
    from perfgraph.ingest.sources import resolve

    try:
        resolve(spec.model, batch=p["batch"], input_shape=spec.input_shape, params=p["params"], weights=spec.weights)
    except ModelSourceError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        row = {"model": spec.model, "batch": p["batch"], **{f"p.{k}": _typed(v) for k, v in p["params"].items()},
               "status": "invalid", "error": f"{type(exc).__name__}: {first}", "seconds": 0.0}
        return {"key": spec.key(p), "point": p, "hardware": list(spec.hardware), "precision": spec.precision,
                "runtime": spec.runtime, "row": row}
    return None


def precheck(spec: SweepSpec, points: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """key -> an error record for each point whose parameters the model source rejects."""
    return {rec["key"]: rec for rec in (invalid_record(spec, p) for p in points) if rec is not None}


def check_values(spec: SweepSpec) -> None:
    """Every value of every axis must be valid on its own (a known parameter, a value that parses and is in
    range): `-p width=8,abc` is a typo to report before anything runs, not a point to skip. Each value is
    resolved with the other axes at their first value; combinations that do not fit together (hidden not
    divisible by heads) are left to `invalid_record`."""
    from perfgraph.ingest.model_source import BadParameterError
    from perfgraph.ingest.sources import resolve

    first = {name: values[0] for name, values in spec.axes.items()}
    for name, values in spec.axes.items():
        for value in values:
            try:
                resolve(spec.model, batch=spec.batches[0], input_shape=spec.input_shape,
                        params={**first, name: value}, weights=spec.weights)
            except BadParameterError as exc:
                raise SweepError(f"-p {name}: {str(exc).strip().splitlines()[0]}") from None
            except Exception:  # noqa: BLE001 - a combination problem: that point is recorded as invalid
                pass


def check_size(spec: SweepSpec, max_points: int | None) -> int:
    """The number of points, or a SweepError when it is over `max_points` (None or 0: no cap)."""
    total = spec.count()
    if not total:
        raise SweepError("nothing to sweep")
    if max_points and total > max_points:
        sizes = " x ".join(str(len(v)) for v in [*spec.axes.values(), spec.batches] if len(v) > 1)
        raise SweepError(f"the sweep has {total:,} points ({sizes}), over the cap of {max_points:,}; "
                         "narrow the axes, or raise the cap with --max-points N (0: no cap)")
    return total


def _reusable(rec: dict[str, Any] | None, spec: SweepSpec) -> bool:
    return (rec is not None and not rec["row"].get("error") and rec.get("precision") == spec.precision
            and rec.get("runtime", "compiled") == spec.runtime and set(spec.hardware) <= set(rec.get("hardware") or []))


def validate_chips(names: Iterable[str], precision: str) -> list[str]:
    """Resolve chip names to ids (one-line errors for unknown chips and unsupported precisions)."""
    ids = []
    for name in names:
        hw = _chip(name)
        hw.resolve_precision(precision)
        _HW_CACHE[hw.id] = hw
        ids.append(hw.id)
    return list(dict.fromkeys(ids))


def run_sweep(spec: SweepSpec, out_dir: str | os.PathLike, *, jobs: int = 1, resume: bool = False,
              overwrite: bool = False, on_start: Callable[[int, int], None] | None = None,
              on_point: Callable[[dict[str, Any]], None] | None = None,
              max_points: int | None = MAX_POINTS) -> SweepResult:
    """Run every point not already done, appending each finished one to `out_dir/points.jsonl`, then
    write `sweep.json` and `sweep.csv`. `on_start(todo, reused)` is called once before the first point,
    `on_point(record)` after each. Ctrl-C raises `SweepInterrupted` with the finished points on disk.

    Before anything runs: the grid's size against `max_points` (None or 0: no cap) and every axis value on
    its own (`check_values`). The points are then generated one at a time, never as a list; at most
    2 x `jobs` are in flight."""
    total = check_size(spec, max_points)
    check_values(spec)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / JSONL
    if jsonl.exists() and jsonl.stat().st_size and not (resume or overwrite):
        n = len(load_records(jsonl))
        raise SweepError(f"{jsonl} already holds {n} points; pass --resume to continue that sweep, "
                         "or --overwrite to start again")
    if overwrite and not resume and jsonl.exists():
        jsonl.unlink()
    stored = load_records(jsonl) if resume else {}
    done: dict[str, dict[str, Any]] = {}

    def todo_points() -> Iterator[dict[str, Any]]:
        for p in spec.iter_points():
            rec = stored.get(spec.key(p))
            if _reusable(rec, spec):
                done[rec["key"]] = rec
            else:
                yield p

    todo = sum(1 for _ in todo_points())
    reused = len(done)
    if todo and not reused:  # every point rejected: a plain one-line error, not a sweep of skipped points
        first_invalid = None
        for p in todo_points():
            rec = invalid_record(spec, p)
            if rec is None:
                break
            first_invalid = first_invalid or (p, rec)
        else:
            p, rec = first_invalid
            raise SweepError(rec["row"]["error"].split(": ", 1)[-1] + (f" (at {label(p)})" if todo > 1 else ""))
    if on_start:
        on_start(todo, reused)

    def finished(rec: dict[str, Any], fh) -> None:
        fh.write(json.dumps(rec, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
        done[rec["key"]] = rec
        if on_point:
            on_point(rec)

    ran = 0

    def runnable(fh) -> Iterator[dict[str, Any]]:
        """The points to analyse; those the model rejects are recorded on the way, without running."""
        nonlocal ran
        for p in todo_points():
            rec = invalid_record(spec, p)
            if rec is not None:
                finished(rec, fh)
            else:
                ran += 1
                yield p

    with open(jsonl, "a") as fh:
        if jobs <= 1 or todo <= 1:
            try:
                for p in runnable(fh):
                    finished(run_point(spec, p), fh)
            except KeyboardInterrupt:
                raise SweepInterrupted(len(done), total, jsonl) from None
        else:
            _run_parallel(spec, runnable(fh), lambda rec: finished(rec, fh), jobs, total, jsonl, done)

    rows = [done[spec.key(p)]["row"] for p in spec.iter_points()]
    result = SweepResult(spec, rows, out, reused, ran)
    result.files["jsonl"] = jsonl
    result.files["json"] = write_json(result, out / "sweep.json")
    result.files["csv"] = write_csv(rows, out / "sweep.csv")
    return result


def _run_parallel(spec: SweepSpec, points: Iterator[dict[str, Any]], finished: Callable[[dict[str, Any]], None],
                  jobs: int, total: int, jsonl: Path, done: dict[str, Any]) -> None:
    """Analyse `points` in a pool of `jobs` workers, taking the next point only when fewer than 2 x `jobs`
    are in flight (Pool.imap would pull the whole generator in at once)."""
    import queue

    results: queue.Queue = queue.Queue()
    pool = _context().Pool(jobs, initializer=_worker_init)
    in_flight = 0
    try:
        for p in points:
            while in_flight >= 2 * jobs:
                finished(results.get())
                in_flight -= 1
            pool.apply_async(run_point, (spec, p), callback=results.put,
                             error_callback=lambda exc, p=p: results.put(_failed_record(spec, p, exc)))
            in_flight += 1
        while in_flight:
            finished(results.get())
            in_flight -= 1
        pool.close()
    except KeyboardInterrupt:
        pool.terminate()
        raise SweepInterrupted(len(done), total, jsonl) from None
    finally:
        pool.terminate()
        pool.join()


def _failed_record(spec: SweepSpec, p: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """The record of a point whose worker itself failed (run_point never raises for a failing model)."""
    row = {"model": spec.model, "batch": p["batch"], **{f"p.{k}": _typed(v) for k, v in p["params"].items()},
           "status": "failed", "error": f"{type(exc).__name__}: {str(exc).strip()[:300]}", "seconds": 0.0}
    return {"key": spec.key(p), "point": p, "hardware": list(spec.hardware), "precision": spec.precision,
            "runtime": spec.runtime, "row": row}


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every key of every row, first-seen order, `error` and `seconds` last."""
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    tail = [c for c in ("id", "seconds", "status", "error") if c in cols]
    return [c for c in cols if c not in tail] + tail


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns(rows), restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_json(result: SweepResult, path: Path) -> Path:
    doc = {"sweep": result.spec.as_dict(), "swept": result.spec.swept(), "points": len(result.rows),
           "failed": len(result.failed), "invalid": len(result.invalid), "rows": result.rows}
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return path


# --------------------------------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------------------------------


def _fmt_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _axis_title(col: str) -> str:
    return col[2:] if col.startswith("p.") else col


def plot(result_or_rows: SweepResult | list[dict[str, Any]], metric: str, path: str | os.PathLike, *,
         x: str | None = None, spec: SweepSpec | None = None, title: str | None = None) -> Path:
    """Plot `metric` against the swept axis `x` (default: the first axis with several values). One line
    per combination of the other swept axes (and per chip for chip metrics). Log axes where the values
    span more than a factor of 8 (x, base 2 for powers of two) or 30 (y). Returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter, FuncFormatter, LogLocator, NullFormatter

    if isinstance(result_or_rows, SweepResult):
        spec = result_or_rows.spec
        rows = result_or_rows.rows
    else:
        rows = list(result_or_rows)
    if spec is None:
        raise SweepError("plot needs the sweep spec")
    key = metric_key(metric)
    m = METRICS[key]
    swept = spec.swept()
    if x is None:
        if not swept:
            raise SweepError("nothing is swept (every axis has one value): nothing to plot against")
        xcol = swept[0]
    else:
        xcol = x_column(spec, x)
    others = [c for c in swept if c != xcol]
    chips = list(spec.hardware) if m.per_chip else [None]
    if m.per_chip and not chips:
        raise SweepError(f"metric {key} is predicted per chip: add --hardware (e.g. --hardware h100-sxm)")

    ok_rows = [r for r in rows if not r.get("error")]
    if not ok_rows:
        raise SweepError("no point finished without error: nothing to plot")
    xs_all = list(dict.fromkeys(r[xcol] for r in rows))
    numeric_x = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs_all)

    series: dict[tuple, list[tuple[Any, float]]] = {}
    for r in ok_rows:
        group = tuple(r[c] for c in others)
        for chip in chips:
            col = f"{key}@{chip}" if chip else key
            val = r.get(col)
            if val is None or (isinstance(val, float) and not math.isfinite(val)):
                continue
            series.setdefault((*group, chip), []).append((r[xcol], float(val)))

    fig, ax = plt.subplots(figsize=(8.0, 5.0), dpi=120)
    markers = "osD^v<>ph*"
    styles = ["-", "--", ":", "-."]
    group_keys = list(dict.fromkeys(k[:-1] for k in series))
    for (i_s, (sk, pts)) in enumerate(series.items()):
        group, chip = sk[:-1], sk[-1]
        if numeric_x:
            pts = sorted(pts)
            xs = [p[0] for p in pts]
        else:
            order = {v: i for i, v in enumerate(xs_all)}
            pts = sorted(pts, key=lambda p: order[p[0]])
            xs = [order[p[0]] for p in pts]
        parts = [f"{_axis_title(c)}={_fmt_value(v)}" for c, v in zip(others, group)]
        if chip:
            parts.append(chip)
        name = ", ".join(parts) or spec.model
        # Colour (and marker) per combination of the other axes, dash style per chip; with one
        # combination only, colour per chip too.
        several_chips = bool(chip) and len(chips) > 1
        if several_chips and len(group_keys) > 1:
            color_idx = group_keys.index(group)
        elif several_chips:
            color_idx = chips.index(chip)
        else:
            color_idx = i_s
        style = styles[chips.index(chip) % len(styles)] if several_chips else "-"
        ax.plot(xs, [p[1] for p in pts], linestyle=style, marker=markers[color_idx % len(markers)],
                color=f"C{color_idx % 10}", label=name, linewidth=1.6, markersize=5)

    # x axis
    ax.set_xlabel(_axis_title(xcol))
    if numeric_x:
        xv = [float(v) for v in xs_all]
        if min(xv) > 0 and max(xv) / min(xv) >= 8:
            pow2 = all(float(v).is_integer() and int(v) & (int(v) - 1) == 0 for v in xv)
            ax.set_xscale("log", base=2 if pow2 else 10)
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(sorted(xv))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax.set_xticks(range(len(xs_all)))
        ax.set_xticklabels([_fmt_value(v) for v in xs_all])
    # y axis
    ys = [p[1] for pts in series.values() for p in pts]
    eng = EngFormatter(unit=m.unit, sep=" ")
    if ys and min(ys) > 0 and max(ys) / min(ys) >= 30:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(eng)
    ax.set_ylabel(m.label)  # the unit is on every tick label (EngFormatter)
    context = [f"traced in {spec.dtype}"]
    if "batch" not in swept:
        context.insert(0, f"batch {spec.batches[0]}")
    fixed = [f"{n}={v[0]}" for n, v in spec.axes.items() if len(v) == 1]
    if m.per_chip:
        context.append(f"chips compute in {spec.precision}")
    ax.set_title(title or f"{spec.model} — {m.label} vs {_axis_title(xcol)}", fontsize=12)
    fig.text(0.5, 0.005, " · ".join(context + fixed), ha="center", va="bottom", fontsize=8, color="0.35")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    if len(series) > 1:
        ax.legend(fontsize=8, frameon=False, ncol=2 if len(series) > 6 else 1)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def x_column(spec: SweepSpec, x: str) -> str:
    """The row column of plot axis `x` (a swept parameter name, or batch), or a SweepError."""
    swept = spec.swept()
    xcol = "batch" if x == "batch" else (x if x.startswith("p.") else f"p.{x}")
    if xcol not in swept:
        raise SweepError(f"--x {x}: not a swept axis; swept: {', '.join(_axis_title(c) for c in swept) or 'none'}")
    return xcol


def plot_name(metric: str, spec: SweepSpec, x: str | None = None) -> str:
    swept = spec.swept()
    xname = _axis_title(x or (swept[0] if swept else "x"))
    return f"{metric_key(metric)}_vs_{re.sub(r'[^A-Za-z0-9_.-]', '_', xname)}.png"
