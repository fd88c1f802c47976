"""Every docstring example in the package runs (`>>>` lines are documentation that must not rot)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MODULES = sorted(".".join(p.relative_to(SRC).with_suffix("").parts)
                 for p in (SRC / "perfgraph").rglob("*.py") if ">>>" in p.read_text(encoding="utf-8"))


def test_the_package_has_docstring_examples():
    assert "perfgraph.measure.sequences" in MODULES and "perfgraph.engine.runtime" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, f"{name}: {result}"
