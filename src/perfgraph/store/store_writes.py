"""The store's writes besides ingest: mapping overlays, phase links, and deleting models, each in one
managed transaction under the models' write locks."""

from __future__ import annotations

from typing import Any

from neo4j import ManagedTransaction

from perfgraph.queries.cypher_files import load
from perfgraph.store.cypher_stages import lock_models, unlock_models
from perfgraph.store.store_errors import StoreError


class StoreWrites:
    """Neo4jStore's overlay, link and delete writes (a mixin: they run with the store's `_run`,
    `ensure_schema` and `uri`)."""

    def delete_model(self, model_id: str) -> None:
        self.delete_models([model_id])

    def delete_models(self, model_ids: list[str]) -> None:
        """Remove models with everything they own, in one transaction."""
        def work(tx: ManagedTransaction) -> None:
            lock_models(tx, list(model_ids))  # never under a concurrent ingest of the same model
            tx.run(load("delete_model"), model_ids=list(model_ids)).consume()
            unlock_models(tx, list(model_ids))

        self.ensure_schema()
        self._run(True, work)

    # -- mapping overlay ---------------------------------------------------------------------------------
    def write_overlay(self, model_id: str, hardware: dict[str, Any], batch: int, precision: str,
                      rows: list[dict[str, Any]], model_row: dict[str, Any], runtime: str = "compiled") -> dict[str, Any]:
        """Write one (model, hardware, batch, precision, runtime) mapping overlay in ONE managed transaction:
        MERGE the (:Hardware) node, drop the MAPPED_TO rels with the same key, then write the model's and every
        subgraph's (`rows`: [{uid, index, props}], see `perfgraph.engine.overlay`). Re-running replaces.
        Returns {"result": "created" | "replaced", "subgraphs": n}."""
        self.ensure_schema()
        if hasattr(hardware, "to_properties"):
            hardware = hardware.to_properties()
        hw_id = hardware["id"]
        precision = precision.lower()

        def work(tx: ManagedTransaction) -> dict[str, Any]:
            lock_models(tx, [model_id])  # a concurrent --replace of the model cannot swap its kernels under us
            n = tx.run("MATCH (m:Model {id: $id}) RETURN m.subgraphs AS n", id=model_id).single()
            if n is None:
                raise StoreError(f"no model {model_id!r} in {self.uri}: ingest it before writing its overlay")
            tx.run(load("overlay_hardware"), hardware=hardware).consume()
            gone = tx.run(load("overlay_delete"), model_id=model_id, hardware=hw_id, batch=batch,
                          precision=precision, runtime=runtime).single()
            written = tx.run(load("overlay_write"), model_id=model_id, hardware=hw_id, batch=batch,
                             precision=precision, runtime=runtime, model=model_row, rows=rows).single()["subgraphs"]
            if written != len(rows):  # raising rolls the whole transaction back
                raise StoreError(f"overlay for {model_id} matched {written} of {len(rows)} subgraphs; "
                                 "was the model re-ingested with another partition?")
            replaced = gone["subgraph_rels"] + gone["model_rels"] > 0
            unlock_models(tx, [model_id])
            return {"result": "replaced" if replaced else "created", "subgraphs": written}

        return self._run(True, work)

    def link_phase(self, phase_id: str, source: str, source_name: str, props: dict[str, Any]) -> None:
        """(:Model {id: phase_id})-[:PHASE_OF props]->(:Model {id: source}) in one managed transaction, the
        source created as a stub when not stored (`perfgraph.phase_link`). Re-running replaces the props."""
        self.ensure_schema()

        def work(tx: ManagedTransaction) -> None:
            lock_models(tx, [phase_id, source])
            row = tx.run(load("phase_link"), phase_id=phase_id, source=source, source_name=source_name,
                         props=props).single()
            if row is None or row["links"] != 1:
                raise StoreError(f"no model {phase_id!r} in {self.uri}: ingest the phase before linking it")
            unlock_models(tx, [phase_id, source])

        self._run(True, work)
