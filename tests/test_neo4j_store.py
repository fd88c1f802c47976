"""Integration tests against a real Neo4j (the `neo4j_conn` fixture never skips)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

from perfgraph.analysis import analyze_graph
from perfgraph.cli.main import cli
from perfgraph.queries import named
from perfgraph.store.neo4j_store import (OP_FIELDS, SUBGRAPH_FIELDS, Neo4jStore, StoreError, _batches,
                                         element_count)

pytestmark = pytest.mark.neo4j

# Different families: residual, depthwise, inception branches, dense concat, transformers, video, LLM, MLP.
PARITY_MODELS = ["resnet18", "mobilenet_v2", "efficientnet_b0", "inception_v3", "densenet121", "googlenet",
                 "squeezenet1_0", "shufflenet_v2_x0_5", "regnet_x_400mf", "vit_b_16", "swin_t", "convnext_tiny",
                 "r3d_18", "hf:gpt2", "synthetic:resnet_bottleneck"]


@pytest.fixture(scope="module")
def ingested(store):
    graphs = {}
    for name in PARITY_MODELS:
        params = {"seq_len": "32"} if name.startswith("hf:") else None
        graphs[name] = analyze_graph(name, params=params)
    # Several models per transaction and one frontier loop over all of them: each must still come out
    # exactly as the networkx twin computes it alone.
    results = store.ingest_many(list(graphs.values()), replace=True, batch_elements=6_000)
    assert set(results) == {mg.info.id for mg in graphs.values()}
    return graphs


def _param_sets(q):
    if q.name == "critical_path":
        return [{"weight": "flops"}, {"weight": "bytes"}, {"weight": "macs"}]
    if q.name == "top_intensity":
        return [{"n": "7"}]
    if q.name == "rank_models":
        return [{"by": b} for b in named.RANK_KEYS]
    return [{}]


@pytest.mark.parametrize("name", PARITY_MODELS)
def test_every_named_query_agrees_with_networkx(store, ingested, name):
    mg = ingested[name]
    for q in named.QUERIES.values():
        if not q.per_model:
            continue
        for params in _param_sets(q):
            embedded = named.run_embedded(q.name, [mg], mg.info.id, **params)
            neo = named.run_neo4j(q.name, store, mg.info.id, **params)
            assert neo == embedded, (q.name, params)


def test_cross_model_rankings_agree(store, ingested):
    ids = {mg.info.id for mg in ingested.values()}
    for params in _param_sets(named.get("rank_models")):
        embedded = named.run_embedded("rank_models", list(ingested.values()), **params)
        neo = [r for r in named.run_neo4j("rank_models", store, **params) if r["model"] in ids]
        assert neo == embedded, params


def test_stages_written_back_match_the_definition(store, ingested):
    mg = ingested["inception_v3"]
    stage = {r["index"]: r["stage"] for r in store.query("stages", model_id=mg.info.id)}
    for s, d, _ in mg.subgraph_edges:
        assert stage[d] > stage[s]
    rows = store.run_cypher("MATCH (m:Model {id: $id}) RETURN m.depth AS depth, m.width AS width", id=mg.info.id)
    assert rows[0]["depth"] == max(stage.values()) + 1
    on_path = store.run_cypher("MATCH (s:Subgraph {model_id: $id}) WHERE s.on_critical_path RETURN count(s) AS n",
                               id=mg.info.id)[0]["n"]
    assert on_path == len(named.run_embedded("critical_path", [mg], mg.info.id))


def test_counts_match_the_graph_and_reingest_is_idempotent(store):
    mg = analyze_graph("resnet18", batch=2)
    store.ingest(mg, replace=True)
    expected = {"ops": len(mg.ops), "subgraphs": len(mg.subgraphs), "op_edges": len(mg.op_edges),
                "subgraph_edges": len(mg.subgraph_edges), "contains": len(mg.ops)}
    assert store.counts(mg.info.id) == expected
    assert store.ingest(mg) == "exists"
    assert store.counts(mg.info.id) == expected
    assert store.ingest(mg, replace=True) == "replaced"
    assert store.counts(mg.info.id) == expected


def test_every_property_is_written(store, ingested):
    mg = ingested["efficientnet_b0"]
    op = mg.ops[3]
    keys = store.run_cypher("MATCH (o:Op {uid: $uid}) RETURN keys(o) AS k", uid=op.uid)[0]["k"]
    assert set(keys) == {f for f in OP_FIELDS if getattr(op, f) is not None}
    for other in mg.ops[::25]:  # the values too, each under its own key
        stored = store.run_cypher("MATCH (o:Op {model_id: $m, index: $i}) RETURN properties(o) AS p",
                                  m=mg.info.id, i=other.index)[0]["p"]
        assert stored == {f: getattr(other, f) for f in OP_FIELDS if getattr(other, f) is not None}
    sg = mg.subgraphs[3]
    keys = store.run_cypher("MATCH (s:Subgraph {uid: $uid}) RETURN keys(s) AS k", uid=sg.uid)[0]["k"]
    assert set(keys) == {f for f in SUBGRAPH_FIELDS if getattr(sg, f) is not None} | {"stage", "on_critical_path"}


def test_the_driver_logs_a_write_in_one_short_line(store, caplog):
    """The driver formats each RUN for its debug log before checking the level; the write's parameter
    (every column of every model in the transaction) must not be formatted in full."""
    mg = analyze_graph("resnet18")
    with caplog.at_level(logging.DEBUG, logger="neo4j"):
        store.ingest(mg, replace=True)
    runs = [r.getMessage() for r in caplog.records if "C: RUN" in r.getMessage()]
    assert any("model graphs>" in m for m in runs)
    assert max(map(len, runs)) < 5000, max(map(len, runs))


def _operators(store, text, **params):
    plan = store._run(False, lambda tx: tx.run("EXPLAIN " + text, **params).consume().plan)
    found, todo = [], [plan]
    while todo:
        node = todo.pop()
        found.append(node["operatorType"].split("@")[0])
        todo.extend(node.get("children", []))
    return found


def test_schema_indexes_the_lookups_queries_make_and_no_op_uid(store, neo4j_conn, ingested):
    # An index earlier 0.1 builds created on every op (no query used it; it cost ~10 % of ingest CPU).
    store.run_write("CREATE INDEX op_uid_lookup IF NOT EXISTS FOR (o:Op) ON (o.uid)")
    user, password = neo4j_conn.auth if neo4j_conn.auth else (None, None)
    fresh = Neo4jStore(neo4j_conn.uri, user, password)
    try:
        fresh.ensure_schema()
    finally:
        fresh.close()
    indexes = {r["name"]: r["properties"] for r in store.run_cypher(
        "SHOW INDEXES YIELD name, labelsOrTypes, properties WHERE labelsOrTypes = ['Op'] RETURN name, properties")}
    assert "op_uid_lookup" not in indexes
    assert ["model_id"] in indexes.values()
    # The lookups the store and the overlay make are index seeks, not label scans.
    assert "NodeIndexSeek" in _operators(store, "MATCH (o:Op) WHERE o.model_id IN $ids RETURN o", ids=["x"])
    assert "NodeIndexSeek" in _operators(store, "MATCH (s:Subgraph {uid: $uid}) RETURN s", uid="x")
    assert "NodeIndexSeek" in _operators(store, "MATCH (s:Subgraph) WHERE s.model_id IN $ids RETURN s", ids=["x"])


def test_a_bad_model_in_a_shared_transaction_costs_only_itself(store):
    good_a = _rename(analyze_graph("squeezenet1_1"), "batch-good-a", "batch-good-a")
    bad = _rename(analyze_graph("synthetic:mlp"), "batch-bad", "batch-bad")
    bad.op_edges.append((0, 10 ** 6, 1))  # an edge to an op that does not exist: the write query fails
    good_b = _rename(analyze_graph("synthetic:mlp"), "batch-good-b", "batch-good-b")
    failed = []
    results = store.ingest_many([good_a, bad, good_b], replace=True, on_error=lambda g, e: failed.append((g, e)))
    assert results == {"batch-good-a": "created", "batch-good-b": "created"}
    assert [g.info.id for g, _ in failed] == ["batch-bad"] and "Neo4j rejected a query" in str(failed[0][1])
    assert not store.has_model("batch-bad")
    assert store.run_cypher("MATCH (n) WHERE n.model_id = 'batch-bad' RETURN count(n) AS n")[0]["n"] == 0
    for g in (good_a, good_b):
        assert store.counts(g.info.id)["ops"] == len(g.ops)
        assert named.run_neo4j("depth", store, g.info.id) == named.run_embedded("depth", [g], g.info.id)
    with pytest.raises(StoreError, match="Neo4j rejected a query"):
        store.ingest_many([bad], replace=True)  # no on_error: raised
    with pytest.raises(StoreError, match="the same model id twice"):
        store.ingest_many([good_a, good_a])
    for g in (good_a, good_b):
        store.delete_model(g.info.id)


def _reversed_numbering(mg, new_id):
    """The same graph with its kernels numbered backwards: no longer a topological order."""
    mg = _rename(mg, new_id, new_id)
    n = len(mg.subgraphs)
    for sg in mg.subgraphs:
        sg.index = n - 1 - sg.index
        sg.uid = f"{new_id}/sg{sg.index}"
    mg.subgraphs.sort(key=lambda sg: sg.index)
    mg.subgraph_edges = sorted((n - 1 - s, n - 1 - d, b) for s, d, b in mg.subgraph_edges)
    return mg


def test_kernels_out_of_topological_order_fall_back_to_the_frontier_loop(store):
    mg = _reversed_numbering(analyze_graph("googlenet"), "reversed-googlenet")
    assert any(s > d for s, d, _ in mg.subgraph_edges)
    store.ingest(mg, replace=True)
    for q in ("stages", "depth", "critical_path"):
        assert named.run_neo4j(q, store, mg.info.id) == named.run_embedded(q, [mg], mg.info.id), q
    for weight in ("bytes", "macs"):
        assert (named.run_neo4j("critical_path", store, mg.info.id, weight=weight)
                == named.run_embedded("critical_path", [mg], mg.info.id, weight=weight))
    # the batched route for graphs too big for one transaction gives the same answer
    cp = store.compute_stages(mg.info.id, "flops")
    assert cp.path == [r["index"] for r in named.run_embedded("critical_path", [mg], mg.info.id)]
    assert named.run_neo4j("stages", store, mg.info.id) == named.run_embedded("stages", [mg], mg.info.id)
    store.delete_model(mg.info.id)


def test_ingested_kernels_are_numbered_topologically(ingested):
    for mg in ingested.values():
        assert all(s < d for s, d, _ in mg.subgraph_edges), mg.info.id


def test_batches_hold_whole_models_up_to_the_limit():
    graphs = [analyze_graph("synthetic:mlp"), analyze_graph("squeezenet1_1"), analyze_graph("synthetic:mlp")]
    sizes = [element_count(g) for g in graphs]
    assert [len(b) for b in _batches(graphs, sizes[0] + sizes[1])] == [2, 1]
    assert [len(b) for b in _batches(graphs, 1)] == [1, 1, 1]  # a model bigger than the limit goes alone
    assert [len(b) for b in _batches(graphs, sum(sizes))] == [3]


def _rename(mg, new_id: str, new_name: str):
    """The same graph under another id and name (every uid and model_id follows)."""
    old = mg.info.id
    mg.info.id, mg.info.name = new_id, new_name
    for item in list(mg.ops) + list(mg.subgraphs):
        item.uid = new_id + item.uid[len(old):]
        item.model_id = new_id
    return mg


@pytest.mark.parametrize("evil", [
    "x'}) DETACH DELETE n //",
    'quote" ; MATCH (n) DETACH DELETE n; //',
    "{braces: $param} `backticks` \\ backslash",
])
def test_hostile_names_are_stored_verbatim_and_harm_nothing(store, evil):
    keep = analyze_graph("squeezenet1_1")
    store.ingest(keep, replace=True)
    before = store.counts(keep.info.id)
    mg = _rename(analyze_graph("synthetic:mlp"), evil, evil)
    assert store.ingest(mg, replace=True) == "created"
    rows = store.run_cypher("MATCH (m:Model {id: $id}) RETURN m.name AS name", id=evil)
    assert rows == [{"name": evil}]
    assert store.resolve_model_id(evil) == evil
    assert store.counts(keep.info.id) == before
    assert named.run_neo4j("depth", store, evil) == named.run_embedded("depth", [mg], evil)
    store.delete_model(evil)
    assert store.counts(keep.info.id) == before


KILLER = textwrap.dedent("""
    import sys, time
    from perfgraph.analysis import analyze_graph
    from perfgraph.store import neo4j_store
    from perfgraph.store.neo4j_store import Neo4jStore

    real_loop = neo4j_store._stages_and_paths
    def slow_loop(run, *args, **kwargs):
        # Every node and edge of the model is written in this transaction by now: stop here and wait to die.
        n = run("MATCH (o:Op {model_id: $id}) RETURN count(o) AS n", id=sys.argv[4])[0]["n"]
        print("MIDWAY", n, flush=True)
        time.sleep(600)
        return real_loop(run, *args, **kwargs)
    neo4j_store._stages_and_paths = slow_loop
    mg = analyze_graph("resnet50")
    assert mg.info.id == sys.argv[4]
    user = sys.argv[2] or None
    password = sys.argv[3] or None
    Neo4jStore(sys.argv[1], user, password).ingest(mg)
""")


def test_a_killed_ingest_leaves_nothing_behind(store, neo4j_conn):
    model_id = analyze_graph("resnet50").info.id
    store.delete_model(model_id)
    user, password = neo4j_conn.auth if neo4j_conn.auth else ("", "")
    proc = subprocess.Popen([sys.executable, "-c", KILLER, neo4j_conn.uri, user, password, model_id],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("MIDWAY"), (line, proc.stderr.read() if proc.poll() is not None else "")
        assert int(line.split()[1]) > 100  # the ops were written, inside the open transaction
        # Another session cannot see the half-written model.
        assert store.counts(model_id).get("ops", 0) == 0
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.time() + 30
    while time.time() < deadline:
        leftover = store.run_cypher(
            "MATCH (n) WHERE n.model_id = $id OR n.id = $id RETURN count(n) AS n", id=model_id)[0]["n"]
        if leftover == 0:
            break
        time.sleep(0.5)
    assert leftover == 0
    assert not store.has_model(model_id)


def _cli_env(neo4j_conn):
    env = {"NEO4J_URI": neo4j_conn.uri}
    if neo4j_conn.auth:
        env.update(NEO4J_USER=neo4j_conn.auth[0], NEO4J_PASSWORD=neo4j_conn.auth[1])
    return env


def test_cli_ingest_lists_failures_and_still_ingests_the_rest(neo4j_conn, store):
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", "squeezenet1_1", "no_such_net", "--replace", "--json"],
                           env=_cli_env(neo4j_conn))
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert [r["model"] for r in data["ingested"]] == ["squeezenet1_1"]
    assert data["failed"][0]["model"] == "no_such_net" and "unknown model" in data["failed"][0]["error"]


def test_cli_query_gives_the_same_rows_on_both_stores(neo4j_conn, store, ingested):
    runner = CliRunner()
    # With two resnet18 batches stored, Neo4j needs the id; a bare name is ambiguous.
    store.ingest(analyze_graph("resnet18", batch=2))
    ambiguous = runner.invoke(cli, ["query", "depth", "-m", "resnet18"], env=_cli_env(neo4j_conn))
    assert ambiguous.exit_code == 1 and "names 2 stored models" in ambiguous.output
    neo = runner.invoke(cli, ["query", "critical_path", "-m", "resnet18:b1:3x224x224:fp32", "-p", "weight=bytes",
                              "--json"], env=_cli_env(neo4j_conn))
    embedded = runner.invoke(cli, ["query", "critical_path", "-m", "resnet18", "-p", "weight=bytes", "--json",
                                   "--store", "embedded"], env={"NEO4J_URI": ""})
    assert neo.exit_code == 0 and embedded.exit_code == 0, (neo.output, embedded.output)
    assert json.loads(neo.stdout) == json.loads(embedded.stdout)


def test_wrong_password_and_unreachable_server_are_one_line_errors(neo4j_conn):
    with pytest.raises(StoreError, match="^cannot reach Neo4j at bolt://127.0.0.1:1"):
        Neo4jStore("bolt://127.0.0.1:1", "neo4j", "secret-password").verify()
    if neo4j_conn.auth:
        with pytest.raises(StoreError, match="refused the credentials") as info:
            Neo4jStore(neo4j_conn.uri, neo4j_conn.auth[0], "wrong-password-123").verify()
        assert "wrong-password-123" not in str(info.value)
