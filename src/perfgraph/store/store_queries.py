"""The store's reads: named queries, critical paths (also by predicted latency), stages of graphs too big
for one transaction, counts, and the ad-hoc Cypher the CLI and the tests run."""

from __future__ import annotations

from typing import Any

from neo4j.exceptions import Neo4jError

from perfgraph.queries.cypher_files import load
from perfgraph.queries.embedded import CriticalPath
from perfgraph.store.cypher_stages import (WEIGHT_PROPERTIES, back_pointers, frontier_loop, stages_and_paths,
                                           tx_runner, walk_back)
from perfgraph.store.store_errors import StoreError, first_line


class StoreQueries:
    """Neo4jStore's reads (a mixin: it runs them with the store's `_run`, `driver` and `database`)."""

    def has_model(self, model_id: str) -> bool:
        return self._run(False, lambda tx: tx.run("MATCH (m:Model {id: $id}) RETURN count(m) AS n",
                                                  id=model_id).single()["n"] > 0)

    def resolve_model_id(self, name_or_id: str) -> str:
        """A stored model's id from its id or its name (which must then be unambiguous)."""
        rows = self.run_cypher("MATCH (m:Model) WHERE m.id = $x OR m.name = $x RETURN m.id AS id ORDER BY id",
                               x=name_or_id)
        ids = [r["id"] for r in rows]
        if name_or_id in ids:
            return name_or_id
        if not ids:
            raise StoreError(f"no model {name_or_id!r} in {self.uri}; `perfgraph ingest {name_or_id}` stores it")
        if len(ids) > 1:
            raise StoreError(f"{name_or_id!r} names {len(ids)} stored models; pass one id: {', '.join(ids)}")
        return ids[0]

    def overlays(self, model_id: str, with_runtime: bool = False) -> list[dict[str, Any]]:
        """The (hardware, batch, precision) overlays stored for a model (with their runtime if asked)."""
        rows = self.query("overlay_list", model_id=model_id)
        return rows if with_runtime else [{k: v for k, v in r.items() if k != "runtime"} for r in rows]

    # -- queries ----------------------------------------------------------------------------------------
    def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run a named read query from queries/cypher/NAME.cypher."""
        text = load(name)
        return self._run(False, lambda tx: [r.data() for r in tx.run(text, **params)])

    def critical_path(self, model_id: str, weight: str = "flops", hardware: str | None = None,
                      batch: int | None = None, precision: str | None = None,
                      runtime: str = "compiled") -> CriticalPath:
        """Heaviest path by FLOPs, bytes, MACs, or predicted latency on `hardware` (needs the overlay).
        Runs the linear frontier loop; stages are rewritten identically, and the FLOP path marks stay."""
        def work(tx):
            if weight == "latency":
                tx.run(load("latency_weights"), model_id=model_id, hardware=hardware, batch=batch,
                       precision=precision, runtime=runtime).consume()
                return stages_and_paths(tx_runner(tx), [model_id], None, mark=False, label="latency")[model_id]
            if weight not in WEIGHT_PROPERTIES:
                raise StoreError(f"unknown critical-path weight {weight!r}; choose flops, bytes, macs or latency")
            return stages_and_paths(tx_runner(tx), [model_id], weight, mark=False)[model_id]

        return self._run(True, work)

    def compute_stages(self, model_id: str, weight: str = "flops") -> CriticalPath:
        """The frontier loop for graphs too big for one transaction's memory (the million-node benchmark
        DAGs): the per-node init and finish commit in batches, each round in its own transaction."""
        def run(text: str, **params: Any) -> list[dict[str, Any]]:
            return self._run(True, lambda tx: [r.data() for r in tx.run(text, **params)])

        prop = WEIGHT_PROPERTIES[weight]
        self._autocommit(load("stages_init_batched"), model_ids=[model_id], weight=prop)
        frontier_loop(run, [model_id], prop, init=False)
        cp = walk_back(back_pointers(run, [model_id])[model_id], weight)
        self._autocommit(load("stages_finish_batched"), model_id=model_id, path=cp.path)
        row = self.query("depth", model_id=model_id)[0]
        self.run_write("MATCH (m:Model {id: $id}) SET m.depth = $depth, m.widest_stage = $widest, m.width = $width",
                       id=model_id, depth=row["depth"], widest=row["widest_stage"], width=row["width"])
        return cp

    def _autocommit(self, text: str, **params: Any) -> None:
        """`CALL ... IN TRANSACTIONS` needs an auto-commit transaction (session.run), not a managed one."""
        try:
            with self.driver.session(database=self.database) as session:
                session.run(text, **params).consume()
        except Neo4jError as exc:
            raise StoreError(f"Neo4j error: {first_line(exc)}") from None

    def run_cypher(self, text: str, **params: Any) -> list[dict[str, Any]]:
        return self._run(False, lambda tx: [r.data() for r in tx.run(text, **params)])

    def run_write(self, text: str, **params: Any) -> Any:
        return self._run(True, lambda tx: tx.run(text, **params).consume())

    def counts(self, model_id: str) -> dict[str, int]:
        text = """
        MATCH (m:Model {id: $id})
        OPTIONAL MATCH (m)-[:HAS]->(s:Subgraph)
        WITH m, count(s) AS subgraphs
        OPTIONAL MATCH (o:Op {model_id: $id})
        WITH m, subgraphs, count(o) AS ops
        OPTIONAL MATCH (:Op {model_id: $id})-[f:FEEDS]->(:Op)
        WITH subgraphs, ops, count(f) AS op_edges
        OPTIONAL MATCH (:Subgraph {model_id: $id})-[g:FEEDS]->(:Subgraph)
        WITH subgraphs, ops, op_edges, count(g) AS subgraph_edges
        OPTIONAL MATCH (:Subgraph {model_id: $id})-[c:CONTAINS]->(:Op)
        RETURN subgraphs, ops, op_edges, subgraph_edges, count(c) AS contains
        """
        rows = self.run_cypher(text, id=model_id)
        return rows[0] if rows else {}
