"""Prediction tiers: where a prediction's numbers come from, and the error measured for that tier.

* ``spec`` -- the chip's datasheet numbers only (peaks, bandwidths, published ceilings and latencies).
* ``microbench`` -- the chip file's `calibration:` section of sourced single-op microbenchmarks measured on
  that device (`hardware.microbench`) was used.
* ``local`` -- `perfgraph calibrate` on this machine (the calibrated eager predictor, `engine.calibrated`).

Each tier carries the error measured for it on end-to-end results that no calibration used
(`expected_error`): the median |predicted / measured - 1| and the share within a band over the validation rows
of that tier and chip kind, with the benchmark that measured it.  LLM serving on GPUs under the ``graph``
runtime has its own figure (`serving_expected_error`): the published serving measurements of the hold-out sets,
split by batch.  The figures live in ``tiers_validation.yaml`` beside this module (data, with the run that
produced them), not in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

TIERS = ("spec", "microbench", "local")
_DATA = Path(__file__).with_name("tiers_validation.yaml")


@dataclass(frozen=True)
class ExpectedError:
    """The validation figure of one tier and chip kind (None: never validated)."""

    tier: str
    kind: str
    median_abs_error: float | None
    within_share: float | None  # share of rows within ±within_band
    within_band: float | None
    rows: int
    source: str

    def describe(self) -> str:
        if self.median_abs_error is None:
            return f"{self.tier} tier on {self.kind}: not validated ({self.source})"
        return (f"{self.tier} tier on {self.kind}: median |error| {self.median_abs_error:.0%} over {self.rows} "
                f"published results ({self.source})")

    def as_dict(self) -> dict:
        return {"tier": self.tier, "kind": self.kind, "median_abs_error": self.median_abs_error,
                "within_share": self.within_share, "within_band": self.within_band, "rows": self.rows,
                "source": self.source}


@lru_cache(maxsize=1)
def _data() -> dict:
    return yaml.safe_load(_DATA.read_text(encoding="utf-8")) or {}


def _table() -> dict[tuple[str, str], dict]:
    return {(r["tier"], r["kind"]): r for r in _data().get("validation", [])}


def _from_row(tier: str, kind: str, row: dict) -> ExpectedError:
    return ExpectedError(tier, kind, row.get("median_abs_error"), row.get("within_share"), row.get("within_band"),
                         int(row.get("rows", 0)), str(row.get("source", "")))


def expected_error(tier: str, kind: str) -> ExpectedError:
    """The measured error of `tier` predictions on chips of `kind` (module docstring).

    >>> expected_error("spec", "QPU").median_abs_error is None
    True
    """
    row = _table().get((tier, kind))
    if row is None:
        return ExpectedError(tier, kind, None, None, None, 0, "no end-to-end validation rows for this tier and kind")
    return _from_row(tier, kind, row)


def serving_expected_error(batch: int) -> ExpectedError | None:
    """The measured error of LLM serving predictions (``graph`` runtime, GPUs) at `batch` sequences: the
    ``llm_serving`` row whose batch range holds it, None where no row does.

    >>> serving_expected_error(1).kind, serving_expected_error(64).kind
    ('A100/H100/H200, batch 1-16', 'A100/H100/H200, batch 17+')
    """
    for row in _data().get("llm_serving", []):
        low, high = int(row["min_batch"]), row.get("max_batch")  # no max_batch: open-ended
        if low <= batch and (high is None or batch <= int(high)):
            span = f"{low}+" if high is None else f"{low}-{high}"
            return _from_row("llm serving", f"{row.get('gpus', 'GPU')}, batch {span}", row)
    return None
