"""Neo4j: ingest throughput (nodes + relationships per second) and linear-time stages on big DAGs.

    .venv/bin/python benchmarks/bench_neo4j.py ingest [--zoo] [--repeat 5] [--warmup 4]
    .venv/bin/python benchmarks/bench_neo4j.py stages [--sizes 10000,100000,1000000]

Uses NEO4J_URI (+ NEO4J_USER / NEO4J_PASSWORD) when set, else starts a throw-away local server from the
jars with `perfgraph neo4j start`'s default sizes (heap 2 GB, page cache 512 MB) and stops it at the end.

ingest: --warmup untimed rounds first (a fresh server runs its first queries cold; their figures are
printed; with --zoo they are whole rounds of the three zoo configurations below), then ResNet-50
re-ingested --repeat times (replace), then optionally every torchvision classification model: fresh, one
model per transaction one at a time; fresh, with the defaults (whole models share transactions of up to
INGEST_BATCH_ELEMENTS, INGEST_WORKERS transactions at once); and a re-ingest with
--replace, the three taking turns round by round (the shared host's speed drifts; the default's speed-up over
one model per transaction is printed as the median ratio of side-by-side rounds). Tracing is not timed; the
figure is elements / wall time, every transaction holding its writes AND the Cypher stage pass and critical
path. With the throw-away local server, the server's and the client's CPU seconds per 1 000 elements are
printed too: the server's CPU is the limit on two cores.

stages: layered random DAGs (width 100, 2 predecessors per node from the previous layer, seeded), written
as Subgraph nodes and FEEDS edges, then stages and the FLOP critical path computed by the Cypher frontier
loop (one transaction per query) and by the networkx twin. 10x the nodes should cost <= 12x the time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

from perfgraph.graph import ModelGraph, ModelInfo, Subgraph  # noqa: E402
from perfgraph.queries.embedded import critical_path, stages  # noqa: E402
from perfgraph.store.neo4j_store import INGEST_BATCH_ELEMENTS, INGEST_WORKERS, Neo4jStore, element_count  # noqa: E402


@contextlib.contextmanager
def server():
    """(store, server_cpu): server_cpu() is the local server's CPU seconds so far (user + system), None when
    the server is elsewhere (NEO4J_URI)."""
    if os.environ.get("NEO4J_URI"):
        pw = os.environ.get("NEO4J_PASSWORD")
        yield Neo4jStore(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), pw), lambda: None
        return
    from perfgraph.store import neo4j_server

    home = Path(tempfile.mkdtemp(prefix="perfgraph-bench-"))
    info = neo4j_server.start(home, bolt_port=0, auth=False)  # `perfgraph neo4j start`'s sizes

    def server_cpu() -> float | None:
        try:
            fields = Path(f"/proc/{info.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # not Linux, or the server is gone
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    try:
        yield Neo4jStore(info.bolt_uri, None, None), server_cpu
    finally:
        neo4j_server.stop(home)
        shutil.rmtree(home, ignore_errors=True)  # its preallocated transaction logs alone are ~1 GB


def bench_ingest(store: Neo4jStore, repeat: int, zoo: bool, warmup: int, server_cpu) -> None:
    from perfgraph.pipeline import ModelSpec, analyze
    from perfgraph.ingest.torchvision_models import list_names

    store.ensure_schema()
    mg = analyze(ModelSpec("resnet50"))
    graphs = [mg]
    if zoo:
        t = time.perf_counter()
        graphs = [analyze(ModelSpec(name)) for name in list_names("classification")]
        print(f"traced {len(graphs)} classification models in {time.perf_counter() - t:.0f} s (not counted below)")
    ids = [g.info.id for g in graphs]
    elements = sum(element_count(g) for g in graphs)
    runs = [("one model per transaction, one at a time", {"batch_elements": 1, "workers": 1}, False),
            (f"default: shared transactions of <= {INGEST_BATCH_ELEMENTS:,} elements, {INGEST_WORKERS} at once",
             {}, False),
            ("default, re-ingest (--replace: delete + write in each transaction)", {}, True)]

    def zoo_round() -> dict[str, tuple[float, float, float, float | None, float]]:
        """The configurations in turn, so a change in the shared host's speed (the same work measured 5-10 s
        of server CPU on this 2-core host) hits them alike, and the default's speed-up over the
        one-model-per-transaction peer is a ratio of runs made side by side."""
        out = {}
        for label, kwargs, replace in runs:
            if not replace:
                store.delete_models(ids)  # untimed: a fresh ingest
            timings: dict[str, float] = {}
            cpu0, client0 = server_cpu(), time.process_time()
            t = time.perf_counter()
            store.ingest_many(graphs, replace=replace, timings=timings, **kwargs)
            wall = time.perf_counter() - t
            cpu1 = server_cpu()
            out[label] = (wall, timings["writes_s"], timings["stages_s"],
                          None if cpu0 is None or cpu1 is None else cpu1 - cpu0, time.process_time() - client0)
        return out

    # A fresh server runs its first queries interpreted and unplanned (JIT, query cache): warm it up on the
    # very work that is timed (with --zoo, whole rounds of the configurations below), then time. The
    # warm-up rounds are printed too, as the cold figures.
    for k in range(warmup):
        if zoo:
            walls = {label: r[0] for label, r in zoo_round().items()}
            text = ", ".join(f"{elements / w:,.0f}" for w in walls.values())
            print(f"warm-up {k + 1}/{warmup}: the zoo round below, elements/s {text} (not counted below)", flush=True)
            continue
        t = time.perf_counter()
        store.ingest_many(graphs, replace=True)
        total = time.perf_counter() - t
        print(f"warm-up {k + 1}/{warmup}: {elements:,} elements in {total:.2f} s = {elements / total:,.0f} "
              f"elements/s (not counted below)", flush=True)
    n = element_count(mg)
    rows = []
    for _ in range(repeat):
        timings: dict[str, float] = {}
        t = time.perf_counter()
        store.ingest(mg, replace=True, timings=timings)
        rows.append((time.perf_counter() - t, timings["writes_s"], timings["stages_s"]))
    total, writes, stages_s = (statistics.median(c) for c in zip(*rows))
    print(f"resnet50 alone, re-ingest: {n} elements; median of {repeat}: {total * 1e3:.0f} ms = "
          f"{n / total:,.0f} elements/s (writes {writes * 1e3:.0f} ms = {n / writes:,.0f}/s; Cypher stages "
          f"{stages_s * 1e3:.0f} ms)")
    if not zoo:
        return
    zoo_repeat = max(1, repeat)
    rows: dict[str, list[tuple[float, float, float, float | None, float]]] = {label: [] for label, _, _ in runs}
    for _ in range(zoo_repeat):
        for label, row in zoo_round().items():
            rows[label].append(row)
    for label, _, _ in runs:
        total, writes, stages_s = (statistics.median(c) for c in list(zip(*rows[label]))[:3])
        cpu = [r[3] for r in rows[label] if r[3] is not None]
        cpu_text = (f"; CPU per 1 000 elements: server {statistics.median(cpu) / elements * 1e3 * 1e3:.0f} ms "
                    f"(runs {', '.join(f'{c:.1f}' for c in cpu)} s), client "
                    f"{statistics.median(r[4] for r in rows[label]) / elements * 1e6:.0f} ms" if cpu else "")
        print(f"zoo, {label}: {len(graphs)} models, {elements:,} elements; median of {zoo_repeat}: {total:.2f} s = "
              f"{elements / total:,.0f} elements/s (runs {', '.join(f'{elements / r[0]:,.0f}' for r in rows[label])}; "
              f"inside the transactions, summed over them: writes {writes:.1f} s, Cypher stages {stages_s:.1f} s"
              f"{cpu_text})", flush=True)
    peer, default = rows[runs[0][0]], rows[runs[1][0]]
    ratios = [p[0] / d[0] for p, d in zip(peer, default)]
    print(f"zoo, default vs one model per transaction (same rounds): x{statistics.median(ratios):.2f} faster "
          f"(rounds {', '.join(f'x{r:.2f}' for r in ratios)})", flush=True)


def layered_dag(nodes: int, width: int = 100, seed: int = 0) -> ModelGraph:
    rnd = random.Random(seed)
    mid = f"layered-{nodes}"
    info = ModelInfo(id=mid, name=mid, source="benchmark", batch=1, input_shape=[1], dtype="fp32")
    sgs = [Subgraph(uid=f"{mid}/sg{i}", model_id=mid, index=i, pattern="synthetic", op_indices=[],
                    flops=rnd.randrange(1, 1000), external_bytes=rnd.randrange(1, 1000)) for i in range(nodes)]
    edges = []
    for i in range(width, nodes):
        layer_start = (i // width - 1) * width
        for p in sorted(rnd.sample(range(layer_start, layer_start + width), 2)):
            edges.append((p, i, 1))
    return ModelGraph(info=info, ops=[], values=[], op_edges=[], subgraphs=sgs, subgraph_edges=edges)


def write_plain(store: Neo4jStore, mg: ModelGraph, batch: int = 50_000) -> None:
    """Bulk write (many transactions): setup for the stage benchmark, not an ingest."""
    store.ensure_schema()
    store.delete_model(mg.info.id)
    store.run_write("CREATE (:Model {id: $id, name: $id})", id=mg.info.id)
    props = [{"uid": s.uid, "model_id": s.model_id, "index": s.index, "flops": s.flops,
              "external_bytes": s.external_bytes, "macs": 0} for s in mg.subgraphs]
    for k in range(0, len(props), batch):
        store.run_write("UNWIND $rows AS r CREATE (s:Subgraph) SET s = r", rows=props[k:k + batch])
    uid = {s.index: s.uid for s in mg.subgraphs}
    edges = [{"s": uid[a], "d": uid[b]} for a, b, _ in mg.subgraph_edges]
    for k in range(0, len(edges), batch):
        store.run_write("UNWIND $rows AS r MATCH (a:Subgraph {uid: r.s}) MATCH (b:Subgraph {uid: r.d}) "
                        "CREATE (a)-[:FEEDS {bytes: 1}]->(b)", rows=edges[k:k + batch])


def delete_plain(store: Neo4jStore, model_id: str) -> None:
    while store.run_cypher("MATCH (s:Subgraph {model_id: $id}) RETURN count(s) AS n", id=model_id)[0]["n"]:
        store.run_write("MATCH (s:Subgraph {model_id: $id}) WITH s LIMIT 20000 DETACH DELETE s", id=model_id)
    store.delete_model(model_id)


def bench_stages(store: Neo4jStore, sizes: list[int]) -> None:
    # Untimed warm-up: the JVM compiles and Cypher plans the queries once, so the sizes compare fairly.
    warm = layered_dag(2_000, seed=1)
    write_plain(store, warm)
    store.compute_stages(warm.info.id, "flops")
    delete_plain(store, warm.info.id)
    print(f"{'nodes':>9} {'edges':>9} {'depth':>6} {'write s':>8} {'Cypher s':>9} {'networkx s':>11}  agree")
    prev = None
    for n in sizes:
        mg = layered_dag(n)
        t = time.perf_counter()
        write_plain(store, mg)
        write_s = time.perf_counter() - t
        t = time.perf_counter()
        cp = store.compute_stages(mg.info.id, "flops")
        cypher_s = time.perf_counter() - t
        t = time.perf_counter()
        st = stages(mg)
        cp_nx = critical_path(mg, "flops")
        nx_s = time.perf_counter() - t
        depth = max(st.values()) + 1
        agree = cp.path == cp_nx.path and cp.total == cp_nx.total
        growth = f"  x{cypher_s / prev:.1f} time for x10 nodes" if prev else ""
        print(f"{n:>9,} {len(mg.subgraph_edges):>9,} {depth:>6} {write_s:>8.1f} {cypher_s:>9.2f} {nx_s:>11.2f}  "
              f"{agree}{growth}", flush=True)
        prev = cypher_s
        delete_plain(store, mg.info.id)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["ingest", "stages", "all"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--zoo", action="store_true")
    ap.add_argument("--warmup", type=int, default=4,
                    help="untimed rounds first, printed as cold figures: with --zoo whole rounds of the three zoo "
                         "configurations (the timed work itself), else ResNet-50 re-ingests; a fresh server took 6-12 "
                         "zoo ingests to reach its steady speed (8-9 k -> 45-60 k elements/s)")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    args = ap.parse_args()
    with server() as (store, server_cpu):
        if args.what in ("ingest", "all"):
            bench_ingest(store, args.repeat, args.zoo, args.warmup, server_cpu)
        if args.what in ("stages", "all"):
            bench_stages(store, [int(s) for s in args.sizes.split(",")])
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
