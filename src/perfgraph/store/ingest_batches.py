"""What an ingest sends: models grouped into transactions of whole models (`model_batches`), each model as
the columns write_model_graphs.cypher takes, and the element counts behind both."""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import Any

from perfgraph.graph import ModelGraph, Op, Subgraph


# Ingest: whole models share transactions of up to this many nodes + relationships, and this many such
# transactions run at once (the best of a sweep over both on the zoo: docs/neo4j-performance.md).
INGEST_BATCH_ELEMENTS = 5_000
INGEST_WORKERS = 6
# Properties written as they are; stage and on_critical_path are computed in Cypher, never copied.
OP_FIELDS = [f.name for f in dataclasses.fields(Op) if f.name not in ("inputs", "outputs")]
SUBGRAPH_FIELDS = [f.name for f in dataclasses.fields(Subgraph)
                   if f.name not in ("op_indices", "stage", "on_critical_path")]


def graph_columns(mg: ModelGraph) -> dict[str, Any]:
    """One model as write_model_graphs.cypher takes it: a list per property (columns), so the driver
    sends each key once per model rather than once per row (half the bytes, half the packing time)."""
    def cols(items: list[Any], fields: list[str]) -> dict[str, list[Any]]:
        if not items:
            return {f: [] for f in fields}
        return dict(zip(fields, map(list, zip(*map(attrgetter(*fields), items)))))

    def edges(triples: list[tuple[int, int, int]]) -> dict[str, list[int]]:
        return {"s": [s for s, _, _ in triples], "d": [d for _, d, _ in triples], "b": [b for _, _, b in triples]}

    return {
        "model": {k: v for k, v in dataclasses.asdict(mg.info).items() if v is not None},
        "ops": cols(mg.ops, OP_FIELDS),
        "subgraphs": cols(mg.subgraphs, SUBGRAPH_FIELDS),
        "op_edges": edges(mg.op_edges),
        "subgraph_edges": edges(mg.subgraph_edges),
        "contains": {"s": [sg.index for sg in mg.subgraphs for _ in sg.op_indices],
                     "o": [i for sg in mg.subgraphs for i in sg.op_indices]},
    }


class Unlogged(list):
    """A query parameter with a short repr. The driver formats every RUN for its debug log before the log
    level is checked (neo4j 6.4 `_bolt5.py`: `" ".join(map(repr, fields))`): the repr of a transaction's
    columns cost a large share of the client's CPU in an ingest. Packed like any list."""

    def __repr__(self) -> str:
        return f"<{len(self)} model graphs>"


def model_batches(graphs: list[ModelGraph], limit: int) -> list[list[ModelGraph]]:
    """Consecutive groups of whole models of at most `limit` elements (a bigger model goes alone)."""
    out: list[list[ModelGraph]] = []
    size = 0
    for g in graphs:
        n = element_count(g)
        if not out or size + n > limit:
            out.append([])
            size = 0
        out[-1].append(g)
        size += n
    return out


def element_count(mg: ModelGraph) -> int:
    """Nodes + relationships one model writes (for throughput figures)."""
    nodes = 1 + len(mg.ops) + len(mg.subgraphs)
    rels = len(mg.op_edges) + len(mg.subgraph_edges) + len(mg.subgraphs) + sum(len(s.op_indices) for s in mg.subgraphs)
    return nodes + rels
