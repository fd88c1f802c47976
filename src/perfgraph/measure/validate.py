"""`perfgraph validate`: measured eager latency vs the calibrated prediction.

Measurement (`measure_eager`): the model is built with `weights=None` on the CPU (random weights, real
tensors), `eval()`, at a fixed thread count, under `torch.inference_mode()`; after `warmup` runs (oneDNN
primitive creation, allocator warm-up) the median of `runs` timed forward passes is taken, with the
IQR / median as its noise.  While measuring, the load average and the CPU share taken by *other* processes
are recorded: on a shared machine they say whether a figure can be trusted.

Note: under `inference_mode` PyTorch dispatches some fused kernels that the traced graph shows as
separate ops (e.g. the `nn.MultiheadAttention` fast path in ViT runs `_native_multi_head_attention`).
The measured latency is what eager PyTorch does; the prediction comes from the traced graph.

Prediction (`predict`): the model is traced at the same batch and dtype and `engine.calibrated.predict_model`
sums its ops on the calibrated profile.  `error = predicted / measured - 1`.

`error_summary` gives the figures reported: median |error|, the share of rows within ±10 % and ±20 %,
the mean (signed) error and the worst row.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from perfgraph.measure.timing import CpuActivity, quartiles


@dataclass
class Measured:
    median_s: float
    q1_s: float
    q3_s: float
    min_s: float
    runs: int
    warmup: int
    threads: int
    times_s: list[float] = field(default_factory=list)
    load_before: float = float("nan")
    load_after: float = float("nan")
    other_cpu_share: float = float("nan")

    @property
    def noise(self) -> float:
        return (self.q3_s - self.q1_s) / self.median_s if self.median_s > 0 else 0.0


def measure_eager(spec: str, *, batch: int = 1, threads: int | None = None, runs: int = 10, warmup: int = 2,
                  dtype: str = "fp32", input_shape: list[int] | None = None, params: dict[str, str] | None = None,
                  weights: str | None = None, device: str = "cpu") -> Measured:
    """Median eager forward latency of one model (module docstring)."""
    import torch

    from perfgraph.ingest.model_source import parse_dtype
    from perfgraph.ingest.sources import resolve

    if runs < 1:
        raise ValueError("runs must be >= 1")
    built = resolve(spec, batch=batch, input_shape=input_shape, params=params, weights=weights)
    tdtype = parse_dtype(dtype)
    prev = torch.get_num_threads()
    if device == "cpu" and threads:
        torch.set_num_threads(int(threads))
    used_threads = torch.get_num_threads()
    try:
        torch.manual_seed(0)
        dev = torch.device(device)
        with torch.device(dev):
            model = built.build()
        model = model.to(device=dev, dtype=tdtype).eval()
        inputs = built.make_inputs(dev, tdtype)
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        times: list[float] = []
        with torch.inference_mode(), CpuActivity() as act:
            for _ in range(max(warmup, 0)):
                model(*inputs)
            sync()
            for _ in range(runs):
                t0 = time.perf_counter()
                model(*inputs)
                sync()
                times.append(time.perf_counter() - t0)
        del model, inputs
    finally:
        if device == "cpu":
            torch.set_num_threads(prev)
    q1, med, q3 = quartiles(times)
    return Measured(median_s=med, q1_s=q1, q3_s=q3, min_s=min(times), runs=runs, warmup=warmup,
                    threads=used_threads, times_s=times, load_before=act.load_before, load_after=act.load_after,
                    other_cpu_share=act.other_cpu_share)


def predict(spec: str, profile, *, batch: int = 1, dtype: str = "fp32", input_shape: list[int] | None = None,
            params: dict[str, str] | None = None, weights: str | None = None):
    """Trace the model and predict its eager latency on `profile` -> (PredictedLatency, ModelGraph)."""
    from perfgraph.analysis import analyze_graph
    from perfgraph.engine.calibrated import predict_model

    mg = analyze_graph(spec, batch=batch, dtype=dtype, input_shape=input_shape, params=params, weights=weights)
    return predict_model(mg, profile, dtype), mg


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
    predicted_ops_s: float = 0.0
    predicted_module_s: float = 0.0
    launched_ops: int = 0
    macs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_one(spec: str, profile, *, batch: int, threads: int, runs: int = 10, warmup: int = 2,
                 dtype: str = "fp32", input_shape: list[int] | None = None, params: dict[str, str] | None = None,
                 weights: str | None = None, device: str = "cpu") -> Row:
    pred, mg = predict(spec, profile, batch=batch, dtype=dtype, input_shape=input_shape, params=params,
                       weights=weights)
    meas = measure_eager(spec, batch=batch, threads=threads, runs=runs, warmup=warmup, dtype=dtype,
                         input_shape=input_shape, params=params, weights=weights, device=device)
    return Row(model=spec, batch=batch, predicted_s=pred.latency_s, measured_s=meas.median_s,
               error=pred.latency_s / meas.median_s - 1.0, noise=meas.noise, runs=meas.runs,
               other_cpu_share=meas.other_cpu_share, load=meas.load_after, predicted_ops_s=pred.ops_s,
               predicted_module_s=pred.module_overhead_s, launched_ops=pred.launched_ops, macs=mg.info.macs)


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
