"""The networkx queries on hand-made graphs whose answers are worked out by hand."""

from __future__ import annotations

from perfgraph.graph import ModelGraph, ModelInfo, Subgraph
from perfgraph.queries.embedded import critical_path, stage_summary, stages


def diamond() -> ModelGraph:
    """0 -> 1 -> 3, 0 -> 2 -> 3, 3 -> 4, and 5 alone.  FLOPs: 0:1, 1:10, 2:5, 3:1, 4:1, 5:20."""
    flops = [1, 10, 5, 1, 1, 20]
    nbytes = [1, 1, 100, 1, 1, 1]
    info = ModelInfo(id="m", name="m", source="test", batch=1, input_shape=[1], dtype="fp32")
    sgs = [Subgraph(uid=f"m/sg{i}", model_id="m", index=i, pattern="p", op_indices=[i], flops=f,
                    external_bytes=b) for i, (f, b) in enumerate(zip(flops, nbytes))]
    edges = [(0, 1, 4), (0, 2, 4), (1, 3, 4), (2, 3, 4), (3, 4, 4)]
    return ModelGraph(info=info, ops=[], values=[], op_edges=[], subgraphs=sgs, subgraph_edges=edges)


def test_stages_by_hand():
    st = stages(diamond())
    assert st == {0: 0, 5: 0, 1: 1, 2: 1, 3: 2, 4: 3}
    summary = stage_summary(st)
    assert summary.depth == 4
    assert summary.widths == [2, 2, 1, 1]
    assert summary.width == 2 and summary.widest_stage == 0


def test_critical_path_by_flops_and_by_bytes():
    mg = diamond()
    by_flops = critical_path(mg, "flops")
    assert by_flops.path == [5] and by_flops.total == 20  # the lone heavy node beats 0-1-3-4 (13)
    by_bytes = critical_path(mg, "bytes")
    assert by_bytes.path == [0, 2, 3, 4] and by_bytes.total == 103


def test_critical_path_with_external_weights():
    mg = diamond()
    latency = {0: 1.0, 1: 2.0, 2: 3.0, 3: 1.0, 4: 1.0, 5: 5.5}
    cp = critical_path(mg, "latency", node_weights=latency)
    assert cp.path == [0, 2, 3, 4] and cp.total == 6.0


def test_ties_go_to_the_lowest_index():
    mg = diamond()
    cp = critical_path(mg, "equal", node_weights={i: 1.0 for i in range(6)})
    assert cp.path == [0, 1, 3, 4]
