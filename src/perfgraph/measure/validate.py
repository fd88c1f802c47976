"""`perfgraph validate`: measured eager latency vs the calibrated prediction.

Measurement (`measure_eager`): the model is built with `weights=None` on the CPU (random weights, real
tensors), `eval()`, at a fixed thread count, under `torch.inference_mode()`; after a warm-up of at least
`warmup` runs and `warmup_s` seconds (oneDNN primitive creation, allocator and caches settling) the median
of `runs` timed forward passes is taken, with the IQR / median as its noise, Python's garbage collector
off (as `timeit` does).  On a shared machine, a run during which the kernel reports that our threads
waited for a CPU (another process held it) is set aside and retaken, up to `attempts` x `runs` runs; the
median is over the undisturbed runs (over all runs, flagged `disturbed`, when fewer than half of those
asked for were undisturbed).  The load average and the CPU share other processes took are recorded too.

Note: under `inference_mode` PyTorch dispatches some fused kernels that the traced graph shows as
separate ops (e.g. the `nn.MultiheadAttention` fast path in ViT runs `_native_multi_head_attention`).
The measured latency is what eager PyTorch does; the prediction comes from the traced graph.

Prediction (`predict`): the model is traced at the same batch and dtype and `engine.calibrated.predict_model`
sums its ops on the calibrated profile.  `error = predicted / measured - 1`.

Drift (`anchor_drift`): a shared host's speed changes with its other tenants; the profile's anchor
microbenchmarks (a conv, a memory-bound op, a tiny op) are timed again before each model and reported as
now / at calibration.  They are reported, not used to correct the prediction.

`error_summary` gives the figures reported: median |error|, the share of rows within ±10 % and ±20 %,
the mean (signed) error and the worst row.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

from perfgraph.measure.probes import PAGE_BYTES, minor_faults as _minor_faults
from perfgraph.measure.timing import CpuActivity, quartiles


@dataclass
class Measured:
    median_s: float  # over the undisturbed runs (all runs when too few were undisturbed)
    q1_s: float
    q3_s: float
    min_s: float
    runs: int  # runs the median is taken over
    warmup: int
    threads: int
    times_s: list[float] = field(default_factory=list)  # every timed run, disturbed ones included
    rejected: int = 0  # runs discarded: this process waited for a CPU more than max_delay of the run
    disturbed: bool = False  # fewer undisturbed runs than asked for within the attempts allowed
    raw_median_s: float = float("nan")  # median of every timed run
    load_before: float = float("nan")
    load_after: float = float("nan")
    other_cpu_share: float = float("nan")
    # bytes of memory this process faulted in per timed run (minor faults x page size): the allocator
    # returning activation memory to the kernel and taking it back, paid again on every run
    faulted_bytes: float = float("nan")

    @property
    def noise(self) -> float:
        return (self.q3_s - self.q1_s) / self.median_s if self.median_s > 0 else 0.0


def measure_eager(spec: str, *, batch: int = 1, threads: int | None = None, runs: int = 10, warmup: int = 2,
                  dtype: str = "fp32", input_shape: list[int] | None = None, params: dict[str, str] | None = None,
                  weights: str | None = None, device: str = "cpu", max_delay: float = 0.03,
                  attempts: int = 4, warmup_s: float = 1.0) -> Measured:
    """Median eager forward latency of one model (module docstring).

    On Linux a run during which the kernel says this process's threads waited for a CPU for more than
    `max_delay` of the run (another process held it: `measure.timing.RunDelay`) is disturbed: it is kept
    in `times_s` but left out of the median, and another run is taken, up to `attempts` x `runs` runs.
    """
    import torch

    from perfgraph.ingest.model_source import parse_dtype
    from perfgraph.ingest.sources import resolve
    from perfgraph.measure.timing import RunDelay

    if runs < 1:
        raise ValueError("runs must be >= 1")
    built = resolve(spec, batch=batch, input_shape=input_shape, params=params, weights=weights)
    tdtype = parse_dtype(dtype)
    prev = torch.get_num_threads()
    if device == "cpu" and threads:
        torch.set_num_threads(int(threads))
    used_threads = torch.get_num_threads()
    gc_was_enabled = gc.isenabled()
    try:
        torch.manual_seed(0)
        dev = torch.device(device)
        with torch.device(dev):
            model = built.build()
        model = model.to(device=dev, dtype=tdtype).eval()
        inputs = built.make_inputs(dev, tdtype)
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        times: list[float] = []
        clean: list[float] = []
        # As `timeit` does, Python's cyclic garbage collector is off while timing: a collection scanning
        # this process's own long-lived objects (traced graphs) is no part of the model.
        gc.collect()
        gc.disable()
        with torch.inference_mode(), CpuActivity() as act:
            # warm-up: at least `warmup` runs and at least `warmup_s` seconds (the allocator and caches
            # settle over the first runs, during which small models run slow)
            t_warm = time.perf_counter()
            done = 0
            while done < max(warmup, 0) or (done > 0 and time.perf_counter() - t_warm < warmup_s):
                model(*inputs)
                sync()
                done += 1
            delay = RunDelay() if device == "cpu" else None
            gate = delay is not None and delay.available
            faults0 = _minor_faults()
            while len(clean) < runs and len(times) < attempts * runs:
                d0 = delay.read() if gate else 0
                t0 = time.perf_counter()
                model(*inputs)
                sync()
                wall = time.perf_counter() - t0
                d1 = delay.read() if gate else 0
                times.append(wall)
                if not gate or (d1 - d0) / 1e9 <= max_delay * wall:
                    clean.append(wall)
            faulted = (_minor_faults() - faults0) * PAGE_BYTES / max(len(times), 1) if faults0 >= 0 else math.nan
            if delay is not None:
                delay.close()
        del model, inputs
    finally:
        if gc_was_enabled:
            gc.enable()
        if device == "cpu":
            torch.set_num_threads(prev)
    disturbed = len(clean) < min(runs, max(3, (runs + 1) // 2))  # too few undisturbed runs: all, flagged
    xs = times if disturbed else clean
    q1, med, q3 = quartiles(xs)
    return Measured(median_s=med, q1_s=q1, q3_s=q3, min_s=min(times), runs=len(xs), warmup=warmup,
                    threads=used_threads, times_s=times, rejected=len(times) - len(clean), disturbed=disturbed,
                    raw_median_s=statistics.median(times), load_before=act.load_before, load_after=act.load_after,
                    other_cpu_share=act.other_cpu_share, faulted_bytes=faulted)


def predict(spec: str, profile, *, batch: int = 1, dtype: str = "fp32", input_shape: list[int] | None = None,
            params: dict[str, str] | None = None, weights: str | None = None):
    """Trace the model and predict its eager latency on `profile` -> (PredictedLatency, ModelGraph)."""
    from perfgraph import pipeline
    from perfgraph.engine.calibrated import predict_model

    mg = pipeline.analyze(pipeline.ModelSpec(spec, batch=batch, dtype=dtype, input_shape=input_shape, params=params,
                                             weights=weights))
    return predict_model(mg, profile, dtype), mg


def anchor_drift(profile, threads: int | None = None, device: str = "cpu") -> dict[str, float]:
    """The profile's anchor microbenchmarks timed now, as ratios now / at calibration (> 1: the machine
    is slower now than when it was calibrated); empty when the profile has no anchors."""
    if not getattr(profile, "anchors", None):
        return {}
    import torch

    from perfgraph.measure.probes import measure_anchors

    prev = torch.get_num_threads()
    if device == "cpu" and threads:
        torch.set_num_threads(int(threads))
    try:
        now = measure_anchors(torch, device)
    finally:
        if device == "cpu":
            torch.set_num_threads(prev)
    return {k: now[k] / v for k, v in profile.anchors.items() if k in now and v > 0}


@dataclass
class Row:
    model: str
    batch: int
    predicted_s: float
    measured_s: float
    error: float  # predicted / measured - 1
    noise: float  # measured IQR / median
    runs: int
    other_cpu_share: float
    load: float
    rejected_runs: int = 0
    disturbed: bool = False
    raw_median_s: float = float("nan")
    drift: dict[str, float] = field(default_factory=dict)  # anchor time now / at calibration
    predicted_ops_s: float = 0.0
    predicted_module_s: float = 0.0
    launched_ops: int = 0
    macs: int = 0
    faulted_bytes: float = float("nan")  # measured per run (Measured.faulted_bytes)
    fault_s: float = float("nan")  # those bytes at the profile's calibrated fresh-page cost: a diagnosis
    predicted_fault_s: float = 0.0  # the page faults the prediction already holds (fresh-page term)
    round_medians_s: list[float] = field(default_factory=list)  # one median per round (`with_rounds`)
    drift_factor: float = 1.0  # with correct_drift: the median anchor ratio the prediction was scaled by
    predicted_uncorrected_s: float = float("nan")  # the prediction before that scaling

    @property
    def error_with_measured_faults(self) -> float:
        """A diagnosis, not a prediction: the error if the predictor knew the faults this row was measured
        to take (at the calibrated cost), beyond those it already predicts."""
        return error_with_faults(self.predicted_s, self.measured_s, self.fault_s, self.predicted_fault_s)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_one(spec: str, profile, *, batch: int, threads: int, runs: int = 10, warmup: int = 2,
                 dtype: str = "fp32", input_shape: list[int] | None = None, params: dict[str, str] | None = None,
                 weights: str | None = None, device: str = "cpu", check_drift: bool = True,
                 correct_drift: bool = False) -> Row:
    """Measure `spec` in eager PyTorch and predict it from `profile`.

    correct_drift: scale the prediction by the median of the anchors' ratios (now / at calibration), so a
    profile taken in a fast or slow phase of a shared host predicts the machine as it is now. The anchors
    are single-op microbenchmarks timed again here, never the model: nothing is fitted to the row.
    """
    # Measure first, in a process not yet holding this model's traced graph; then the anchors (their large
    # tensors change the allocator's state) and the prediction.
    meas = measure_eager(spec, batch=batch, threads=threads, runs=runs, warmup=warmup, dtype=dtype,
                         input_shape=input_shape, params=params, weights=weights, device=device)
    drift = anchor_drift(profile, threads, device) if check_drift or correct_drift else {}
    pred, mg = predict(spec, profile, batch=batch, dtype=dtype, input_shape=input_shape, params=params,
                       weights=weights)
    factor = statistics.median(drift.values()) if correct_drift and drift else 1.0
    predicted_s = pred.latency_s * factor
    return Row(model=spec, batch=batch, predicted_s=predicted_s, measured_s=meas.median_s,
               error=predicted_s / meas.median_s - 1.0, drift_factor=factor, predicted_uncorrected_s=pred.latency_s, noise=meas.noise, runs=meas.runs,
               other_cpu_share=meas.other_cpu_share, load=meas.load_after, rejected_runs=meas.rejected,
               disturbed=meas.disturbed, raw_median_s=meas.raw_median_s, drift=drift, predicted_ops_s=pred.ops_s,
               predicted_module_s=pred.module_overhead_s, launched_ops=pred.launched_ops, macs=mg.info.macs,
               faulted_bytes=meas.faulted_bytes,
               fault_s=meas.faulted_bytes * profile.fresh_page_s_per_byte, predicted_fault_s=pred.fresh_page_s)


def error_with_faults(predicted_s: float, measured_s: float, fault_s: float, predicted_fault_s: float = 0.0) -> float:
    """The error a prediction would have if it also held the page faults the row was measured to take
    (`fault_s`, at the calibrated cost) beyond those it already predicts (`predicted_fault_s`); a
    diagnosis of the error, not a prediction.  An unknown fault count (nan) adds nothing."""
    extra = max(fault_s - predicted_fault_s, 0.0) if not math.isnan(fault_s) else 0.0
    return (predicted_s + extra) / measured_s - 1.0


def with_rounds(row: Row, later: Sequence[Measured], fault_cost_s_per_byte: float = 0.0) -> Row:
    """`row` measured again in later rounds: its latency becomes the median of the rounds' medians.

    On a shared host the speed drifts over minutes (other tenants' memory traffic, clocks, the C
    allocator's state): two passes over the same models minutes apart differ row by row
    (docs/calibration.md, *The measurement floor*). One pass measures
    one phase; rounds spread over the whole validation measure the machine's typical speed. Two rounds:
    their mean. Faults per run are averaged (and costed at `fault_cost_s_per_byte`, the profile's
    fresh-page cost), runs set aside summed, the others' CPU share is the worst.
    """
    if not later:
        return row
    firsts = row.round_medians_s or [row.measured_s]
    medians = firsts + [m.median_s for m in later]
    measured = statistics.median(medians)
    faults = [row.faulted_bytes] + [m.faulted_bytes for m in later]
    faults = [f for f in faults if not math.isnan(f)]
    faulted = statistics.fmean(faults) if faults else float("nan")
    shares = [x for x in [row.other_cpu_share] + [m.other_cpu_share for m in later] if not math.isnan(x)]
    return replace(
        row, measured_s=measured, error=row.predicted_s / measured - 1.0, round_medians_s=medians,
        noise=statistics.median([row.noise] + [m.noise for m in later]),
        runs=row.runs + sum(m.runs for m in later), rejected_runs=row.rejected_runs + sum(m.rejected for m in later),
        disturbed=row.disturbed or any(m.disturbed for m in later),
        other_cpu_share=max(shares) if shares else float("nan"), faulted_bytes=faulted,
        fault_s=faulted * fault_cost_s_per_byte)


def error_summary(errors: Sequence[float]) -> dict[str, Any]:
    """Median |error|, shares within ±10 % / ±20 %, mean signed error, worst |error| — errors as
    fractions (0.1 = +10 %)."""
    errs = [float(e) for e in errors if e is not None and not math.isnan(float(e))]
    if not errs:
        return {"n": 0, "median_abs_error": float("nan"), "within_10pct": float("nan"),
                "within_20pct": float("nan"), "mean_error": float("nan"), "worst_abs_error": float("nan")}
    absd = [abs(e) for e in errs]
    eps = 1e-12  # an error of exactly 10 % counts as within ±10 %
    return {
        "n": len(errs),
        "median_abs_error": statistics.median(absd),
        "within_10pct": sum(1 for a in absd if a <= 0.10 + eps) / len(errs),
        "within_20pct": sum(1 for a in absd if a <= 0.20 + eps) / len(errs),
        "mean_error": statistics.fmean(errs),
        "worst_abs_error": max(absd),
    }
