"""`perfgraph calibrate`: microbenchmarks on this machine -> a `CalibrationProfile`.

Only single ops on synthetic tensors are run, never a model (so a model validated against the
profile played no part in fitting it).  Everything runs under `torch.inference_mode()` at a fixed
thread count (`torch.set_num_threads`), each timing with warm-up and a median over samples
(`measure.timing.Timer`); samples during which another process took our CPU are discarded and retaken,
and cases timed while a probe conv says the machine was in a slow phase are timed again at the end.

Data is reused at the distance a model reuses it (`measure.cases`): cold weights, hot inputs, rotating
operands and outputs.

What is measured (the grids, `measure.grids`, are generic shapes, chosen once, not taken from any model;
bandwidth, overheads and the machine's facts are `measure.probes`):

* GEMM (`F.linear`: addmm) over M x N x K from 1 to 4096 — M = 1 and 8 are the skinny batch-1/8 linear
  layers; batched GEMM (`torch.bmm`) over batch x sequence x head-size shapes.
* conv2d (`F.conv2d`, NCHW, as eager runs it through oneDNN): 1x1, 3x3, 5x5, 7x7 and stems, strides 1
  and 2, channels 16..2048, outputs 7x7..112x112, batch 1 and 8; grouped convs (2..64 groups);
  depthwise 3x3, 5x5, 7x7.
* elementwise ops (relu, add, mul, broadcast mul, sigmoid, silu, gelu, hardswish, hardsigmoid,
  hardtanh, strided copy) from 256 to 16 M elements; batch norm, layer norm, softmax, mean, max/avg
  pooling, adaptive pooling and cat over sizes and inner extents.
* memory bandwidth: copy and add over working sets from 16 KiB to 256 MiB (L1, L2, L3, DRAM).
* overheads: a tiny op (dispatch), a view, an allocation, a bare nn.Module call, and the cost of the
  module wrapper around conv, norm, linear, activation and pooling ops.

A point's features come from `engine.calibrated_features`, the functions the predictor uses.
"""

from __future__ import annotations

import datetime as _dt
import os
import statistics
import time
from typing import Any, Callable

from perfgraph.engine.calibrated_features import MEMORY_TABLE_FEATURES, TABLE_LAYOUT
from perfgraph.engine.calibration_profile import CalibrationProfile
from perfgraph.engine.calibration_table import Table, cross_validate
from perfgraph.measure.cases import TORCH_DTYPES, Case, CaseBuilder, point_features, table_cases
from perfgraph.measure.grids import bandwidth_sizes
from perfgraph.measure.probes import (
    bf16_supported, count_conv_copies_fresh, detect_im2col_path, device_info, measure_anchors, measure_bandwidth,
    measure_fresh_pages, measure_overheads, memory_levels,
)
from perfgraph.measure.timing import CpuActivity, Timer


def run_calibration(*, threads: int | None = None, dtypes: tuple[str, ...] = ("fp32",), quick: bool = False,
                    device: str = "auto", progress: Callable[[int], Any] | None = None,
                    notes: list[str] | None = None, sequence: bool = True, rounds: int = 1,
                    reference: "dict[str, Any] | None" = None, phase_scaling: bool = False) -> CalibrationProfile:
    """Run the microbenchmarks and return the profile (not saved).

    `rounds`: time every case that many times, in interleaved rounds over the whole grid (a shared host's
    slow phase then hits one round of every case, not every round of a few), and keep per case the lower
    median of its rounds. With more than one round, `profile.noise["rounds"]` reports the spread: per case,
    slowest / fastest round; and per `reference` graph (name -> ModelGraph), the latency each round's
    tables alone predict, slowest / fastest -- what two calibrations would disagree by.

    `progress(total)` is a context manager factory yielding `advance(label)` (like `cli.output.progress`).
    `notes` collects one-line remarks (skipped dtypes, ...).  `sequence`: fit the in-sequence term on
    synthetic networks (`measure.sequences`, CPU only) after the tables; `phase_scaling`: time the probe conv
    around each network and bring its time to the tables' phase (`measure.sequences.phase_scale`) -- off by
    default: measured, it did not make two calibrations agree better (docs/calibration.md).
    """
    import contextlib

    import torch

    notes = notes if notes is not None else []
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: torch sees no CUDA device")
    prev_threads = torch.get_num_threads()
    if device == "cpu":
        threads = int(threads or prev_threads)
        torch.set_num_threads(threads)
    keep: list[str] = []
    for dt in dtypes:
        if dt not in TORCH_DTYPES:
            raise ValueError(f"unknown dtype {dt!r}; choose from {', '.join(TORCH_DTYPES)}")
        if dt == "bf16" and device == "cpu":
            ok, why = bf16_supported(torch)
            if not ok:
                notes.append(f"bf16 skipped: {why}")
                continue
        keep.append(dt)
    if not keep:
        raise ValueError("no dtype left to calibrate")
    timer = (Timer(device, budget_s=0.03, min_samples=3, max_samples=9, warmup=1, attempts=2) if quick
             else Timer(device, budget_s=0.1))
    t_start = time.perf_counter()
    im2col_max = detect_im2col_path(torch) if device == "cpu" else 0
    levels = memory_levels(torch, device)
    llc = max((lv["capacity_bytes"] for lv in levels if lv["kind"] == "cache"), default=32 * 2 ** 20)
    builders = {dt: CaseBuilder(torch, device, dt, im2col_max, threads or 1, pool_bytes=2 * llc) for dt in keep}
    cases = {dt: table_cases(cb, quick) for dt, cb in builders.items()}
    bw_sizes = bandwidth_sizes(quick)
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    total = 1 + 2 * len(bw_sizes) + rounds * sum(len(c) for c in cases.values())
    ctx = progress(total) if progress else contextlib.nullcontext(lambda label: None)
    tables: dict[str, dict[str, Table]] = {}
    bandwidth: dict[str, list[list[float]]] = {"copy": [], "add": []}
    torch.manual_seed(0)
    with CpuActivity() as activity, torch.inference_mode(), ctx as advance:
        try:
            # Warm up first (thread pool, oneDNN JIT, allocator, clocks): timings taken early in a
            # process run slow (docs/calibration.md).
            t_warm = time.perf_counter()
            while time.perf_counter() - t_warm < (0.2 if quick else 1.0):
                torch.nn.functional.conv2d(torch.randn(1, 32, 28, 28, device=device),
                                           torch.randn(32, 32, 3, 3, device=device), None, 1, 1)
            bw_timing = {}
            for which in ("copy", "add"):
                for size in bw_sizes:
                    advance(f"bandwidth {which} {size / 2 ** 20:g} MiB")
                    bw_timing[(which, size)] = measure_bandwidth(torch, device, timer, size, which)
            # The machine's speed itself drifts (a shared host: other tenants' memory traffic, clocks),
            # invisibly to the interference counters.  A small conv, timed before every few cases, tracks
            # it; cases timed while the probe ran > SLOW_PHASE x its best are measured again at the end.
            probe = builders[keep[0]].conv(1, 32, 28, 32, 3, 1, 1).setup()
            probe_t: list[float] = []

            def speed() -> float:
                probe_t.append(timer.time(probe, budget_s=0.01).median_s)
                return probe_t[-1]

            phase: dict[tuple[str, int], float] = {}
            by_round: dict[tuple[str, int], list] = {}
            for r in range(rounds):
                for dt, dt_cases in cases.items():
                    for i, case in enumerate(dt_cases):
                        advance(f"{dt} {case.label}" + (f" (round {r + 1}/{rounds})" if rounds > 1 else ""))
                        if i % 5 == 0:
                            now = speed()
                        by_round.setdefault((dt, i), []).append(_time_case(timer, case))
                        phase[(dt, i)] = max(phase.get((dt, i), 0.0), now)
            timings = {key: _lower_median(tms) for key, tms in by_round.items()}
            best_speed = min(probe_t)
            slow = [key for key, v in phase.items() if v > SLOW_PHASE * best_speed] if not quick else []
            for key in slow:
                if speed() > SLOW_PHASE * best_speed:
                    time.sleep(0.2)  # still slow: one more chance
                    if speed() > SLOW_PHASE * best_speed:
                        continue
                tm = _time_case(timer, cases[key[0]][key[1]])
                if not tm.disturbed and tm.median_s < timings[key].median_s:
                    timings[key] = tm
            # Timings another process disturbed throughout get up to two more chances at the end.
            for _ in range(2):
                again = [key for key, tm in timings.items() if tm.disturbed]
                bw_again = [key for key, (_, tm) in bw_timing.items() if tm.disturbed]
                if not again and not bw_again:
                    break
                time.sleep(0.5)
                for key in again:
                    tm = _time_case(timer, cases[key[0]][key[1]])
                    if not tm.disturbed or tm.median_s < timings[key].median_s:
                        timings[key] = tm
                for key in bw_again:
                    bw, tm = measure_bandwidth(torch, device, timer, key[1], key[0])
                    if not tm.disturbed or bw > bw_timing[key][0]:
                        bw_timing[key] = (bw, tm)
            for (which, size), (bw, _) in sorted(bw_timing.items()):
                bandwidth[which].append([float(size), bw])
            # the overheads and anchors last, on a process that has run for a while
            advance("overheads")
            overhead = measure_overheads(torch, device, timer)
            if device == "cpu":
                overhead.update(measure_fresh_pages(torch, timer, quick))
                overhead.update(count_conv_copies_fresh(overhead["fresh_page_threshold_bytes"], threads))
            anchors = measure_anchors(torch, device, timer)
            tables = _build_tables(cases, timings)
            # Interference only ever slows a timing down.  A point much slower than its neighbours
            # predict is measured once more, and the faster of the two medians is kept (a genuinely
            # slow shape measures slow twice and stays).
            suspects = _slow_outliers(cases, timings, tables) if not quick else []
            for key in suspects:
                tm = _time_case(timer, cases[key[0]][key[1]])
                if not tm.disturbed and tm.median_s < timings[key].median_s:
                    timings[key] = tm
            if suspects:
                tables = _build_tables(cases, timings)
            disturbed_left = sum(1 for tm in timings.values() if tm.disturbed) + sum(
                1 for _, tm in bw_timing.values() if tm.disturbed)
        finally:
            if device == "cpu":
                torch.set_num_threads(prev_threads)
    duration = time.perf_counter() - t_start
    dev = device_info(torch, device, threads or 0)
    if device == "cpu":
        dev["conv_im2col_max_input"] = im2col_max
    profile = CalibrationProfile(device=dev, overhead=overhead, anchors=anchors,
                                 bandwidth=bandwidth, levels=levels, tables=tables, quick=quick,
                                 created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                                 duration_s=round(duration, 2))
    for lv in profile.levels:  # bandwidth with a working set of half the level (the largest set for DRAM)
        ws = lv["capacity_bytes"] / 2 if lv["kind"] == "cache" else float("inf")
        lv["copy_bytes_per_s"] = profile.bandwidth_at(ws, "copy")
        lv["add_bytes_per_s"] = profile.bandwidth_at(ws, "add")
    if sequence and device == "cpu" and "fp32" in profile.tables:
        # the in-sequence term, fitted on synthetic networks against this profile's own prediction
        from perfgraph.measure.sequences import measure_sequences
        from perfgraph.measure.timing import RunDelay

        torch.set_num_threads(threads)
        delay = RunDelay()
        try:
            with CpuActivity() as seq_activity:
                fit, samples = measure_sequences(torch, profile, quick=quick, delay=delay,
                                                 rounds=2 if quick else 3, run_s=0.05 if quick else 0.25,
                                                 warmup_s=0.05 if quick else 0.3,
                                                 quiet_wait_s=0.0 if quick else 5.0,
                                                 phase_probe=lambda: timer.time(probe, budget_s=0.01).median_s,
                                                 phase_ref_s=statistics.median(probe_t) if phase_scaling else 0.0)
        finally:
            delay.close()
            torch.set_num_threads(prev_threads)
        profile.overhead["sequence_op_s"] = fit.get("sequence_op_s", 0.0)
        profile.overhead["sequence_s_per_byte"] = fit.get("sequence_s_per_byte", 0.0)
        profile.overhead["sequence_time_share"] = fit.get("sequence_time_share", 0.0)
        fit["other_cpu_share"] = seq_activity.other_cpu_share
        fit["networks"] = [{k: v for k, v in smp.items() if k != "family"} for smp in samples]
        profile.overhead["sequence_fit"] = fit
        duration = time.perf_counter() - t_start
        profile.duration_s = round(duration, 2)
    noise = sorted(timer.noise_seen)
    profile.noise = {
        "timings": len(noise),
        "median_iqr_over_median": noise[len(noise) // 2] if noise else 0.0,
        "p90_iqr_over_median": noise[int(0.9 * (len(noise) - 1))] if noise else 0.0,
        "max_iqr_over_median": noise[-1] if noise else 0.0,
        "samples": timer.samples_taken,
        "samples_rejected": timer.samples_rejected,  # this process waited for a CPU during them
        "disturbed_timings": disturbed_left,  # still disturbed after the retries: left out of the tables
        "outliers_remeasured": len(suspects),
        "slow_phase_remeasured": len(slow),  # timed while the probe conv ran > SLOW_PHASE x its best
        "probe_spread": (max(probe_t) / min(probe_t)) if probe_t else 1.0,  # machine speed, slowest / fastest
        **activity.as_dict(),
    }
    if rounds > 1:
        profile.noise["rounds"] = round_spread(profile, cases, by_round, reference or {}, keep[0])
    profile.source = (f"calibrated: perfgraph calibrate on {profile.device.get('name', device)}, "
                      f"{threads if device == 'cpu' else 'GPU'}{' threads' if device == 'cpu' else ''}, "
                      f"{profile.created}{' (quick)' if quick else ''}")
    profile.overrides = overrides_from(profile, keep[0])
    return profile


def _new_table(name: str) -> Table:
    if name in TABLE_LAYOUT:
        feats, scales, work = TABLE_LAYOUT[name]
    else:
        feats, scales = MEMORY_TABLE_FEATURES.get(name, (["elems"], [1.0]))
        work = "bytes"
    return Table(name, list(feats), list(scales), work)


def _build_tables(cases: dict[str, list[Case]], timings: dict) -> dict[str, dict[str, Table]]:
    """Tables from the timings; a timing still disturbed after its retries is left out (its neighbours
    interpolate for it)."""
    tables: dict[str, dict[str, Table]] = {}
    for dt, dt_cases in cases.items():
        tabs: dict[str, Table] = {}
        for i, case in enumerate(dt_cases):
            tm = timings[(dt, i)]
            tab = tabs.get(case.table) or tabs.setdefault(case.table, _new_table(case.table))
            if tm.disturbed:
                continue
            f, work_amount = point_features(case)
            tab.add(f, work_amount, tm.median_s, tm.noise, case.label)
        tables[dt] = {n: t for n, t in tabs.items() if t.points}
    return tables


OUTLIER_RATIO = 1.6
SLOW_PHASE = 1.25  # probe conv slower than this x its best: the machine was in a slow phase


def _slow_outliers(cases: dict[str, list[Case]], timings: dict, tables: dict[str, dict[str, Table]]) -> list:
    """Keys of timings more than OUTLIER_RATIO x slower than the interpolation from their neighbours."""
    out = []
    for dt, dt_cases in cases.items():
        index: dict[str, int] = {}
        for i, case in enumerate(dt_cases):
            tm = timings[(dt, i)]
            if tm.disturbed:
                continue
            tab = tables[dt].get(case.table)
            k = index.get(case.table, 0)
            index[case.table] = k + 1
            if tab is None or len(tab.points) < 4:
                continue
            p = tab.points[k]
            if p.t > OUTLIER_RATIO * tab.predict(p.f, p.work, exclude=k):
                out.append((dt, i))
    return out


def _lower_median(timings: list):
    """The timing whose median is the lower median of the rounds' (undisturbed ones first)."""
    usable = [tm for tm in timings if not tm.disturbed] or timings
    ordered = sorted(usable, key=lambda tm: tm.median_s)
    return ordered[(len(ordered) - 1) // 2]


def round_spread(profile: CalibrationProfile, cases: dict[str, list[Case]], by_round: dict,
                 reference: dict[str, Any], dtype: str) -> dict[str, Any]:
    """How much the rounds of one calibration disagree: per case, slowest / fastest round (median and p90
    over the cases), and per reference graph the latency predicted from each round's tables alone
    (slowest / fastest). The profile's own tables (lower median per case) are not changed."""
    import copy

    ratios = sorted(max(tm.median_s for tm in tms) / min(tm.median_s for tm in tms)
                    for tms in by_round.values() if min(tm.median_s for tm in tms) > 0)
    n_rounds = min(len(tms) for tms in by_round.values())
    predicted: dict[str, dict[str, Any]] = {}
    if reference:
        from perfgraph.engine.calibrated import predict_model

        per_round = []
        for r in range(n_rounds):
            one = copy.copy(profile)
            one.tables = _build_tables(cases, {key: tms[r] for key, tms in by_round.items()})
            per_round.append(one)
        for name, mg in reference.items():
            lat = [predict_model(mg, one, dtype).latency_s for one in per_round]
            predicted[name] = {"rounds_s": lat, "spread": max(lat) / min(lat)}
    spreads = [p["spread"] for p in predicted.values()]
    return {
        "rounds": n_rounds,
        "case_spread_median": statistics.median(ratios) if ratios else 1.0,
        "case_spread_p90": ratios[int(0.9 * (len(ratios) - 1))] if ratios else 1.0,
        "predicted": predicted,
        "predicted_spread_max": max(spreads) if spreads else None,
    }


def _time_case(timer: Timer, case: Case):
    fn = case.setup()
    try:
        return timer.time(fn, budget_s=case.budget_s)
    finally:
        del fn


def overrides_from(profile: CalibrationProfile, dtype: str) -> dict[str, Any]:
    """Measured numbers in the hardware spec's shape, for `hardware.local.apply_calibration`."""
    ov: dict[str, Any] = {"overhead": {"launch_s": profile.overhead["dispatch_s"]}}
    mem: dict[str, Any] = {}
    for lv in profile.levels:
        mem[lv["name"]] = {"bandwidth_bytes_per_s": lv["copy_bytes_per_s"]}
    ov["memory"] = mem
    gemm = profile.table(dtype, "gemm")
    if gemm and gemm.points:
        ov["peak_flops"] = {dtype: max(p.work / p.t for p in gemm.points)}
    return ov


def table_quality(profile: CalibrationProfile) -> list[dict[str, Any]]:
    """Per table: points, leave-one-out interpolation error, median noise."""
    rows = []
    for dt, tabs in profile.tables.items():
        for name, tab in sorted(tabs.items()):
            cv = cross_validate(tab)
            noise = sorted(p.noise for p in tab.points)
            rows.append({"dtype": dt, "table": name, "points": cv["points"],
                         "loo_median_err": cv["loo_median"], "loo_p90_err": cv["loo_p90"],
                         "median_noise": noise[len(noise) // 2] if noise else 0.0,
                         "best_rate": max((p.work / p.t for p in tab.points), default=0.0), "work": tab.work})
    return rows


def thread_default() -> int:
    from perfgraph.hardware.local import detect_cores

    return detect_cores()[0] or (os.cpu_count() or 1)
