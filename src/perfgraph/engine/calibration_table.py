"""A calibration table: measured points of one op kind, and the interpolation between them (pure Python).

**Interpolation** (`Table.predict`): each table holds measured points (feature vector in log2 space,
work, median time).  A query takes the k nearest points (scaled Euclidean distance in log2 features),
interpolates the log of their achieved throughput (work / time: FLOP/s for MAC ops, bytes/s for the rest)
with inverse-square-distance weights, and predicts ``time = work / throughput``, floored at the table's
smallest measured time (an op never runs faster than its launch).  An exact match returns its own time.

`cross_validate` measures how well a table covers its space (leave-one-out over its own points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

# Interpolation: k nearest points, inverse-distance power.  Chosen by leave-one-out cross-validation over
# the microbenchmark points themselves (`cross_validate`), never on models.
K_NEAREST = 4
IDW_POWER = 2.0


class CalibrationError(ValueError):
    """A profile that is missing, unreadable, or lacks what a prediction needs (one-line message)."""


@dataclass
class Point:
    f: list[float]  # features, log2
    work: float  # FLOPs (MAC tables) or bytes (memory tables)
    t: float  # median seconds
    noise: float = 0.0  # IQR / median of the timing
    label: str = ""  # what was run, e.g. "conv 1x64x56x56 k3 s1 -> 64"


@dataclass
class Table:
    """Measured points of one op kind: features (log2), work, median time."""

    name: str
    features: list[str]
    scales: list[float]  # distance weight per feature
    work: str  # "flops" | "bytes"
    points: list[Point] = field(default_factory=list)

    def add(self, f: Sequence[float], work: float, t: float, noise: float = 0.0, label: str = "") -> None:
        self.points.append(Point([float(x) for x in f], float(work), float(t), float(noise), label))

    @property
    def t_floor(self) -> float:
        return min((p.t for p in self.points), default=0.0)

    def predict(self, f: Sequence[float], work: float, *, exclude: int | None = None) -> float:
        """Time for a query (features `f`, log2; `work`).  `exclude`: index of a point left out (for
        cross-validation)."""
        pts = [(i, p) for i, p in enumerate(self.points) if i != exclude and p.t > 0 and p.work > 0]
        if not pts:
            raise CalibrationError(f"calibration table {self.name!r} is empty")
        work = max(float(work), 1.0)
        dists = []
        for i, p in pts:
            d2 = sum((s * (a - b)) ** 2 for s, a, b in zip(self.scales, p.f, f))
            dists.append((d2, i, p))
        dists.sort(key=lambda x: x[0])
        near = dists[:K_NEAREST]
        if near[0][0] < 1e-12:
            p = near[0][2]
            t = p.t * work / p.work  # same features: scale by work (equal work -> its own time)
        else:
            num = den = 0.0
            for d2, _, p in near:
                w = 1.0 / (d2 ** (IDW_POWER / 2.0))
                num += w * math.log(p.work / p.t)
                den += w
            t = work / math.exp(num / den)
        floor = min(p.t for _, p in pts)
        return max(t, floor)

    def to_dict(self) -> dict[str, Any]:
        """The stored form, points as rows ``[f, work, t, noise, label]`` (read back by
        `engine.calibration_profile.TableRecord`)."""
        return {"name": self.name, "features": self.features, "scales": self.scales, "work": self.work,
                "points": [[p.f, p.work, p.t, p.noise, p.label] for p in self.points]}


def cross_validate(table: Table) -> dict[str, float]:
    """Leave-one-out error of the interpolation over a table's own points: median and p90 of
    |predicted / measured - 1|.  A measure of how well the table covers its space."""
    errs = []
    for i, p in enumerate(table.points):
        if len(table.points) < 3:
            break
        pred = table.predict(p.f, p.work, exclude=i)
        errs.append(abs(pred / p.t - 1.0))
    if not errs:
        return {"points": len(table.points), "loo_median": float("nan"), "loo_p90": float("nan")}
    errs.sort()
    return {"points": len(table.points), "loo_median": errs[len(errs) // 2],
            "loo_p90": errs[min(len(errs) - 1, int(0.9 * len(errs)))]}

