"""Serving engines: the host work an LLM serving engine does between two GPU steps.

perfgraph's ``graph`` runtime replays the kernels with the host out of the loop.  A serving engine built around
such a replay still runs code on the host every step -- schedule the sequences, prepare the step's inputs, sample,
copy the tokens back, detokenise, build the outputs -- and an engine that does this synchronously (vLLM's V0
engine with single-step scheduling) leaves the GPU idle meanwhile.  An engine profile (`ServingEngine`) states
that host time per step as a fixed part plus a part per sequence in the step, and whether it adds to the GPU
time (``serial``).  The figures live in ``serving_engines.yaml`` beside this module, each with its source.

    >>> get("vllm-v0").host_s(64) * 1e3
    6.4
    >>> get("none").host_s(64)
    0.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

_DATA = Path(__file__).with_name("serving_engines.yaml")
DEFAULT_ENGINE = "none"
OVERLAPS = ("serial",)


@dataclass(frozen=True)
class ServingEngine:
    """One engine's host work per step (module docstring)."""

    id: str
    name: str
    versions: str
    overlap: str
    host_s_per_step: float
    host_s_per_sequence: float
    note: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    def host_s(self, sequences: int) -> float:
        """Host seconds of one engine step over `sequences` sequences."""
        return self.host_s_per_step + self.host_s_per_sequence * int(sequences)

    def assumption(self, sequences: int) -> str:
        """The sentence printed with a result that counts this engine (empty for ``none``)."""
        if self.id == DEFAULT_ENGINE:
            return ""
        return (f"engine {self.id} ({self.name}): {self.host_s(sequences) * 1e3:.2f} ms of host work added to every "
                f"step at {int(sequences)} sequences ({self.host_s_per_sequence * 1e3:g} ms per sequence + "
                f"{self.host_s_per_step * 1e3:g} ms per step; {self.note})")


@lru_cache(maxsize=1)
def _engines() -> dict[str, ServingEngine]:
    raw = yaml.safe_load(_DATA.read_text(encoding="utf-8")) or {}
    out = {}
    for row in raw.get("engines", []):
        if row["overlap"] not in OVERLAPS:  # llm.serve adds host time serially; another mode would be ignored
            raise ValueError(f"serving engine {row['id']!r}: overlap {row['overlap']!r} is not modelled; "
                             f"choose one of {', '.join(OVERLAPS)}")
        engine = ServingEngine(id=str(row["id"]), name=str(row["name"]), versions=str(row["versions"]),
                               overlap=str(row["overlap"]), host_s_per_step=float(row["host_s_per_step"]),
                               host_s_per_sequence=float(row["host_s_per_sequence"]), note=str(row.get("note", "")),
                               sources={str(k): str(v) for k, v in (row.get("sources") or {}).items()})
        out[engine.id] = engine
    return out


def engine_ids() -> list[str]:
    """The engine profiles there are, ``none`` first.

    >>> engine_ids()[0]
    'none'
    """
    return list(_engines())


def get(engine_id: str | None) -> ServingEngine:
    """The profile named `engine_id` (None: ``none``, kernels only).

    Raises:
        ValueError: an unknown name, with the ones there are.
    """
    key = (engine_id or DEFAULT_ENGINE).lower()
    try:
        return _engines()[key]
    except KeyError:
        raise ValueError(f"unknown serving engine {engine_id!r}; choose one of {', '.join(engine_ids())}") from None
