"""A check's result and a model's check report, with the names every check shares."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAC_KINDS = ("conv", "matmul", "attention")
PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class CheckResult:
    name: str
    status: str  # pass | fail | skip
    measured: str
    expected: str
    group: str = "universal"  # "universal" or the family name
    source: str = ""
    detail: str = ""  # on failure: the first offending item

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckReport:
    model: str
    model_id: str
    family: str | None
    family_note: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]

    def as_dict(self) -> dict[str, Any]:
        counts = {s: sum(r.status == s for r in self.results) for s in (PASS, FAIL, SKIP)}
        return {"model": self.model, "id": self.model_id, "family": self.family, "family_note": self.family_note,
                "passed": self.passed, "counts": counts, "checks": [r.as_dict() for r in self.results]}
