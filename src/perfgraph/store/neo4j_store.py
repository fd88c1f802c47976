"""The Neo4j store: write model graphs, compute stages and critical paths in Cypher, run named queries.

Every write is a managed transaction (`session.execute_write(unit_of_work)`), and a model's ingest -- its
nodes, edges, stages and critical path -- never spans two transactions, so a model is fully present or
absent even when the process dies half way. Small models share a transaction (`ingest_many`): one write
statement and one frontier loop serve them all, which saves the per-query round trips that dominate them. All Cypher lives in `queries/cypher/*.cypher` and is parameterised.

URIs: `bolt://host:7687` for one server; `neo4j://host:7687` asks the server for a routing table (clusters,
also fine against a single server); `neo4j+s://xxxx.databases.neo4j.io` for Aura (TLS).

Here: connecting, transactions and ingest. Beside it: the reads (`store_queries`), the other writes
(`store_writes`), the stage pass in Cypher (`cypher_stages`), the ingest's batches and columns
(`ingest_batches`), and the errors (`store_errors`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from neo4j import GraphDatabase, ManagedTransaction
from neo4j.exceptions import AuthError, ClientError, Neo4jError, ServiceUnavailable, SessionExpired

from perfgraph.graph import ModelGraph
from perfgraph.queries.cypher_files import load, statements
from perfgraph.store.cypher_stages import lock_models, stages_and_paths, tx_runner, unlock_models
from perfgraph.store.ingest_batches import (  # noqa: F401 - OP_FIELDS, SUBGRAPH_FIELDS, element_count: re-exported
    INGEST_BATCH_ELEMENTS,
    INGEST_WORKERS,
    OP_FIELDS,
    SUBGRAPH_FIELDS,
    Unlogged,
    element_count,
    graph_columns,
    model_batches,
)
from perfgraph.store.store_errors import (
    CONNECT_TIMEOUT_S,
    TERMINATED_CODES,
    OutOfMemory,
    StoreError,
    check_uri,
    display_uri,
    first_line,
    is_out_of_memory,
    is_unreachable,
    no_password_message,
    out_of_memory_message,
    unreachable_reason,
)
from perfgraph.store.store_queries import StoreQueries
from perfgraph.store.store_writes import StoreWrites

# The tests import _batches, and replace _stages_and_paths to hold an ingest inside its transaction:
# _ingest_batch calls the stage pass through this module's name for it.
_batches = model_batches
_stages_and_paths = stages_and_paths

# The driver logs each transaction retry as a WARNING; with no logging configured Python would print them to
# stderr as multi-line noise under our one-line errors. A NullHandler keeps them out unless the application
# configures logging itself (its handlers still receive them).
logging.getLogger("neo4j").addHandler(logging.NullHandler())


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


class Neo4jStore(StoreQueries, StoreWrites):
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
            raise StoreError(f"bad Neo4j URI {self.uri!r}: {first_line(exc)}") from None
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
                if is_out_of_memory(exc):  # transient to the driver, but the same work fails the same way again
                    raise OutOfMemory(exc) from None
                raise

        with self.driver.session(database=self.database) as session:
            return (session.execute_write if write else session.execute_read)(without_memory_retries)

    def _translated(self, call: Callable[[], Any]) -> Any:
        """Run `call`, turning driver errors into one-line StoreErrors (never with credentials)."""
        try:
            return call()
        except AuthError:
            if not self._sent_password:
                raise StoreError(no_password_message(self.uri)) from None
            raise StoreError(f"Neo4j at {self.uri} refused the credentials for user {self.user!r}") from None
        except OutOfMemory as oom:
            raise StoreError(out_of_memory_message(self.uri, oom.error)) from None
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            raise StoreError(f"cannot reach Neo4j at {self.uri}: {unreachable_reason(exc)}") from None
        except Neo4jError as exc:
            if getattr(exc, "code", None) in TERMINATED_CODES:  # e.g. the server shut down under the query
                raise StoreError(f"Neo4j at {self.uri} terminated the transaction ({exc.code}): the server "
                                 "stopped, or the query was killed or timed out") from None
            if is_out_of_memory(exc):  # raised outside a unit of work (a commit)
                raise StoreError(out_of_memory_message(self.uri, exc)) from None
            if isinstance(exc, ClientError):
                raise StoreError(f"Neo4j rejected a query: {exc.code}: {first_line(exc.message or exc)}") from None
            raise StoreError(f"Neo4j error: {exc.code}: {first_line(exc.message or exc)}") from None

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
        which raises throughput even on two cores (docs/neo4j-performance.md). Models are disjoint, so the
        transactions take no common locks. A model is never split across transactions, so each is fully present or absent
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
                if is_unreachable(exc) or (len(batch) == 1 and on_error is None):
                    raise
                if len(batch) == 1:
                    failed.append((batch[0], exc))
                else:
                    for g in batch:  # isolate the failing model(s); the others still go in
                        try:
                            done.update(self._ingest_batch([g], replace, timings, lock))
                        except StoreError as one:
                            if on_error is None or is_unreachable(one):
                                raise
                            failed.append((g, one))
            with lock:
                for g, exc in failed:
                    on_error(g, exc)
                if on_done is not None:
                    on_done(batch)
            return done

        results: dict[str, str] = {}
        batches = model_batches(graphs, batch_elements)
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
        columns = {g.info.id: graph_columns(g) for g in batch}

        def work(tx: ManagedTransaction) -> tuple[dict[str, str], float, float]:
            t0 = time.perf_counter()
            lock_models(tx, ids)  # before reading what is stored: concurrent writers of a model queue here
            stored = {r["id"] for r in tx.run("UNWIND $ids AS id MATCH (m:Model {id: id}) RETURN id", ids=ids)}
            states = {i: ("replaced" if i in stored else "created") if (replace or i not in stored) else "exists"
                      for i in ids}
            todo = [i for i in ids if states[i] != "exists"]
            if not todo:
                unlock_models(tx, ids)
                return states, 0.0, 0.0
            if replace and stored:
                tx.run(load("delete_model"), model_ids=[i for i in todo if i in stored]).consume()
            tx.run(load("write_model_graphs"), graphs=Unlogged(columns[i] for i in todo)).consume()
            t = time.perf_counter()
            _stages_and_paths(tx_runner(tx), todo, "flops", mark=True)
            unlock_models(tx, ids)
            return states, t - t0, time.perf_counter() - t

        states, writes_s, stages_s = self._run(True, work)
        if timings is not None:
            with lock or contextlib.nullcontext():
                timings["writes_s"] = timings.get("writes_s", 0.0) + writes_s
                timings["stages_s"] = timings.get("stages_s", 0.0) + stages_s
        return states
