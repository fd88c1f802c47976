"""Shared by the hardware and engine tests: a fixture that isolates the user's hardware directories, and
builders for hand-made ops and subgraphs (the hand-computed mapping cases)."""

from __future__ import annotations

import pytest

from perfgraph.graph import Op, Subgraph


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Never read the developer's own ~/.config/perfgraph/hardware or a stray env var."""
    monkeypatch.delenv("PERFGRAPH_HARDWARE_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def op(index, kind, *, macs=0, flops=0, bytes_read=0, bytes_written=0, weight_bytes=0, shape=(), dtype="torch.float32"):
    return Op(uid=f"m/op{index}", model_id="m", index=index, name=f"op{index}", target=f"aten.{kind}", kind=kind,
              macs=macs, flops=flops, bytes_read=bytes_read, bytes_written=bytes_written,
              weight_bytes=weight_bytes, output_shape=list(shape), dtype=dtype)


def subgraph(index, ops, *, input_bytes=0, output_bytes=0, weight_bytes=0, pattern=""):
    macs = sum(o.macs for o in ops)
    flops = sum(o.flops for o in ops)
    ext = input_bytes + output_bytes + weight_bytes
    return Subgraph(uid=f"m/sg{index}", model_id="m", index=index, pattern=pattern or "+".join(o.kind for o in ops),
                    op_indices=[o.index for o in ops], macs=macs, flops=flops, external_bytes=ext,
                    input_bytes=input_bytes, output_bytes=output_bytes, weight_bytes=weight_bytes,
                    intensity=flops / ext if ext else 0.0, anchor_kind=ops[0].kind)
