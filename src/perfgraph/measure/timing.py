"""Timing with warm-up, medians and a noise report, robust to a shared machine.

`Timer.time(fn)` runs `fn` a few times to warm up (caches, allocator, oneDNN primitive cache), then takes
samples of `inner` back-to-back calls each (so a sample lasts at least ~`min_sample_s`: a 1 µs op is timed
over hundreds of calls), and returns the median per call and the noise IQR / median.  A sample during
which the kernel says our threads waited for a CPU (`RunDelay`: another process had it) is discarded and
retaken, so the median describes the machine, not its other tenants.  On CUDA the samples are timed with
CUDA events.

`CpuActivity` measures how much CPU *other* processes used while a block ran (from /proc/stat, minus this
process's own CPU time): the honest noise figure for a shared machine, reported with the load average.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Timing:
    median_s: float
    q1_s: float
    q3_s: float
    min_s: float
    samples: int  # samples the median is taken over
    inner: int  # calls per sample
    rejected: int = 0  # samples discarded because this process waited for a CPU during them
    disturbed: bool = False  # too few undisturbed samples: the median is over all samples

    @property
    def noise(self) -> float:
        """IQR / median."""
        return (self.q3_s - self.q1_s) / self.median_s if self.median_s > 0 else 0.0


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    s = sorted(xs)
    if len(s) == 1:
        return s[0], s[0], s[0]
    q = statistics.quantiles(s, n=4, method="inclusive")
    return q[0], statistics.median(s), q[2]


class RunDelay:
    """Nanoseconds of CPU this process was denied: the time its threads spent runnable but waiting for a
    CPU (the second field of ``/proc/self/task/<tid>/schedstat``, summed over threads: another process
    held the CPU we wanted) plus the time the hypervisor stole from the virtual CPUs (``steal`` in
    ``/proc/stat``, 10 ms resolution) — the kernel's own measure of interference.
    `available` is False where the files do not exist (non-Linux, no CONFIG_SCHED_INFO)."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._stat = -1
        self._tick_ns = 1e9 / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
        self.refresh()

    def refresh(self) -> None:
        self.close()
        try:
            tids = os.listdir("/proc/self/task")
        except OSError:
            tids = []
        for tid in tids:
            try:
                self._fds.append(os.open(f"/proc/self/task/{tid}/schedstat", os.O_RDONLY))
            except OSError:
                continue
        try:
            self._stat = os.open("/proc/stat", os.O_RDONLY)
        except OSError:
            self._stat = -1
        self.available = bool(self._fds) and self.read() >= 0

    def read(self) -> int:
        total = 0
        for fd in self._fds:
            try:
                total += int(os.pread(fd, 128, 0).split()[1])
            except (OSError, IndexError, ValueError):
                continue  # a thread that exited
        if self._stat >= 0:
            try:
                fields = os.pread(self._stat, 256, 0).split(b"\n", 1)[0].split()
                total += int(int(fields[8]) * self._tick_ns)  # steal
            except (OSError, IndexError, ValueError):
                pass
        return total

    def close(self) -> None:
        for fd in self._fds + ([self._stat] if self._stat >= 0 else []):
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []
        self._stat = -1

    def __del__(self) -> None:
        self.close()


class Timer:
    """Median time per call of `fn` (module docstring).

    On Linux each sample is bracketed by `RunDelay` reads: a sample during which our threads waited for a
    CPU more than `max_delay` of its duration was disturbed by another process and is discarded and
    retaken (up to `attempts` x the samples wanted).  When too few undisturbed samples come, the median of
    all samples is used and the timing is flagged `disturbed`.
    """

    def __init__(self, device: str = "cpu", *, min_sample_s: float = 3e-4, budget_s: float = 0.12,
                 min_samples: int = 5, max_samples: int = 25, warmup: int = 2, max_delay: float = 0.03,
                 attempts: int = 4):
        self.device = device
        self.min_sample_s = min_sample_s
        self.budget_s = budget_s
        self.min_samples = min_samples
        self.max_samples = max_samples
        self.warmup = warmup
        self.max_delay = max_delay
        self.attempts = attempts
        self.noise_seen: list[float] = []
        self.samples_taken = 0
        self.samples_rejected = 0
        self.disturbed_timings = 0
        self.delay = RunDelay() if device == "cpu" else None
        if device == "cuda":
            import torch

            self._torch = torch

    def _clock(self, fn: Callable[[], object], inner: int) -> float:
        if self.device == "cuda":
            torch = self._torch
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(inner):
                fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1e3
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        return time.perf_counter() - t0

    def time(self, fn: Callable[[], object], *, budget_s: float | None = None) -> Timing:
        """Python's cyclic garbage collector is off while timing (as `timeit` does): a collection
        scanning this process's own long-lived objects is no part of the op."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._time(fn, budget_s)
        finally:
            if was_enabled:
                gc.enable()

    def _time(self, fn: Callable[[], object], budget_s: float | None) -> Timing:
        budget = self.budget_s if budget_s is None else budget_s
        one = 0.0
        for _ in range(max(self.warmup, 1)):
            one = self._clock(fn, 1)
        one = max(min(one, self._clock(fn, 1)), 1e-7)
        inner = max(1, int(self.min_sample_s / one))
        per_sample = one * inner
        n = int(min(self.max_samples, max(self.min_samples, budget / per_sample)))
        delay = self.delay if (self.delay is not None and self.delay.available) else None
        if delay is not None:
            delay.refresh()  # threads started by the warm-up (OpenMP pool) are counted too
        clean: list[float] = []
        every: list[float] = []
        while len(clean) < n and len(every) < self.attempts * n:
            d0 = delay.read() if delay else 0
            wall = self._clock(fn, inner)
            d1 = delay.read() if delay else 0
            every.append(wall / inner)
            if not delay or (d1 - d0) / 1e9 <= self.max_delay * wall:
                clean.append(wall / inner)
        disturbed = len(clean) < max(3, n // 2)
        xs = every if disturbed else clean
        q1, med, q3 = quartiles(xs)
        t = Timing(med, q1, q3, min(xs), len(xs), inner, rejected=len(every) - len(clean), disturbed=disturbed)
        self.noise_seen.append(t.noise)
        self.samples_taken += len(every)
        self.samples_rejected += t.rejected
        self.disturbed_timings += int(disturbed)
        return t


def _proc_stat_busy() -> tuple[float, float] | None:
    """(busy jiffies, total jiffies) over all CPUs, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    vals = [float(x) for x in fields]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0.0)
    return sum(vals[:8]) - idle, sum(vals[:8])


class CpuActivity:
    """Context manager: CPU share other processes used while the block ran, and the load averages."""

    def __enter__(self) -> "CpuActivity":
        self.load_before = _loadavg()
        self._stat = _proc_stat_busy()
        self._own = _own_cpu()
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._t
        self.load_after = _loadavg()
        stat = _proc_stat_busy()
        self.other_cpu_share = float("nan")
        if stat and self._stat:
            hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
            busy = (stat[0] - self._stat[0]) / hz
            total = (stat[1] - self._stat[1]) / hz
            own = _own_cpu() - self._own
            if total > 0:
                self.other_cpu_share = max(0.0, (busy - own) / total)

    def as_dict(self) -> dict[str, float]:
        return {"load_before": self.load_before, "load_after": self.load_after,
                "other_cpu_share": self.other_cpu_share, "wall_s": self.wall_s,
                "cpus": os.cpu_count() or 1}


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _loadavg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def other_cpu_share(window_s: float = 1.0) -> float:
    """CPU share other processes take right now, sampled over `window_s` (nan off Linux)."""
    with CpuActivity() as act:
        time.sleep(window_s)
    return act.other_cpu_share


def wait_for_quiet(threshold: float = 0.10, max_wait_s: float = 120.0, window_s: float = 1.0) -> float:
    """Wait (up to `max_wait_s`) until other processes use at most `threshold` of the CPUs; returns the
    last share seen.  For benchmarks on a shared machine."""
    deadline = time.monotonic() + max_wait_s
    share = other_cpu_share(window_s)
    while share == share and share > threshold and time.monotonic() < deadline:  # share == share: not nan
        share = other_cpu_share(window_s)
    return share
