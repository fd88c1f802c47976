"""Validation: universal checks that hold for every costed model graph, and family profiles with
expected ranges taken from published figures.

`invariants` holds the universal checks, `families` the family profiles (published figures per member),
`family_checks` the checks of a graph against its profile, `results` the result and report types; `run_checks`
below runs them all. Nothing here imports torch: checks run on the plain dataclasses of `perfgraph.graph`.
"""

from __future__ import annotations

from perfgraph.checks.families import (ACTIVATION_OPS, FAMILIES, FAMILY_CHOICES, TV, FamilyProfile, Member, Range,
                                       detect_family)
from perfgraph.checks.family_checks import family_checks
from perfgraph.checks.invariants import UNIVERSAL, UniversalCheck, universal_checks
from perfgraph.checks.results import FAIL, MAC_KINDS, PASS, SKIP, CheckReport, CheckResult
from perfgraph.graph import ModelGraph

__all__ = [
    "ACTIVATION_OPS", "FAIL", "FAMILIES", "FAMILY_CHOICES", "MAC_KINDS", "PASS", "SKIP", "TV", "UNIVERSAL",
    "CheckReport", "CheckResult", "FamilyProfile", "Member", "Range", "UniversalCheck",
    "detect_family", "family_checks", "run_checks", "universal_checks",
]


def run_checks(mg: ModelGraph, family: str = "auto") -> CheckReport:
    """Universal checks, then the family profile (`auto`: by model name; `none`: universal only)."""
    family = (family or "auto").lower()
    if family not in FAMILY_CHOICES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILY_CHOICES)}")
    note = ""
    chosen: str | None
    if family == "auto":
        chosen = detect_family(mg.info.name)
        note = (f"family {chosen} (detected from the name)" if chosen
                else f"no family profile matches {mg.info.name}: universal checks only")
    elif family == "none":
        chosen, note = None, "universal checks only (--family none)"
    else:
        chosen, note = family, f"family {family} (as asked)"
    report = CheckReport(mg.info.name, mg.info.id, chosen, note, universal_checks(mg))
    if chosen:
        report.results += family_checks(mg, chosen)
    return report
