"""The meta fast path must not change anything: recordings with and without it are identical."""

from __future__ import annotations

import dataclasses

import pytest

from perfgraph.analysis import analyze_graph
from perfgraph.ingest import meta_fast


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "efficientnet_b0", "swin_t", "convnext_tiny", "vit_b_16",
                                  "densenet121", "hf:gpt2", "synthetic:transformer_encoder"])
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_fast_path_records_the_same_graph(name, dtype, monkeypatch):
    params = {"seq_len": "16"} if name.startswith("hf:") else None
    fast = analyze_graph(name, dtype=dtype, params=params)
    monkeypatch.setattr(meta_fast, "ENABLED", False)
    slow = analyze_graph(name, dtype=dtype, params=params)
    assert [dataclasses.asdict(o) for o in fast.ops] == [dataclasses.asdict(o) for o in slow.ops]
    assert fast.values == slow.values
    assert fast.subgraphs == slow.subgraphs and fast.subgraph_edges == slow.subgraph_edges
