"""The Neo4j store: write model graphs, compute stages and critical paths in Cypher, run named queries.

Every write is a managed transaction (`session.execute_write(unit_of_work)`), and a model's ingest -- its
nodes, edges, stages and critical path -- never spans two transactions, so a model is fully present or
absent even when the process dies half way. Small models share a transaction (`ingest_many`): one write
statement and one frontier loop serve them all, which saves the per-query round trips that dominate them. All Cypher lives in `queries/cypher/*.cypher` and is parameterised.

URIs: `bolt://host:7687` for one server; `neo4j://host:7687` asks the server for a routing table (clusters,
also fine against a single server); `neo4j+s://xxxx.databases.neo4j.io` for Aura (TLS).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from typing import Any, Callable

from neo4j import GraphDatabase, ManagedTransaction
from neo4j.exceptions import AuthError, ClientError, Neo4jError, ServiceUnavailable, SessionExpired

from perfgraph.graph import ModelGraph, Op, Subgraph
from perfgraph.queries.cypher_files import load, statements, unrolled
from perfgraph.queries.embedded import CriticalPath

# Ingest: whole models share transactions of up to this many nodes + relationships, and this many such
# transactions run at once (swept on the zoo, 2 cores, warm server: 6 x 5 000 ingested 44-61 k elements/s,
# 4 x 10 000 39-41 k/s, 8 x 5 000 46 k/s, one model per transaction one at a time 25-31 k/s).
INGEST_BATCH_ELEMENTS = 5_000
INGEST_WORKERS = 6
ROUNDS_PER_QUERY = 8  # Kahn rounds per query (stages_round.cypher): 5x fewer round trips than 1, cheap to plan
WEIGHT_PROPERTIES = {"flops": "flops", "bytes": "external_bytes", "macs": "macs"}
# Properties written as they are; stage and on_critical_path are computed in Cypher, never copied.
OP_FIELDS = [f.name for f in dataclasses.fields(Op) if f.name not in ("inputs", "outputs")]
SUBGRAPH_FIELDS = [f.name for f in dataclasses.fields(Subgraph)
                   if f.name not in ("op_indices", "stage", "on_critical_path")]


# The driver logs each transaction retry as a WARNING; with no logging configured Python would print them to
# stderr as multi-line noise under our one-line errors. A NullHandler keeps them out unless the application
# configures logging itself (its handlers still receive them).
logging.getLogger("neo4j").addHandler(logging.NullHandler())


# Server codes of a transaction the server ended under the client (shutdown, kill, timeout).
TERMINATED_CODES = frozenset({
    "Neo.ClientError.Transaction.LockClientStopped", "Neo.ClientError.Transaction.Terminated",
    "Neo.TransientError.Transaction.Terminated", "Neo.TransientError.Transaction.LockClientStopped",
    "Neo.ClientError.Transaction.TransactionTimedOut", "Neo.TransientError.General.DatabaseUnavailable",
})


class StoreError(RuntimeError):
    """A store failure, in one line that never contains credentials."""


def connect_from_env(uri: str | None = None, user: str | None = None, password: str | None = None,
                     database: str | None = None, home: str | os.PathLike | None = None) -> "Neo4jStore":
    """A store from explicit arguments or NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD / NEO4J_DATABASE.

    Without a URI: the running server of `perfgraph neo4j start --home HOME` (without `home`: of the last
    `perfgraph neo4j start`, else of the default home). Without a password: that local server's stored
    one, but only when the URI is that server's own Bolt address (`neo4j_server.password_for`)."""
    from perfgraph.store import neo4j_server as ns

    uri = uri or os.environ.get("NEO4J_URI")
    origin = None
    if not uri:
        server = ns.running_server(home)
        if server is None:
            raise StoreError(_no_server_message(home))
        uri, origin = server.bolt_uri, f"the local server of {server.home}"
    user = user or os.environ.get("NEO4J_USER", "neo4j")
    password = password if password is not None else os.environ.get("NEO4J_PASSWORD")
    if password is None:
        password = ns.password_for(uri, home)
    store = Neo4jStore(uri, user, password, database or os.environ.get("NEO4J_DATABASE"))
    store.origin = origin
    return store


def _no_server_message(home: str | os.PathLike | None) -> str:
    if home:
        return (f"no Neo4j server runs for --home {home}: start it with `perfgraph neo4j start --home {home}`, "
                "or pass --uri")
    from perfgraph.store.neo4j_server import last_started_home

    last = last_started_home()
    stopped = f" (the last one started, --home {last}, is not running)" if last else ""
    return (f"no Neo4j URI and no local server running{stopped}: pass --uri or set NEO4J_URI "
            "(e.g. bolt://127.0.0.1:7687), or --home DIR for a server started with "
            "`perfgraph neo4j start --home DIR`; `perfgraph neo4j start` runs a local server")


# Schemes the driver speaks Bolt over (+s: TLS with verified certificates, +ssc: self-signed accepted).
URI_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
# Seconds to open a connection, Bolt handshake and login included: a port that accepts but never answers
# fails after this, not after the driver's 60 s default.
CONNECT_TIMEOUT_S = 5.0


def check_uri(uri: str) -> str:
    """`uri` itself when its scheme is one perfgraph accepts, else a StoreError naming them."""
    scheme, sep, _ = uri.partition("://")
    if not sep or scheme.lower() not in URI_SCHEMES:
        raise StoreError(f"unsupported Neo4j URI {display_uri(uri)!r}: use one of the schemes "
                         f"{', '.join(URI_SCHEMES)} (e.g. bolt://127.0.0.1:7687)")
    return uri


def display_uri(uri: str) -> str:
    """`uri` without any user:password@ part (messages never show credentials)."""
    scheme, sep, rest = uri.partition("://")
    netloc, slash, path = rest.partition("/")
    return f"{scheme}{sep}{netloc.rpartition('@')[2]}{slash}{path}" if sep else uri.rpartition("@")[2]


class Neo4jStore:
    def __init__(self, uri: str, user: str | None = "neo4j", password: str | None = None, database: str | None = None):
        check_uri(uri)
        self.uri = display_uri(uri)
        self.user = user
        self.database = database
        self.origin: str | None = None  # how the URI was found when not given (connect_from_env)
        self._sent_password = password is not None
        auth = (user, password) if password is not None else None
        try:
            self.driver = GraphDatabase.driver(uri, auth=auth, connection_timeout=CONNECT_TIMEOUT_S,
                                               connection_acquisition_timeout=CONNECT_TIMEOUT_S,
                                               max_transaction_retry_time=15)
        except (ValueError, Neo4jError) as exc:
            raise StoreError(f"bad Neo4j URI {self.uri!r}: {_first_line(exc)}") from None
        self._schema_ready = False

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> "Neo4jStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------------------
    def _run(self, write: bool, unit_of_work: Callable[[ManagedTransaction], Any]) -> Any:
        return self._translated(lambda: self._session_run(write, unit_of_work))

    def _session_run(self, write: bool, unit_of_work: Callable[[ManagedTransaction], Any]) -> Any:
        def without_memory_retries(tx: ManagedTransaction) -> Any:
            try:
                return unit_of_work(tx)
            except Neo4jError as exc:
                if _out_of_memory(exc):  # transient to the driver, but the same work fails the same way again
                    raise _OutOfMemory(exc) from None
                raise

        with self.driver.session(database=self.database) as session:
            return (session.execute_write if write else session.execute_read)(without_memory_retries)

    def _translated(self, call: Callable[[], Any]) -> Any:
        """Run `call`, turning driver errors into one-line StoreErrors (never with credentials)."""
        try:
            return call()
        except AuthError:
            if not self._sent_password:
                raise StoreError(_no_password_message(self.uri)) from None
            raise StoreError(f"Neo4j at {self.uri} refused the credentials for user {self.user!r}") from None
        except _OutOfMemory as oom:
            raise StoreError(_out_of_memory_message(self.uri, oom.error)) from None
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            raise StoreError(f"cannot reach Neo4j at {self.uri}: {_unreachable_reason(exc)}") from None
        except Neo4jError as exc:
            if getattr(exc, "code", None) in TERMINATED_CODES:  # e.g. the server shut down under the query
                raise StoreError(f"Neo4j at {self.uri} terminated the transaction ({exc.code}): the server "
                                 "stopped, or the query was killed or timed out") from None
            if _out_of_memory(exc):  # raised outside a unit of work (a commit)
                raise StoreError(_out_of_memory_message(self.uri, exc)) from None
            if isinstance(exc, ClientError):
                raise StoreError(f"Neo4j rejected a query: {exc.code}: {_first_line(exc.message or exc)}") from None
            raise StoreError(f"Neo4j error: {exc.code}: {_first_line(exc.message or exc)}") from None

    def verify(self) -> str:
        """Check the connection and credentials; return the server's version. An unreachable server fails
        at once (no retries)."""
        self._translated(self.driver.verify_connectivity)

        def work(tx):
            return tx.run("CALL dbms.components() YIELD versions RETURN versions[0] AS v").single()["v"]
        return self._run(False, work)

    def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        for stmt in statements("schema"):
            self._run(True, lambda tx, s=stmt: tx.run(s).consume())
        self._schema_ready = True

    # -- ingest ---------------------------------------------------------------------------------------
    def has_model(self, model_id: str) -> bool:
        return self._run(False, lambda tx: tx.run("MATCH (m:Model {id: $id}) RETURN count(m) AS n",
                                                  id=model_id).single()["n"] > 0)

    def ingest(self, mg: ModelGraph, replace: bool = False, timings: dict[str, float] | None = None) -> str:
        """Write one model with its stages and FLOP critical path, all in one transaction.

        Returns "created", "replaced", or "exists" (already stored and `replace` is False: nothing written).
        `timings`, when given, receives the seconds spent writing and computing stages (for benchmarks).
        """
        return self.ingest_many([mg], replace=replace, timings=timings)[mg.info.id]

    def ingest_many(self, graphs: list[ModelGraph], replace: bool = False,
                    timings: dict[str, float] | None = None, batch_elements: int = INGEST_BATCH_ELEMENTS,
                    workers: int = INGEST_WORKERS,
                    on_error: Callable[[ModelGraph, "StoreError"], None] | None = None,
                    on_done: Callable[[list[ModelGraph]], None] | None = None) -> dict[str, str]:
        """Write several models, each with its stages and FLOP critical path, each all-or-nothing.

        Models share a transaction up to `batch_elements` nodes + relationships (one write statement and
        one stage pass serve them all), and up to `workers` such transactions run at once, each in its own
        session: while one waits on the server (execution, commit) another's parameters are being packed,
        which roughly doubles throughput even on two cores. Models are disjoint, so the transactions take
        no common locks. A model is never split across transactions, so each is fully present or absent
        whatever happens. When a shared transaction fails, its models are retried one per transaction, so
        one bad model costs only itself: `on_error(graph, error)` receives it (without `on_error` the first
        error is raised). Returns {model id: "created" | "replaced" | "exists"}; `timings` accumulates
        writes_s and stages_s (summed over the concurrent transactions). `on_done(graphs)` is called after
        each committed transaction (progress bars), from one thread at a time.
        """
        ids = [g.info.id for g in graphs]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise StoreError(f"the same model id twice in one ingest: {', '.join(dup)}")
        self.ensure_schema()
        lock = threading.Lock()

        def one_batch(batch: list[ModelGraph]) -> dict[str, str]:
            done: dict[str, str] = {}
            failed: list[tuple[ModelGraph, StoreError]] = []
            try:
                done.update(self._ingest_batch(batch, replace, timings, lock))
            except StoreError as exc:
                if _unreachable(exc) or (len(batch) == 1 and on_error is None):
                    raise
                if len(batch) == 1:
                    failed.append((batch[0], exc))
                else:
                    for g in batch:  # isolate the failing model(s); the others still go in
                        try:
                            done.update(self._ingest_batch([g], replace, timings, lock))
                        except StoreError as one:
                            if on_error is None or _unreachable(one):
                                raise
                            failed.append((g, one))
            with lock:
                for g, exc in failed:
                    on_error(g, exc)
                if on_done is not None:
                    on_done(batch)
            return done

        results: dict[str, str] = {}
        batches = _batches(graphs, batch_elements)
        if workers <= 1 or len(batches) == 1:
            for batch in batches:
                results.update(one_batch(batch))
            return results
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perfgraph-ingest") as pool:
            for done in pool.map(one_batch, batches):  # re-raises the first error, in batch order
                results.update(done)
        return results

    def _ingest_batch(self, batch: list[ModelGraph], replace: bool, timings: dict[str, float] | None,
                      lock: threading.Lock | None = None) -> dict[str, str]:
        """One transaction: (re)write the models of `batch` that need it, then their stages and paths."""
        ids = [g.info.id for g in batch]
        columns = {g.info.id: _columns(g) for g in batch}

        def work(tx: ManagedTransaction) -> tuple[dict[str, str], float, float]:
            t0 = time.perf_counter()
            _lock_models(tx, ids)  # before reading what is stored: concurrent writers of a model queue here
            stored = {r["id"] for r in tx.run("UNWIND $ids AS id MATCH (m:Model {id: id}) RETURN id", ids=ids)}
            states = {i: ("replaced" if i in stored else "created") if (replace or i not in stored) else "exists"
                      for i in ids}
            todo = [i for i in ids if states[i] != "exists"]
            if not todo:
                _unlock_models(tx, ids)
                return states, 0.0, 0.0
            if replace and stored:
                tx.run(load("delete_model"), model_ids=[i for i in todo if i in stored]).consume()
            tx.run(load("write_model_graphs"), graphs=_Unlogged(columns[i] for i in todo)).consume()
            t = time.perf_counter()
            _stages_and_paths(_tx_runner(tx), todo, "flops", mark=True)
            _unlock_models(tx, ids)
            return states, t - t0, time.perf_counter() - t

        states, writes_s, stages_s = self._run(True, work)
        if timings is not None:
            with lock or contextlib.nullcontext():
                timings["writes_s"] = timings.get("writes_s", 0.0) + writes_s
                timings["stages_s"] = timings.get("stages_s", 0.0) + stages_s
        return states

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

    def delete_model(self, model_id: str) -> None:
        self.delete_models([model_id])

    def delete_models(self, model_ids: list[str]) -> None:
        """Remove models with everything they own, in one transaction."""
        def work(tx: ManagedTransaction) -> None:
            _lock_models(tx, list(model_ids))  # never under a concurrent ingest of the same model
            tx.run(load("delete_model"), model_ids=list(model_ids)).consume()
            _unlock_models(tx, list(model_ids))

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
            _lock_models(tx, [model_id])  # a concurrent --replace of the model cannot swap its kernels under us
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
            _unlock_models(tx, [model_id])
            return {"result": "replaced" if replaced else "created", "subgraphs": written}

        return self._run(True, work)

    def link_phase(self, phase_id: str, source: str, source_name: str, props: dict[str, Any]) -> None:
        """(:Model {id: phase_id})-[:PHASE_OF props]->(:Model {id: source}) in one managed transaction, the
        source created as a stub when not stored (`perfgraph.phase_link`). Re-running replaces the props."""
        self.ensure_schema()

        def work(tx: ManagedTransaction) -> None:
            _lock_models(tx, [phase_id, source])
            row = tx.run(load("phase_link"), phase_id=phase_id, source=source, source_name=source_name,
                         props=props).single()
            if row is None or row["links"] != 1:
                raise StoreError(f"no model {phase_id!r} in {self.uri}: ingest the phase before linking it")
            _unlock_models(tx, [phase_id, source])

        self._run(True, work)

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
                return _stages_and_paths(_tx_runner(tx), [model_id], None, mark=False, label="latency")[model_id]
            if weight not in WEIGHT_PROPERTIES:
                raise StoreError(f"unknown critical-path weight {weight!r}; choose flops, bytes, macs or latency")
            return _stages_and_paths(_tx_runner(tx), [model_id], weight, mark=False)[model_id]

        return self._run(True, work)

    def compute_stages(self, model_id: str, weight: str = "flops") -> CriticalPath:
        """The frontier loop for graphs too big for one transaction's memory (the million-node benchmark
        DAGs): the per-node init and finish commit in batches, each round in its own transaction."""
        def run(text: str, **params: Any) -> list[dict[str, Any]]:
            return self._run(True, lambda tx: [r.data() for r in tx.run(text, **params)])

        prop = WEIGHT_PROPERTIES[weight]
        self._autocommit(load("stages_init_batched"), model_ids=[model_id], weight=prop)
        _frontier_loop(run, [model_id], prop, init=False)
        cp = _walk_back(_back_pointers(run, [model_id])[model_id], weight)
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
            raise StoreError(f"Neo4j error: {_first_line(exc)}") from None

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


Runner = Callable[..., list[dict[str, Any]]]  # (cypher text, **params) -> rows


def _lock_models(tx: ManagedTransaction, model_ids: list[str]) -> None:
    """Take this transaction's write lock on each model id (model_lock.cypher), in one global order."""
    tx.run(load("model_lock"), ids=sorted(set(model_ids))).consume()


def _unlock_models(tx: ManagedTransaction, model_ids: list[str]) -> None:
    tx.run(load("model_unlock"), ids=sorted(set(model_ids))).consume()


def _tx_runner(tx: ManagedTransaction) -> Runner:
    # The stage queries return plain values (numbers, strings, lists of them): the raw items, not data(),
    # which walks every nested value (~10 % of the client's CPU in a zoo ingest, cProfile).
    return lambda text, **params: [dict(r.items()) for r in tx.run(text, **params)]


def _stages_and_paths(run: Runner, model_ids: list[str], weight: str | None, mark: bool,
                      label: str | None = None, clean: bool = True) -> dict[str, CriticalPath]:
    """Stages and critical-path distances in Cypher for several models at once, O(V + E): one pass in
    index order (stages_pass.cypher: ingested kernels are numbered topologically), or Kahn's frontier loop
    when the stored order is not topological. Then each model's heaviest path is walked back; with `mark`
    it is marked and depth and width are stored (stages_finish), else the scratch properties are dropped."""
    prop = WEIGHT_PROPERTIES[weight] if weight else None
    passed = run(load("stages_pass"), model_ids=model_ids, weight=prop)
    if any(r["disorder"] for r in passed):
        _frontier_loop(run, model_ids, prop)
        rows = _back_pointers(run, model_ids)
    else:
        rows = {i: [] for i in model_ids}
        rows.update({r["model_id"]: _subgraph_rows(r["subgraphs"]) for r in passed})
    paths = {i: _walk_back(rows[i], label or weight or "latency") for i in model_ids}
    if mark:  # marks the FLOP path, stores depth and width, drops the scratch properties
        run(load("stages_finish"), paths=[{"model_id": i, "path": paths[i].path} for i in model_ids])
    elif clean:
        run(load("stages_clean"), model_ids=model_ids)
    return paths


def _frontier_loop(run: Runner, model_ids: list[str], prop: str | None, init: bool = True) -> None:
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


def _back_pointers(run: Runner, model_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each model's subgraphs as [{index, dist, back}] after the frontier loop (critical_path_mark.cypher)."""
    rows: dict[str, list[dict[str, Any]]] = {i: [] for i in model_ids}
    for r in run(load("critical_path_mark"), model_ids=model_ids):
        rows[r["model_id"]] = _subgraph_rows(r["subgraphs"])
    return rows


def _subgraph_rows(columns: list[list[Any]]) -> list[dict[str, Any]]:
    return [{"index": i, "dist": d, "back": b} for i, d, b in columns]


def _walk_back(rows: list[dict[str, Any]], weight: str) -> CriticalPath:
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


def _columns(mg: ModelGraph) -> dict[str, Any]:
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


class _Unlogged(list):
    """A query parameter with a short repr. The driver formats every RUN for its debug log before the log
    level is checked (neo4j 6.4 `_bolt5.py`: `" ".join(map(repr, fields))`): the repr of a transaction's
    columns cost ~20 % of the client's CPU in a zoo ingest (cProfile). Packed like any list."""

    def __repr__(self) -> str:
        return f"<{len(self)} model graphs>"


def _batches(graphs: list[ModelGraph], limit: int) -> list[list[ModelGraph]]:
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


class _OutOfMemory(Exception):
    """A Neo4j out-of-memory error raised inside a unit of work: not a driver error, so not retried."""

    def __init__(self, error: Neo4jError):
        super().__init__(str(error))
        self.error = error


def _out_of_memory(exc: Neo4jError) -> bool:
    """Neo4j's memory errors: a transaction over db.memory.transaction.max, the global transaction pool
    (MemoryPoolOutOfMemoryError), or the JVM's heap (OutOfMemoryError)."""
    code = getattr(exc, "code", None) or ""
    return "OutOfMemory" in code or "MemoryLimit" in code


def _out_of_memory_message(uri: str, exc: Neo4jError) -> str:
    message = " ".join(str(exc.message or exc).split())  # whole, on one line
    return (f"Neo4j at {uri} ran out of memory ({exc.code}): {message.rstrip('.')}. Give it more: "
            "perfgraph neo4j stop, then perfgraph neo4j start --heap 4g; or ingest fewer models at once")


def _no_password_message(uri: str) -> str:
    return (f"Neo4j at {uri} wants a password and none was sent: pass --password or set NEO4J_PASSWORD "
            "(a server started with `perfgraph neo4j start --home DIR` gets its stored password only through "
            "--home DIR or its own URI, bolt://127.0.0.1:PORT, which `perfgraph neo4j status --home DIR` shows)")


def _unreachable_reason(exc: Exception) -> str:
    text = str(exc)
    if "handshake" in text or "Deadline" in text or "timed out" in text.lower():
        return (f"no Bolt answer within {CONNECT_TIMEOUT_S:g} s (is it a Neo4j Bolt port? Neo4j's HTTP port "
                "7474 is not)")
    return _first_line(exc)


def _unreachable(exc: Exception) -> bool:
    """A lost server: retrying model by model would only fail again, slowly."""
    return "cannot reach" in str(exc) or "terminated the transaction" in str(exc)


def element_count(mg: ModelGraph) -> int:
    """Nodes + relationships one model writes (for throughput figures)."""
    nodes = 1 + len(mg.ops) + len(mg.subgraphs)
    rels = len(mg.op_edges) + len(mg.subgraph_edges) + len(mg.subgraphs) + sum(len(s.op_indices) for s in mg.subgraphs)
    return nodes + rels


def _first_line(exc: Any) -> str:
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    first = text[0]
    if first.endswith(":") and len(text) > 1:  # "Couldn't connect to host:port (...):" + the reason below
        import re

        reason = re.search(r"\(reason (.+)\)\s*$", text[1])
        first = f"{first.rstrip(':')}: {reason.group(1) if reason else text[1].strip()}"
    if len(first) <= 300:
        return first
    return first[:300].rsplit(" ", 1)[0] + " ..."  # never cut mid-word
