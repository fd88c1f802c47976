"""Stages and critical paths computed in Cypher (the stage pass, Kahn's frontier loop, the walk back along
the heaviest path), and the per-model write locks that keep concurrent writers of one model apart."""

from __future__ import annotations

from typing import Any, Callable

from neo4j import ManagedTransaction

from perfgraph.queries.cypher_files import load, unrolled
from perfgraph.queries.embedded import CriticalPath
from perfgraph.store.store_errors import StoreError


ROUNDS_PER_QUERY = 8  # Kahn rounds per query (stages_round.cypher): far fewer round trips than 1, cheap to plan
WEIGHT_PROPERTIES = {"flops": "flops", "bytes": "external_bytes", "macs": "macs"}

Runner = Callable[..., list[dict[str, Any]]]  # (cypher text, **params) -> rows


def lock_models(tx: ManagedTransaction, model_ids: list[str]) -> None:
    """Take this transaction's write lock on each model id (model_lock.cypher), in one global order."""
    tx.run(load("model_lock"), ids=sorted(set(model_ids))).consume()


def unlock_models(tx: ManagedTransaction, model_ids: list[str]) -> None:
    tx.run(load("model_unlock"), ids=sorted(set(model_ids))).consume()


def tx_runner(tx: ManagedTransaction) -> Runner:
    # The stage queries return plain values (numbers, strings, lists of them): the raw items, not data(),
    # which walks every nested value (a large share of the client's CPU in an ingest).
    return lambda text, **params: [dict(r.items()) for r in tx.run(text, **params)]


def stages_and_paths(run: Runner, model_ids: list[str], weight: str | None, mark: bool,
                      label: str | None = None, clean: bool = True) -> dict[str, CriticalPath]:
    """Stages and critical-path distances in Cypher for several models at once, O(V + E): one pass in
    index order (stages_pass.cypher: ingested kernels are numbered topologically), or Kahn's frontier loop
    when the stored order is not topological. Then each model's heaviest path is walked back; with `mark`
    it is marked and depth and width are stored (stages_finish), else the scratch properties are dropped."""
    prop = WEIGHT_PROPERTIES[weight] if weight else None
    passed = run(load("stages_pass"), model_ids=model_ids, weight=prop)
    if any(r["disorder"] for r in passed):
        frontier_loop(run, model_ids, prop)
        rows = back_pointers(run, model_ids)
    else:
        rows = {i: [] for i in model_ids}
        rows.update({r["model_id"]: _subgraph_rows(r["subgraphs"]) for r in passed})
    paths = {i: walk_back(rows[i], label or weight or "latency") for i in model_ids}
    if mark:  # marks the FLOP path, stores depth and width, drops the scratch properties
        run(load("stages_finish"), paths=[{"model_id": i, "path": paths[i].path} for i in model_ids])
    elif clean:
        run(load("stages_clean"), model_ids=model_ids)
    return paths


def frontier_loop(run: Runner, model_ids: list[str], prop: str | None, init: bool = True) -> None:
    """Kahn's algorithm in Cypher, stage by stage, for any DAG whatever its numbering: stages and
    critical-path distances in O(V + E). The frontiers of several models advance together. `run`
    executes one query: inside the caller's transaction, or each in its own."""
    if init:
        run(load("stages_init"), model_ids=model_ids, weight=prop)
    k = 0
    while True:
        row = run(unrolled("stages_round", ROUNDS_PER_QUERY), model_ids=model_ids, k=k)[0]
        if row["released"] == 0:
            break
        k = row["stage"]


def back_pointers(run: Runner, model_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each model's subgraphs as [{index, dist, back}] after the frontier loop (critical_path_mark.cypher)."""
    rows: dict[str, list[dict[str, Any]]] = {i: [] for i in model_ids}
    for r in run(load("critical_path_mark"), model_ids=model_ids):
        rows[r["model_id"]] = _subgraph_rows(r["subgraphs"])
    return rows


def _subgraph_rows(columns: list[list[Any]]) -> list[dict[str, Any]]:
    return [{"index": i, "dist": d, "back": b} for i, d, b in columns]


def walk_back(rows: list[dict[str, Any]], weight: str) -> CriticalPath:
    if not rows:
        return CriticalPath(weight, 0.0, [])
    by_index = {r["index"]: r for r in rows}
    end = max(rows, key=lambda r: (r["dist"], -r["index"]))
    path = [end["index"]]
    while by_index[path[-1]]["back"] is not None:
        if len(path) > len(rows):  # back pointers never cycle in a DAG; fail loudly rather than loop
            raise StoreError(f"critical path: back pointers form a cycle at subgraph {path[-1]}")
        path.append(by_index[path[-1]]["back"])
    return CriticalPath(weight, float(end["dist"]), path[::-1])
