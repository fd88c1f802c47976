"""The examples run as users run them (`.venv/bin/python examples/X.py`), so they never rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_quickstart_prints_a_summary():
    out = _run("examples/quickstart.py")
    assert out.startswith("resnet18  (batch 1, fp32, input [1, 3, 224, 224])")
    assert "1,814,073,344" in out  # MACs
    assert "ours / published = 1.0000" in out
    assert "heaviest kernels:" in out


def test_quickstart_takes_a_model_name():
    out = _run("examples/quickstart.py", "synthetic:mlp")
    assert out.startswith("synthetic:mlp")


def test_compare_models_prints_three_rows():
    out = _run("examples/compare_models.py")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["model", "params", "MACs"]
    body = [ln for ln in lines[2:] if ln.strip() and not ln.startswith("bytes =")]
    assert [ln.split()[0] for ln in body] == ["resnet50", "mobilenet_v2", "vit_b_16"]
    assert all(ln.rstrip().endswith("pass") for ln in body)


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "examples").glob("*.py")))
def test_every_example_is_covered(script):
    assert script in {"quickstart.py", "compare_models.py"}, f"add a test for examples/{script}"
