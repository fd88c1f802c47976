"""The in-sequence cost: what ops pay when they run back to back in a network rather than in a tight loop.

The calibration tables time every op on its own, called again and again on the same shapes.  In a
network each op follows a different one: its activations were last written by another op's kernel, the
oneDNN primitive, the code and the branch history are another op's, the allocator hands out a buffer of
another size, and the Python of one more `nn.Module` call runs in between.  Per-op profiles of networks
agree with the tables op by op, yet the network runs longer than the sum of its ops (small batch-1
networks of many tiny ops most).

This module measures that difference on **synthetic** networks, never on a real model: stacks of
generic blocks (depthwise "inverted residual" blocks with and without a squeeze-excite gate, dense 3x3
residual blocks, grouped bottlenecks) whose channel counts, resolutions, expansion ratios, kernel sizes
and group widths are drawn at random from generic ranges by a fixed seed.  Each network is traced and
predicted exactly as `perfgraph validate` predicts a model (`engine.calibrated.predict_model`, without the
in-sequence term), then timed eagerly under `inference_mode` at the calibration's thread count.  The
extra time is fitted (`fit_sequence_term`) as

    measured - predicted = sequence_op_s x launched ops [+ sequence_time_share x predicted]
                           [+ sequence_s_per_byte x activation bytes]

(predicted: the network's op and module-call time from the tables, so the second term is a share of
its own time, off by default, see PROPORTIONAL; activation bytes: the bytes the launched ops read and
write, weights excluded: cold weights are already in the tables; the per-byte term is off by default, see
PER_BYTE), a least-squares fit on relative residuals with every term >= 0, over the median of several
timing rounds per network (rounds that other processes disturbed left out; when more than a quarter of
all were disturbed, the fit is recorded but not applied).  Each round is also fitted on its own: the
spread of those fits is the term's noise (`sequence_fit.round_spread`).
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any, Callable, Sequence

FAMILIES = ("mbconv", "basic", "grouped")
# The per-byte term is off by default: fitted together with the per-op term on this machine it is
# carried by the depthwise batch-8 networks alone (their gap is an op-class effect, not a per-byte one)
# and then over-predicts dense batch-8 networks (docs/calibration.md); without those networks it fits
# to zero.
PER_BYTE = False
# The time-proportional term (a share of the ops' own time: a conv timed after other convs runs slower than
# in a loop of itself) is off by default: it fits the synthetic networks better in some calibrations, but
# its share moved between calibrations of one host enough to double their disagreement, and it scored no
# better on the second hold-out (docs/calibration.md). Kept so the comparison can be repeated.
PROPORTIONAL = False

# term name -> the sample's feature it multiplies
TERMS = {"sequence_op_s": "ops", "sequence_s_per_byte": "act_bytes", "sequence_time_share": "predicted_s"}


# ------------------------------------------------------------------------------------------- the fit


def _nonnegative_lstsq(columns: list[list[float]], ys: list[float]) -> list[float]:
    """min ||X c - y||, c >= 0, for a handful of columns: the best of the plain least-squares solutions on
    every subset of the columns whose coefficients are all >= 0 (exact for so few columns; the empty
    subset, all zeros, is always feasible)."""
    import itertools

    import numpy as np

    y = np.asarray(ys, dtype=float)
    k = len(columns)
    best, best_sse = [0.0] * k, float(y @ y)
    for size in range(1, k + 1):
        for subset in itertools.combinations(range(k), size):
            x = np.asarray([columns[j] for j in subset], dtype=float).T
            coef, *_ = np.linalg.lstsq(x, y, rcond=None)
            if (coef < 0).any():
                continue
            r = y - x @ coef
            sse = float(r @ r)
            if sse < best_sse - 1e-15 * max(best_sse, 1e-300):
                best, best_sse = [0.0] * k, sse
                for j, c in zip(subset, coef):
                    best[j] = float(c)
    return best


def fit_sequence_term(samples: Sequence[dict[str, float]], per_byte: bool = PER_BYTE,
                      proportional: bool = PROPORTIONAL) -> dict[str, float]:
    """Fit ``measured - predicted = a * ops [+ b * act_bytes] [+ c * predicted]`` (a, b, c >= 0) by least
    squares on the relative residual ``(measured - predicted - a ops - ...) / measured`` (every network
    counts alike, whatever its size).  `samples`: dicts with measured_s, predicted_s, ops, act_bytes.
    Returns {"sequence_op_s": a, "sequence_s_per_byte": b, "sequence_time_share": c,
    "fit_median_abs_error": ..., "fit_mean_error_before": ..., "fit_mean_error_after": ...}: the median
    |relative error| of the samples after the fit, and the mean signed error (predicted / measured - 1)
    before and after.  A term that is off stays 0.

    Examples (hand-made networks: measured = 1.2 x predicted + 20 us x ops):

    >>> nets = [{"predicted_s": p, "ops": n, "act_bytes": 0.0, "measured_s": 1.2 * p + 20e-6 * n}
    ...         for p, n in [(2e-3, 50), (5e-3, 120), (20e-3, 80), (40e-3, 200)]]
    >>> fit = fit_sequence_term(nets, proportional=True)
    >>> round(fit["sequence_op_s"] * 1e6, 6), round(fit["sequence_time_share"], 6)
    (20.0, 0.2)
    """
    rows = [s for s in samples if s.get("measured_s", 0) > 0]
    on = {"sequence_op_s": True, "sequence_s_per_byte": per_byte, "sequence_time_share": proportional}
    terms = [t for t in TERMS if on[t]]
    coef = dict.fromkeys(TERMS, 0.0)
    if not rows:
        return coef
    # the weighted problem: column_t = feature_t / measured, y = (measured - predicted) / measured
    columns = [[r[TERMS[t]] / r["measured_s"] for r in rows] for t in terms]
    ys = [(r["measured_s"] - r["predicted_s"]) / r["measured_s"] for r in rows]
    coef.update(zip(terms, _nonnegative_lstsq(columns, ys)))
    after = [(r["predicted_s"] + term_s(coef, r)) / r["measured_s"] - 1 for r in rows]
    before = [r["predicted_s"] / r["measured_s"] - 1 for r in rows]
    return {**coef, "fit_median_abs_error": statistics.median(abs(e) for e in after),
            "fit_mean_error_before": statistics.fmean(before), "fit_mean_error_after": statistics.fmean(after)}


def term_s(coef: dict[str, float], sample: dict[str, float]) -> float:
    """The fitted in-sequence time of one network: the predictor's own formula on its features."""
    from perfgraph.engine.calibrated import sequence_term_s

    return sequence_term_s(int(sample["ops"]), float(sample["act_bytes"]), coef, base_s=float(sample["predicted_s"]))


def fit_with_rounds(samples: Sequence[dict[str, Any]], per_byte: bool = PER_BYTE,
                    proportional: bool = PROPORTIONAL) -> dict[str, Any]:
    """The fit over each network's median over its undisturbed rounds, plus one fit per round: the
    spread of the term those give a median network (as a share of its time) is the fit's noise."""
    rounds = min((len(s["rounds_s"]) for s in samples), default=0)
    med = [dict(s, measured_s=_network_time(s)) for s in samples]
    fit = fit_sequence_term(med, per_byte, proportional)
    fit["per_byte"] = per_byte
    fit["proportional"] = proportional
    per_round = [fit_sequence_term([dict(s, measured_s=s["rounds_s"][i]) for s in samples], per_byte, proportional)
                 for i in range(rounds)]
    fit["rounds"] = rounds
    fit["round_fits"] = [[f[t] for t in TERMS] for f in per_round]  # in the order of TERMS
    if per_round and med:
        # the term each round's fit gives the networks, relative to their measured time (median network)
        shares = []
        for f in per_round:
            s = sorted(term_s(f, r) / r["measured_s"] for r in med)
            shares.append(s[len(s) // 2])
        fit["round_term_share"] = shares  # the term as a share of a median network's time, per round
        fit["round_spread"] = (max(shares) - min(shares)) if shares else 0.0
    return fit


# ------------------------------------------------------------------------------ the synthetic networks


def _make_blocks(torch, family: str, seed: int, batch: int):
    """A stack of generic blocks of `family` drawn from `seed`: (module, input shape)."""
    nn = torch.nn
    rng = random.Random(f"{family}-{seed}")

    def act(kind):
        return {"relu": nn.ReLU(inplace=True), "hardswish": nn.Hardswish(inplace=True),
                "silu": nn.SiLU(inplace=True)}[kind]

    class Gate(nn.Module):  # squeeze-excite: pool, two 1x1 convs, a gate, a broadcast multiply
        def __init__(self, c, kind):
            super().__init__()
            mid = max(8, c // 4)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc1, self.act, self.fc2 = nn.Conv2d(c, mid, 1), nn.ReLU(inplace=True), nn.Conv2d(mid, c, 1)
            self.gate = nn.Hardsigmoid() if kind == "hardswish" else nn.Sigmoid()

        def forward(self, x):
            return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride, h, limit):
            super().__init__()
            self.residual = stride == 1 and cin == cout
            kind = rng.choice(["relu", "hardswish", "silu"])
            if family == "mbconv":
                e, k = rng.choice([1, 3, 4, 6]), rng.choice([3, 5])
                while e > 1 and cin * e * h * h > limit:
                    e -= 1
                mid = cin * e
                layers = [] if e == 1 else [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), act(kind)]
                layers += [nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid),
                           act(kind)]
                if rng.random() < 0.5:
                    layers.append(Gate(mid, kind))
                layers += [nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
                self.out = nn.Identity()
            elif family == "basic":
                layers = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                          nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)]
                self.out = nn.ReLU(inplace=True)
            else:  # grouped bottleneck
                gw = rng.choice([8, 16, 24, 32, 48, 64])
                mid = max(gw, (cout // gw) * gw)
                while mid > gw and mid * h * h > limit:
                    mid -= gw
                layers = [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                          nn.Conv2d(mid, mid, 3, stride, 1, groups=mid // gw, bias=False), nn.BatchNorm2d(mid),
                          nn.ReLU(inplace=True)]
                if rng.random() < 0.5:
                    layers.append(Gate(mid, "relu"))
                layers += [nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
                self.out = nn.ReLU(inplace=True)
            self.body = nn.Sequential(*layers)

        def forward(self, x):
            y = self.body(x)
            if self.residual:
                y = y + x
            return self.out(y)

    # generic sizes, kept small so that a batch-8 network times quickly: a block's
    # widest activation stays below LIMIT elements per sample
    limit, mac_limit = 600_000, 40e6
    c = rng.choice([8, 16, 24]) if family == "mbconv" else rng.choice([16, 32, 48, 64])
    h = rng.choice([56, 112]) if family == "mbconv" else rng.choice([28, 56])
    shape = [batch, c, h, h]
    blocks, cin = [], c
    for _ in range(rng.randint(6, 12)):
        stride = 2 if h > 7 and (rng.random() < 0.25 or 4 * cin * h * h > limit) else 1
        cout = int(cin * rng.choice([1.5, 2])) if stride == 2 else cin * rng.choice([1, 1, 1, 2])
        cout = max(8, min(cout, 512) // 8 * 8)
        # and below mac_limit multiply-accumulates per sample (a rough upper estimate per block)
        def macs(cout_, stride_):
            px = (h // stride_) ** 2
            if family == "basic":
                return 9 * cout_ * (cin + cout_) * px
            if family == "mbconv":
                return 6 * cin * (cin + cout_ + 25) * px * stride_ ** 2
            return cout_ * (cin + cout_ + 9 * 64) * px * stride_ ** 2

        while cout > 8 and macs(cout, stride) > mac_limit:
            if stride == 1 and h > 7:
                stride = 2
            else:
                cout = max(8, cout // 2 // 8 * 8)
        blocks.append(Block(cin, cout, stride, h, limit))
        h //= stride
        cin = cout
    net = nn.Sequential(*blocks)
    # the usual initialisation (as torchvision's convnets): activations keep their scale through the
    # stack (PyTorch's default init shrinks them layer by layer into denormals, which run far slower)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    # and every batch norm normalises its input to unit scale (running statistics set from one batch),
    # so no activation drifts towards zero (denormals) or overflow however deep the stack
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = 1.0
        net.train()
        net(torch.empty(*shape).uniform_(-1, 1))
        net.eval()
    return net, shape


def sequence_specs(quick: bool) -> list[tuple[str, int, int]]:
    """(family, seed, batch) of the synthetic networks timed."""
    seeds = [0] if quick else [0, 1, 2]
    batches = [1] if quick else [1, 8]
    return [(f, s, b) for b in batches for f in FAMILIES for s in seeds]


def measure_sequences(torch, profile, *, quick: bool = False, rounds: int = 3, run_s: float = 0.25,
                      warmup_s: float = 0.3, delay=None, max_delay: float = 0.03,
                      clock: Callable[[], float] = time.perf_counter, progress: Callable[[str], Any] | None = None,
                      quiet_wait_s: float = 0.0, phase_probe: Callable[[], float] | None = None,
                      phase_ref_s: float = 0.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Trace, predict (profile without the term) and time the synthetic networks; fit the term.

    Each round times every network (after a warm-up in the first) for about `run_s` seconds (at least 5
    runs) and keeps the median of its undisturbed runs (`delay`: a `timing.RunDelay`, runs during which
    this process waited for a CPU more than `max_delay` of the run are set aside).

    `phase_probe` (the calibration's probe conv: returns its time now) and `phase_ref_s` (its median while
    the tables were timed): a shared host runs faster and slower in phases, and the term is a residual of
    two timings taken minutes apart, so it would absorb the difference of phases.  The probe is timed
    before and after each network's round, and the round's time is scaled by ``phase_ref_s / probe`` (the
    mean of the two): the network at the tables' phase (`phase_scale` per round in the samples).  Off unless
    both are given (`run_calibration(phase_scaling=True)`): measured, it did not make calibrations agree better.
    Returns (fit, samples)."""
    import gc

    from perfgraph.engine.calibrated import predict_model
    from perfgraph.ingest.model_source import BuiltModel
    from perfgraph.ingest.partition import partition
    from perfgraph.ingest.trace import trace

    samples: list[dict[str, Any]] = []
    nets = []
    for family, seed, batch in sequence_specs(quick):
        torch.manual_seed(seed)
        net, shape = _make_blocks(torch, family, seed, batch)
        net = net.eval()
        x = torch.empty(*shape).uniform_(-1, 1)
        label = f"{family} seed {seed} batch {batch}"
        if progress:
            progress(f"sequence {label}")
        built = BuiltModel(name=f"calibration-sequence-{family}-{seed}", source="synthetic",
                           build=lambda f=family, s=seed, b=batch: _make_blocks(torch, f, s, b)[0],
                           make_inputs=lambda d, dt, shp=shape: (torch.empty(*shp, device=d, dtype=dt),),
                           input_shape=list(shape), batch=batch)
        mg = partition(trace(built, torch.float32, ("meta",)))
        p = predict_model(mg, profile, "fp32", sequence=False)
        act_bytes = sum(op.bytes_read + op.bytes_written for op in mg.ops if op.kind != "view")
        samples.append({"label": label, "family": family, "batch": batch, "predicted_s": p.latency_s,
                        "ops": p.launched_ops, "act_bytes": float(act_bytes), "rounds_s": [], "rejected": 0})
        nets.append((net, x))
        del mg
    gate = delay is not None and getattr(delay, "available", False)
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        with torch.inference_mode():
            for r in range(rounds):
                for (net, x), s in zip(nets, samples):
                    if quiet_wait_s > 0:  # other processes busy: wait a little for them to leave the CPUs
                        from perfgraph.measure.timing import wait_for_quiet

                        wait_for_quiet(0.10, quiet_wait_s, 0.25)
                    t0 = clock()
                    while r == 0 and clock() - t0 < warmup_s:
                        net(x)
                    before = phase_probe() if phase_probe and phase_ref_s > 0 else 0.0
                    times: list[float] = []
                    every: list[float] = []
                    t_start, n = clock(), 0
                    while (n < 5 or clock() - t_start < run_s) and n < 200:
                        d0 = delay.read() if gate else 0
                        t = clock()
                        net(x)
                        wall = clock() - t
                        d1 = delay.read() if gate else 0
                        n += 1
                        every.append(wall)
                        if not gate or (d1 - d0) / 1e9 <= max_delay * wall:
                            times.append(wall)
                        else:
                            s["rejected"] += 1
                    if len(times) < max(3, n // 2):  # mostly disturbed: the median of every run, flagged
                        s["disturbed_rounds"] = s.get("disturbed_rounds", 0) + 1
                        s.setdefault("disturbed", []).append(r)
                        times = every
                    scale = phase_scale(phase_ref_s, before, phase_probe() if before > 0 else 0.0)
                    s.setdefault("phase_scale", []).append(scale)
                    s["rounds_s"].append(statistics.median(times) * scale)
    finally:
        if was:
            gc.enable()
    fit = fit_with_rounds(samples)
    disturbed = sum(s.get("disturbed_rounds", 0) for s in samples)
    fit["disturbed_rounds"] = disturbed
    fit["network_rounds"] = rounds * len(samples)
    scales = sorted(f for s in samples for f in s.get("phase_scale", []))
    if scales:  # how far the host's phase moved the network timings (1: not at all)
        fit["phase_scale"] = {"median": scales[len(scales) // 2], "min": scales[0], "max": scales[-1],
                              "probe_ref_s": phase_ref_s}
    for s in samples:
        s["measured_s"] = _network_time(s)
    if disturbed > MAX_DISTURBED_SHARE * rounds * len(samples):
        # other processes held the CPUs through much of it: a term fitted on that would be their load,
        # not the machine's; keep the figures, apply nothing
        fit["unreliable"] = f"{disturbed} of {rounds * len(samples)} network timings disturbed by other processes"
        fit["fitted_op_s"], fit["fitted_s_per_byte"] = fit["sequence_op_s"], fit["sequence_s_per_byte"]
        fit["fitted_time_share"] = fit["sequence_time_share"]
        for t in TERMS:
            fit[t] = 0.0
    return fit, samples


MAX_DISTURBED_SHARE = 0.25
# A probe pair this far from the tables' phase is not a phase but a disturbance: no scaling then.
MAX_PHASE_SCALE = 2.0


def phase_scale(ref_s: float, before_s: float, after_s: float) -> float:
    """The factor that brings a network timed between probe timings `before_s` and `after_s` to the phase
    of the tables (probe `ref_s`): ref / mean(before, after); 1 without a probe or beyond MAX_PHASE_SCALE.

    Examples:
        >>> round(phase_scale(10e-6, 12e-6, 13e-6), 6)  # the host ran 25 % slow around this network
        0.8
        >>> phase_scale(10e-6, 0.0, 0.0), phase_scale(10e-6, 50e-6, 50e-6)
        (1.0, 1.0)
    """
    if ref_s <= 0 or before_s <= 0 or after_s <= 0:
        return 1.0
    f = ref_s / ((before_s + after_s) / 2)
    return f if 1 / MAX_PHASE_SCALE <= f <= MAX_PHASE_SCALE else 1.0


def _network_time(s: dict[str, Any]) -> float:
    """A network's time over its rounds: the median of its undisturbed rounds (all when none was)."""
    bad = set(s.get("disturbed", []))
    clean = [t for i, t in enumerate(s["rounds_s"]) if i not in bad]
    return statistics.median(clean or s["rounds_s"])
