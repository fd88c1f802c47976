"""Parameter sweeps: analyse a model over the Cartesian product of parameter values and batch sizes, map
each point onto chips, and write the results as JSONL (as points finish), JSON, CSV and a plot.

A **point** is one combination of parameter values and one batch size. Each point is independent: it is
traced, partitioned and costed on its own (`pipeline.analyze`), then mapped onto every requested chip
(`pipeline.map_onto`), so points run in parallel worker processes
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
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from perfgraph.sweep_plot import plot, plot_name, x_column  # noqa: F401 - the sweep's public names, in one place
from perfgraph.sweep_spec import (  # noqa: F401
    ALIASES, CHIP_METRICS, GRAPH_METRICS, JSONL, MAX_POINTS, METRICS, Metric, SweepError, SweepInterrupted,
    SweepSpec, _typed, label, metric_key, parse_axes, parse_int_list,
)

# --------------------------------------------------------------------------------------------------
# One point (runs in a worker process; imports torch through analysis)
# --------------------------------------------------------------------------------------------------

_HW_CACHE: dict[str, Any] = {}


def _chip(name: str):
    from perfgraph.hardware.registry import get

    if name not in _HW_CACHE:
        _HW_CACHE[name] = get(name)
    return _HW_CACHE[name]


def run_point(spec: SweepSpec, point: dict[str, Any]) -> dict[str, Any]:
    """Analyse one point and map it onto every chip; returns a record {key, point, row}. Never raises for
    a failing model: the row's `error` says why."""
    from perfgraph import pipeline

    row: dict[str, Any] = {"model": spec.model, "batch": point["batch"]}
    row.update({f"p.{k}": _typed(v) for k, v in point["params"].items()})
    started = time.perf_counter()
    try:
        mg = pipeline.analyze(spec.model_spec(point), cache=spec.cache)
        s = pipeline.summarize(mg, top=0)
        for key in GRAPH_METRICS:
            row[key] = s[key]
        for chip in spec.hardware:
            (mapped,) = pipeline.map_onto(mg, [_chip(chip)], [spec.precision], runtime=spec.runtime)
            for key in CHIP_METRICS:
                row[f"{key}@{chip}"] = mapped[key]
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
PRELOAD = ["torch", "torchvision", "perfgraph.pipeline", "perfgraph.analysis", "perfgraph.ingest.trace", "perfgraph.ingest.sources",
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


