"""The in-process twins of the Cypher queries, over networkx: stages, depth, widest stage, critical paths.

Definitions (shared/design.md): a subgraph's stage is 0 without predecessors, else 1 + the largest stage of
its predecessors; the depth is the number of stages; the critical path is the path with the largest total
node weight (FLOPs, external bytes, or predicted latency).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from perfgraph.graph import ModelGraph

WEIGHTS = {"flops": "flops", "bytes": "external_bytes", "macs": "macs"}


def subgraph_dag(mg: ModelGraph) -> nx.DiGraph:
    g = nx.DiGraph()
    for sg in mg.subgraphs:
        g.add_node(sg.index, flops=sg.flops, macs=sg.macs, external_bytes=sg.external_bytes)
    for src, dst, nbytes in mg.subgraph_edges:
        g.add_edge(src, dst, bytes=nbytes)
    return g


def stages(mg: ModelGraph) -> dict[int, int]:
    """subgraph index -> stage, by `topological_generations` (linear in nodes + edges)."""
    return {n: k for k, generation in enumerate(nx.topological_generations(subgraph_dag(mg))) for n in generation}


@dataclass
class StageSummary:
    depth: int
    widest_stage: int  # the stage with the most subgraphs
    width: int  # its number of subgraphs: the graph-level parallelism
    widths: list[int]  # subgraphs per stage


def stage_summary(stage_of: dict[int, int]) -> StageSummary:
    if not stage_of:
        return StageSummary(0, 0, 0, [])
    widths = [0] * (max(stage_of.values()) + 1)
    for s in stage_of.values():
        widths[s] += 1
    widest = max(range(len(widths)), key=lambda s: (widths[s], -s))
    return StageSummary(len(widths), widest, widths[widest], widths)


@dataclass
class CriticalPath:
    weight: str
    total: float
    path: list[int]  # subgraph indices, source to sink


def critical_path(mg: ModelGraph, weight: str = "flops", node_weights: dict[int, float] | None = None) -> CriticalPath:
    """Longest path by node weight. `weight` is flops, bytes, macs, or any name when `node_weights`
    (e.g. predicted latency per subgraph) is given. Linear: one pass in topological order."""
    g = subgraph_dag(mg)
    if node_weights is None:
        attr = WEIGHTS.get(weight)
        if attr is None:
            raise ValueError(f"unknown critical-path weight {weight!r}; choose from {', '.join(WEIGHTS)}")
        node_weights = {n: g.nodes[n][attr] for n in g}
    dist: dict[int, float] = {}
    back: dict[int, int | None] = {}
    for n in nx.topological_sort(g):
        preds = list(g.predecessors(n))
        # Ties go to the lowest index so that Neo4j and networkx agree on the path.
        arg = max(preds, key=lambda p: (dist[p], -p)) if preds else None
        dist[n] = (dist[arg] if arg is not None else 0.0) + node_weights[n]
        back[n] = arg
    if not dist:
        return CriticalPath(weight, 0.0, [])
    end = max(dist, key=lambda n: (dist[n], -n))
    path = [end]
    while back[path[-1]] is not None:
        path.append(back[path[-1]])
    return CriticalPath(weight, dist[end], path[::-1])


def is_dag(mg: ModelGraph) -> bool:
    return nx.is_directed_acyclic_graph(subgraph_dag(mg))
