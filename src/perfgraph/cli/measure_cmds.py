"""`perfgraph calibrate` and `perfgraph validate`: measure this machine, predict eager latency, compare."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from perfgraph.cli import output
from perfgraph.cli.group import cli
from perfgraph.vocab import Dtype, choices

NOISY_OTHER_CPU = 0.15  # other processes took more than this share of the CPUs: figures are suspect


def _default_threads() -> int:
    from perfgraph.measure.calibrate import thread_default

    return thread_default()


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:+.1f} %"


def _share(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f} %"


def _ms(s: float) -> str:
    return f"{s * 1e3:.3f}" if s < 0.01 else f"{s * 1e3:.2f}" if s < 1 else f"{s * 1e3:.0f}"


# Models whose predicted latency each calibration round is asked for: how much two calibrations would
# disagree. Reported only, never fitted to.
SPREAD_MODELS = ("resnet18", "mobilenet_v2", "efficientnet_b0", "vit_b_16")

@cli.command()
@click.option("--threads", "-t", type=click.IntRange(min=1), default=None,
              help="Threads (torch.set_num_threads) [default: physical cores].")
@click.option("--dtype", "dtypes", default="fp32", show_default=True, metavar="LIST",
              help="Comma-separated: fp32,bf16 (bf16 only where the CPU has avx512_bf16 / amx_bf16).")
@click.option("--quick", is_flag=True, help="A small grid (under 30 s): for tests and a first look.")
@click.option("--rounds", type=click.IntRange(min=1), default=None,
              help="Time the whole grid this many times in interleaved rounds and keep each case's lower median; "
                   "reports how far the rounds' tables alone disagree on the reference models "
                   f"({', '.join(SPREAD_MODELS)}) [default: 2, --quick 1].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto: the GPU when torch sees CUDA, else the CPU.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write the profile [default: $PERFGRAPH_HOME/calibration/local-<threads>t.json, "
                   "PERFGRAPH_HOME defaulting to ~/.perfgraph].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def calibrate(threads, dtypes, quick, rounds, device, out_path, as_json):
    """Microbenchmark this machine and store a calibration profile for `perfgraph validate`.

    Times GEMMs, convolutions (dense, grouped, depthwise), elementwise ops, norms, reductions, pooling,
    memory bandwidth per cache level and per-op dispatch overhead with torch, at a fixed thread count,
    under inference_mode. Never runs a model. About 2-3 minutes; --quick under 30 s.

    \b
    Examples:
      perfgraph calibrate                    # all physical cores, fp32
      perfgraph calibrate --threads 1 --quick
      perfgraph calibrate --dtype fp32,bf16 --out my-profile.json
    """
    import time

    from perfgraph.engine.calibrated import default_profile_path
    from perfgraph.measure.calibrate import run_calibration, table_quality

    dts = tuple(d.strip().lower() for d in dtypes.split(",") if d.strip())
    if not dts:
        raise click.UsageError("--dtype needs at least one of fp32, bf16")
    if device != "cuda" and threads is None:
        threads = _default_threads()
    notes: list[str] = []
    t0 = time.perf_counter()
    rounds = rounds or (1 if quick else 2)
    reference = {}
    if rounds > 1:
        from perfgraph import pipeline

        with output.status("tracing the reference models"):
            reference = {name: pipeline.analyze(pipeline.ModelSpec(name, dtype=dts[0])) for name in SPREAD_MODELS}
    profile = run_calibration(threads=threads, dtypes=dts, quick=quick, device=device,
                              progress=lambda total: output.progress(total, "calibrating"), notes=notes,
                              rounds=rounds, reference=reference)
    kind = profile.device.get("kind", "cpu")
    path = Path(out_path) if out_path else default_profile_path(threads, kind, str(profile.device.get("name", "")))
    profile.save(path)
    quality = table_quality(profile)
    summary = {
        "profile": str(path), "device": profile.device, "threads": threads if kind == "cpu" else None,
        "dtypes": profile.dtypes, "quick": quick, "seconds": round(time.perf_counter() - t0, 1),
        "overhead": profile.overhead, "levels": profile.levels, "noise": profile.noise, "anchors": profile.anchors,
        "tables": quality,
        "notes": notes,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    oh = profile.overhead
    output.print_rows([
        {"what": "device", "value": f"{profile.device.get('name')} ({kind}"
                                    + (f", {threads} threads)" if kind == "cpu" else ")")},
        {"what": "dispatch (tiny op)", "value": f"{oh['dispatch_s'] * 1e6:.2f} us"},
        {"what": "view / alloc", "value": f"{oh['view_s'] * 1e6:.2f} / {oh['alloc_s'] * 1e6:.2f} us"},
        {"what": "nn.Module call", "value": f"{oh['module_call_s'] * 1e6:.2f} us; wrappers "
                                            + ", ".join(f"{k} {v * 1e6:.1f}" for k, v in oh['module_extra_s'].items())
                                            + " us"},
        {"what": "fresh pages", "value": _fresh_line(oh)},
        *([{"what": "in-sequence", "value": _sequence_line(oh["sequence_fit"])}] if oh.get("sequence_fit") else []),
        *[{"what": f"bandwidth {lv['name']}", "value": f"{lv['copy_bytes_per_s'] / 1e9:.1f} GB/s copy, "
                                                       f"{lv['add_bytes_per_s'] / 1e9:.1f} GB/s add "
                                                       f"({output.human(lv['capacity_bytes'], 'B')})"}
          for lv in profile.levels],
        {"what": "noise (IQR/median)", "value": f"median {_share(profile.noise['median_iqr_over_median'])}, "
                                                f"p90 {_share(profile.noise['p90_iqr_over_median'])} over "
                                                f"{profile.noise['timings']} timings"},
        {"what": "machine load", "value": f"load {profile.noise['load_before']:.2f} -> {profile.noise['load_after']:.2f}; "
                                          f"other processes used {_share(profile.noise['other_cpu_share'])} of the CPUs"},
        {"what": "samples set aside", "value": f"{profile.noise.get('samples_rejected', 0)} of "
                                               f"{profile.noise.get('samples', 0)} (another process had our CPU); "
                                               f"{profile.noise.get('disturbed_timings', 0)} timings disturbed throughout"},
        *([{"what": "round spread", "value": _calibration_rounds_line(profile.noise["rounds"])}]
          if profile.noise.get("rounds") else []),
        {"what": "took", "value": f"{summary['seconds']:.1f} s"},
        {"what": "profile", "value": str(path)},
    ], title="calibration")
    output.print_rows([{"dtype": q["dtype"], "table": q["table"], "points": q["points"],
                        "best": output.human(q["best_rate"], "FLOP/s" if q["work"] == "flops" else "B/s"),
                        "interp. error (LOO median)": _share(q["loo_median_err"]),
                        "noise": _share(q["median_noise"])} for q in quality], title="tables")
    for note in notes:
        output.console.print(f"[yellow]note:[/] {note}")
    if profile.noise.get("disturbed_timings", 0) or (not math.isnan(profile.noise["other_cpu_share"])
                                                     and profile.noise["other_cpu_share"] > NOISY_OTHER_CPU):
        output.console.print("[yellow]warning:[/] other processes were busy while calibrating; "
                             "run again on a quiet machine for trustworthy numbers")


def _calibration_rounds_line(spread: dict) -> str:
    """'2 rounds: per case x1.04 median (p90 x1.12); predicted resnet18 x1.02, ... (max x1.05)'."""
    text = (f"{spread['rounds']} rounds: per case x{spread['case_spread_median']:.2f} median "
            f"(p90 x{spread['case_spread_p90']:.2f})")
    if spread.get("predicted"):
        text += "; predicted " + ", ".join(f"{k} x{v['spread']:.3f}" for k, v in spread["predicted"].items())
        text += f" (max x{spread['predicted_spread_max']:.3f}; two calibrations disagree about this much)"
    return text


def _faults_line(rows) -> str:
    """Measured page faults per run, and their share of the measured time at the calibrated cost: the
    allocator handing activation memory back to the kernel and faulting it in again on every run, which
    the predictor does not model below the fresh-page threshold (docs/calibration.md)."""
    faulting = [r for r in rows if not math.isnan(r.faulted_bytes) and r.faulted_bytes >= 1e6]
    if not faulting:
        return "none >= 1 MB per run"
    from perfgraph.measure.validate import error_summary

    share = sorted(r.fault_s / r.measured_s for r in faulting)[len(faulting) // 2]
    diag = error_summary([r.error_with_measured_faults for r in rows])
    return (f"{len(faulting)} of {len(rows)} rows fault in >= 1 MB per run (max "
            f"{max(r.faulted_bytes for r in faulting) / 1e6:.0f} MB); at the calibrated cost a median "
            f"{share:.0%} of their measured time; with the faults not predicted added (a diagnosis): median "
            f"|error| {diag['median_abs_error']:.1%}, within ±20 % {diag['within_20pct']:.0%}")


def _rounds_line(rows) -> str:
    """How far a row's rounds lie apart, and what round 1 alone would have scored."""
    from perfgraph.measure.validate import error_summary

    spread = sorted(max(r.round_medians_s) / min(r.round_medians_s) for r in rows)[len(rows) // 2]
    first = error_summary([r.predicted_s / r.round_medians_s[0] - 1 for r in rows])
    return (f"a row's slowest round / fastest: median x{spread:.2f}; round 1 alone: median |error| "
            f"{first['median_abs_error']:.1%}, within ±20 % {first['within_20pct']:.0%}")


def _fresh_line(oh: dict) -> str:
    """The fresh-page line: the threshold, the cost, and the buffers a convolution adds (if counted)."""
    if not oh.get("fresh_page_threshold_bytes"):
        return "no mmap-threshold cliff found"
    line = (f"outputs above {output.human(oh['fresh_page_threshold_bytes'], 'B')} fault in: "
            f"{oh['fresh_page_s_per_byte'] * 1e12:.0f} ms/GB")
    if oh.get("conv_input_copies") is not None:
        line += (f"; a convolution adds {oh['conv_input_copies']:.0f} input- and "
                 f"{oh['conv_output_copies']:.0f} output-sized buffers")
    return line


def _sequence_line(fit: dict) -> str:
    """The in-sequence term and its fit, in one line."""
    share = fit.get("sequence_time_share") or 0.0  # the time-proportional part, off by default
    line = (f"{fit.get('sequence_op_s', 0.0) * 1e6:.1f} us per op + "
            + (f"{share:.1%} of the op time + " if share else "")
            + f"{fit.get('sequence_s_per_byte', 0.0) * 1e12:.2f} ms/GB of activations "
            f"({len(fit.get('networks', []))} synthetic networks, mean error "
            f"{fit.get('fit_mean_error_before', 0.0):+.0%} -> {fit.get('fit_mean_error_after', 0.0):+.0%}")
    shares = fit.get("round_term_share") or []
    if shares:
        line += f"; term {min(shares):.0%}-{max(shares):.0%} of a network's time over {len(shares)} rounds"
    return line + ")"


def _parse_batches(text: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r}: write batch sizes like 1,8") from None
    if not out or any(b < 1 for b in out):
        raise click.BadParameter(f"{text!r}: batch sizes must be positive integers")
    return out


@cli.command()
@click.argument("models", nargs=-1, required=True)
@click.option("--batch", "-b", "batches", default="1", show_default=True, metavar="LIST",
              help="Comma-separated batch sizes, e.g. 1,8.")
@click.option("--threads", "-t", type=click.IntRange(min=1), default=None,
              help="Threads [default: physical cores]; the profile local-<threads>t.json must exist.")
@click.option("--runs", default=10, show_default=True, type=click.IntRange(min=1), help="Timed runs (median).")
@click.option("--warmup", default=2, show_default=True, type=click.IntRange(min=0), help="Untimed runs first.")
@click.option("--rounds", default=1, show_default=True, type=click.IntRange(min=1),
              help="Measure every row this many times, in rounds over all rows; a row's latency is the median "
                   "of its rounds (on a shared host one pass catches one phase of its speed: use 6).")
@click.option("--dtype", default=Dtype.FP32.value, show_default=True, type=click.Choice(choices(Dtype)),
              help="Tensor dtype; the profile needs a table for it (`perfgraph calibrate --dtype`).")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="Model parameter, repeatable.")
@click.option("--input-shape", default=None, metavar="N,C,H,W", help="Input shape (user models).")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False), default=None,
              help="Calibration profile [default: the one for this thread count, or this GPU's].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto: the GPU when torch sees CUDA, else the CPU.")
@click.option("--correct-drift", is_flag=True,
              help="Scale each prediction by how much slower (or faster) the profile's anchor microbenchmarks run "
                   "now than at calibration (their median ratio), so the profile's host phase drops out.")
@click.option("--json", "as_json", is_flag=True, help="Rows and summary as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Rows as CSV.")
def validate(models, batches, threads, runs, warmup, rounds, dtype, params, input_shape, profile_path, device,
             correct_drift, as_json, as_csv):
    """Measure MODELS' real eager latency here and compare with the calibrated prediction.

    Each model is built with weights=None on the CPU, run under inference_mode at a fixed thread count
    (warm-up, then the median of --runs; runs during which another process took our CPU are set aside and
    retaken), and traced for the prediction; with --rounds N every row is measured again in N-1 later
    rounds over all rows and its latency is the median of its rounds. Prints predicted vs measured,
    the error per model, and a summary: median |error| and the share within ±10 % and ±20 %, with the
    machine's load while measuring.

    \b
    Examples:
      perfgraph calibrate && perfgraph validate resnet18 mobilenet_v2 --batch 1,8
      perfgraph validate synthetic:mlp -p width=2048 --runs 20 --csv
    """
    from perfgraph.engine.calibrated import CalibrationProfile, default_profile_path
    from perfgraph.ingest.sources import parse_params, parse_shape
    from perfgraph.measure.validate import error_summary, measure_eager, validate_one, with_rounds

    if as_json and as_csv:
        raise click.UsageError("--json and --csv are exclusive")
    bs = _parse_batches(batches)
    threads = threads or _default_threads()
    if device == "auto" and not profile_path:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if profile_path:
        path = Path(profile_path)
    elif device == "cuda":
        import torch

        path = default_profile_path(device="cuda", device_name=torch.cuda.get_device_name())
    else:
        path = default_profile_path(threads)
    profile = CalibrationProfile.load(path)
    if profile.device.get("kind") == "cpu" and profile.device.get("threads") not in (None, threads):
        raise click.UsageError(f"{path} was calibrated with {profile.device.get('threads')} threads, "
                               f"not {threads}: pass --threads {profile.device.get('threads')} or calibrate again")
    if dtype not in profile.dtypes:
        raise click.UsageError(f"{path} has no {dtype} table (it has {', '.join(profile.dtypes) or 'none'}): "
                               f"run `perfgraph calibrate --dtype {dtype}` first")
    device = "cuda" if profile.device.get("kind") == "cuda" else "cpu"
    pp = parse_params(params)
    shape = None if input_shape is None else parse_shape(input_shape)
    rows = []
    jobs = [(m, b) for m in models for b in bs]
    later: list[list] = [[] for _ in jobs]
    with output.progress(len(jobs) * rounds, "validating") as advance:
        for m, b in jobs:
            advance(f"{m} batch {b}" + (f", round 1/{rounds}" if rounds > 1 else ""))
            rows.append(validate_one(m, profile, batch=b, threads=threads, runs=runs, warmup=warmup, dtype=dtype,
                                     input_shape=shape, params=pp, device=device, correct_drift=correct_drift))
        for r in range(2, rounds + 1):
            for i, (m, b) in enumerate(jobs):
                advance(f"{m} batch {b}, round {r}/{rounds}")
                later[i].append(measure_eager(m, batch=b, threads=threads, runs=runs, warmup=warmup, dtype=dtype,
                                              input_shape=shape, params=pp, device=device))
    rows = [with_rounds(row, more, profile.fresh_page_s_per_byte) for row, more in zip(rows, later)]
    summary = error_summary([r.error for r in rows])
    shares = [r.other_cpu_share for r in rows if not math.isnan(r.other_cpu_share)]
    conditions = {"threads": threads, "runs": runs, "warmup": warmup, "rounds": rounds, "profile": str(path),
                  "correct_drift": correct_drift,
                  "profile_created": profile.created, "profile_quick": profile.quick,
                  "max_other_cpu_share": max(shares) if shares else float("nan"),
                  "median_noise": sorted(r.noise for r in rows)[len(rows) // 2],
                  "drift": {k: sorted(r.drift[k] for r in rows if k in r.drift)[len(rows) // 2]
                            for k in (rows[0].drift if rows else {})},
                  "rejected_runs": sum(r.rejected_runs for r in rows),
                  "disturbed_rows": sum(1 for r in rows if r.disturbed)}
    if as_json:
        click.echo(json.dumps({"rows": [r.as_dict() for r in rows], "summary": summary, "conditions": conditions},
                              indent=2))
        return
    if as_csv:
        output.write_csv([r.as_dict() for r in rows], stream=sys.stdout)
        return
    from rich.table import Table

    how = f"median of {runs} runs" + (f", median of {rounds} rounds" if rounds > 1 else "")
    table = Table(title=f"eager latency, {dtype}, {threads} threads ({how})", title_justify="left")
    table.add_column("model", no_wrap=True)
    # the page faults column only when some row faulted in memory (it explains errors; docs/calibration.md)
    faults = any(not math.isnan(r.faulted_bytes) and r.faulted_bytes >= 1e6 for r in rows)
    for col in ("batch", "predicted ms", "measured ms", "error", "noise", "runs (set aside)",
                *(["faulted MB/run"] if faults else [])):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r.model, str(r.batch), _ms(r.predicted_s), _ms(r.measured_s), _pct(r.error), _share(r.noise),
                      f"{r.runs} ({r.rejected_runs})" + (" disturbed" if r.disturbed else ""),
                      *([f"{r.faulted_bytes / 1e6:.0f}"] if faults else []))
    output.console.print(table)
    output.print_rows([
        {"what": "models x batches", "value": str(summary["n"])},
        {"what": "median |error|", "value": _share(summary["median_abs_error"])},
        {"what": "within ±10 %", "value": _share(summary["within_10pct"])},
        {"what": "within ±20 %", "value": _share(summary["within_20pct"])},
        {"what": "mean error (bias)", "value": _pct(summary["mean_error"])},
        {"what": "noise (median IQR/median)", "value": _share(conditions["median_noise"])},
        {"what": "others' CPU share (max)", "value": _share(conditions["max_other_cpu_share"])},
        {"what": "machine speed drift", "value": ", ".join(f"{k} x{v:.2f}" for k, v in conditions["drift"].items())
                                                 + " (anchor time now / at calibration, median)"
                                                 if conditions["drift"] else "n/a (profile has no anchors)"},
        *([{"what": "rounds", "value": _rounds_line(rows)}] if rounds > 1 else []),
        {"what": "page faults (measured)", "value": _faults_line(rows)},
        {"what": "runs set aside (disturbed)", "value": f"{conditions['rejected_runs']} of "
                                                        f"{conditions['rejected_runs'] + sum(r.runs for r in rows)}"
                                                        + (f"; {conditions['disturbed_rows']} rows disturbed"
                                                           if conditions["disturbed_rows"] else "")},
    ], title="summary")
    if conditions["disturbed_rows"]:
        output.console.print("[yellow]warning:[/] other processes kept taking the CPUs: rows marked 'disturbed' "
                             "are medians over disturbed runs, inflated; measure again on a quiet machine")
