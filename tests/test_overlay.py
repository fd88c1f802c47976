"""The mapping overlay: embedded structure, Neo4j write/replace semantics, overlay queries on both stores
(identical rows against a real Neo4j), and the hardware / analyze --hardware / map CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from perfgraph.analysis import analyze_graph
from perfgraph import pipeline
from perfgraph.cli.main import cli
from perfgraph.engine.model_mapping import map_model
from perfgraph.engine.overlay import Overlay, build_overlay, hardware_properties, model_row, subgraph_rows, write_overlay
from perfgraph.hardware.spec import get
from perfgraph.queries import named
from perfgraph.queries.embedded import critical_path, stages
from perfgraph.store.neo4j_store import StoreError

from engine_cases import _isolated_user_dirs  # noqa: F401 - the fixture, by name
from neo4j_fixture import cli_env


@pytest.fixture(scope="module")
def r18():
    return analyze_graph("resnet18", batch=4)


# ---------------------------------------------------------------------------------------------- embedded


def test_map_model_reuses_the_embedded_stages_and_critical_path(r18):
    mm = map_model(r18, get("h100"), "bf16")
    assert mm.stages == stages(r18)
    cp = critical_path(r18, "latency", node_weights={k.subgraph_index: k.latency_s for k in mm.kernels})
    assert mm.critical_path == cp.path and mm.latency_critical_path_s == cp.total
    assert mm.latency_sequential_s >= mm.latency_concurrent_s >= mm.latency_critical_path_s


def test_overlay_is_keyed_by_model_hardware_batch_precision_and_replaces(r18):
    ov = Overlay()
    first = ov.add(r18, get("h100"), "bf16")
    ov.add(r18, get("tpu-v4"), "bf16")
    ov.add(r18, get("h100"), "INT8")
    assert sorted(ov.entries) == [(r18.info.id, "h100-sxm", 4, "bf16"), (r18.info.id, "h100-sxm", 4, "int8"),
                                  (r18.info.id, "tpu-v4", 4, "bf16")]
    again = ov.add(r18, get("h100-sxm5"), "bf16")  # alias, same key: replaced, not added
    assert len(ov) == 3 and ov.get(r18.info.id, "h100-sxm", 4, "bf16") is again is not first
    assert [k for k, _ in ov.select(hardware=["h100-sxm"])] == [(r18.info.id, "h100-sxm", 4, "bf16"),
                                                                (r18.info.id, "h100-sxm", 4, "int8")]
    assert ov.select(batch=8) == []
    with pytest.raises(LookupError, match="no overlay for .* at batch 8"):
        ov.get(r18.info.id, "h100-sxm", 8, "bf16")


def test_neo4j_rows_are_flat_and_complete(r18):
    hw = get("kpu-t256")
    mm = map_model(r18, hw, "int8")
    rows = subgraph_rows(mm)
    assert [r["index"] for r in rows] == list(range(len(r18.subgraphs)))
    assert rows[3]["uid"] == r18.subgraphs[3].uid
    for r in rows:
        assert {"batch", "precision", "latency_s", "energy_j", "utilization", "units", "bound"} <= set(r["props"])
        assert all(isinstance(v, (int, float, str, bool)) for v in r["props"].values())
    m = model_row(mm, hw)
    assert {"batch", "precision", "latency_s", "latency_concurrent_s", "latency_critical_path_s", "energy_per_batch_j",
            "throughput_per_s", "peak_memory_bytes"} <= set(m)
    assert all(isinstance(v, (int, float, str, bool)) for v in m.values())
    props = hardware_properties(hw)
    assert props["id"] == "kpu-t256" and props["kind"] == "KPU" and props["peak_int8"] > 0
    assert props["memory_bandwidth_bytes_per_s"] > 0 and props["units"] == 256


def test_overlay_queries_embedded_by_hand(r18):
    ov = build_overlay([r18], [get("h100"), get("kpu-t256")], ["bf16"])
    rows = named.run_embedded("memory_bound_share", [r18], r18.info.id, overlay=ov)
    assert [(r["hardware"], r["batch"], r["precision"]) for r in rows] == [("h100-sxm", 4, "bf16"),
                                                                          ("kpu-t256", 4, "bf16")]
    for r in rows:
        mm = ov.get(r18.info.id, r["hardware"], 4, "bf16")
        mem = [k for k in mm.kernels if k.bound == "memory"]
        assert r["subgraphs"] == len(r18.subgraphs) and r["memory_bound"] == len(mem)
        assert r["latency_s"] == pytest.approx(mm.latency_sequential_s)
        assert r["latency_share"] == pytest.approx(sum(k.latency_s for k in mem) / mm.latency_sequential_s)
    flips = named.run_embedded("bound_flip", [r18], r18.info.id, overlay=ov, a="kpu-t256", b="h100")
    h100 = {k.subgraph_index: k.bound for k in ov.get(r18.info.id, "h100-sxm", 4, "bf16").kernels}
    kpu = {k.subgraph_index: k.bound for k in ov.get(r18.info.id, "kpu-t256", 4, "bf16").kernels}
    assert [r["index"] for r in flips] == [i for i in sorted(h100) if kpu[i] == "memory" and h100[i] == "compute"]
    best = named.run_embedded("best_chip", [r18], overlay=ov)
    mms = {hw: ov.get(r18.info.id, hw, 4, "bf16") for hw in ("h100-sxm", "kpu-t256")}
    assert best == [{"model": r18.info.id, "batch": 4, "precision": "bf16", "chips": 2,
                     "fastest": min(mms, key=lambda h: mms[h].latency_sequential_s),
                     "latency_s": min(m.latency_sequential_s for m in mms.values()),
                     "most_efficient": min(mms, key=lambda h: mms[h].energy_per_sample_j),
                     "energy_per_inference_j": min(m.energy_per_sample_j for m in mms.values())}]
    cp = named.run_embedded("critical_path", [r18], r18.info.id, overlay=ov, weight="latency", hardware="h100")
    assert [r["index"] for r in cp] == mms["h100-sxm"].critical_path
    assert sum(r["weight"] for r in cp) == pytest.approx(mms["h100-sxm"].latency_critical_path_s)


def test_embedded_overlay_on_demand_matches_an_explicit_one(r18):
    ov = build_overlay([r18], [get("h100"), get("a100")], ["int8"])
    explicit = named.run_embedded("memory_bound_share", [r18], r18.info.id, overlay=ov)
    on_demand = pipeline.query("memory_bound_share", [r18], "resnet18", hardware="h100,a100", precision="int8",
                               runtime="compiled")  # build_overlay's runtime (queries default to eager)
    assert on_demand == explicit and len(explicit) == 2
    # no chip named, no overlay: nothing mapped, no rows (as on a Neo4j without MAPPED_TO)
    assert named.run_embedded("memory_bound_share", [r18], r18.info.id) == []


def test_latency_critical_path_needs_one_mapped_chip(r18):
    ov = build_overlay([r18], [get("h100")], ["bf16", "int8"])
    with pytest.raises(ValueError, match="exactly one chip"):
        named.run_embedded("critical_path", [r18], r18.info.id, overlay=ov, weight="latency")
    with pytest.raises(LookupError, match="no overlay for .* on tpu-v4"):
        named.run_embedded("critical_path", [r18], r18.info.id, overlay=ov, weight="latency", hardware="tpu-v4")
    with pytest.raises(ValueError, match="2 overlays"):
        named.run_embedded("critical_path", [r18], r18.info.id, overlay=ov, weight="latency", hardware="h100")
    rows = named.run_embedded("critical_path", [r18], r18.info.id, overlay=ov, weight="latency", hardware="h100",
                              precision="int8", batch="4")
    assert rows and all(r["weight"] > 0 for r in rows)
    with pytest.raises(ValueError, match="unknown critical-path weight"):
        named.run_embedded("critical_path", [r18], r18.info.id, weight="joules")


# -------------------------------------------------------------------------------------------------- CLI


def _run(args, **kw):
    result = CliRunner().invoke(cli, args, **kw)
    return result


def test_cli_hardware_list_show_and_kinds():
    res = _run(["hardware", "list", "--kind", "gpu", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert rows and {r["kind"] for r in rows} == {"GPU"} and "h100-sxm" in {r["id"] for r in rows}
    csv = _run(["hardware", "list", "--kind", "TPU", "--csv"])
    lines = csv.stdout.strip().splitlines()
    assert lines[0].startswith("id,name,kind") and len(lines) == 1 + 4  # tpu-v4, v5e, v5p, edge-tpu
    table = _run(["hardware", "list"])
    assert table.exit_code == 0 and "kpu-t256" in table.stdout
    show = _run(["hardware", "show", "H100", "--json"])
    spec = json.loads(show.stdout)
    assert spec["id"] == "h100-sxm" and spec["peak_flops"]["bf16"] == 989.4e12 and spec["sources"]["peak_flops.bf16"]
    text = _run(["hardware", "show", "tpu-v4"])
    assert text.exit_code == 0 and "275.00 TFLOP/s" in text.stdout and "[1]" in text.stdout
    mode = _run(["hardware", "show", "jetson-orin-agx-64gb@15W", "--json"])
    assert json.loads(mode.stdout)["power"]["tdp_w"] == 15
    assert _run(["hardware", "show", "h100", "--yaml"]).stdout.startswith("# NVIDIA H100")
    bad = _run(["hardware", "show", "h1000"])
    assert bad.exit_code == 1 and bad.output.startswith("error: unknown hardware 'h1000'; near matches: ")
    assert len(bad.output.strip().splitlines()) == 1


def test_cli_hardware_validate(tmp_path):
    good = tmp_path / "my-t4.yaml"
    text = get("t4").origin
    good.write_text(open(text).read().replace("id: t4", "id: my-t4"))
    ok = _run(["hardware", "validate", str(good)])
    assert ok.exit_code == 0 and ok.stdout.startswith(f"ok: {good}: my-t4 (GPU, NVIDIA)")
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(text).read().replace("tdp_w: 70", "tdp_w: -70").replace("  count: 40", "  count: 0"))
    res = _run(["hardware", "validate", str(bad)])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: ")
    assert "negative value -70" in lines[0] and "compute_units.count must be an integer >= 1" in lines[0]
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nname: [\n")
    res = _run(["hardware", "validate", str(broken)])
    assert res.exit_code == 1 and "malformed YAML at line 3" in res.output
    res = _run(["hardware", "validate", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 1 and "cannot read" in res.output


def test_cli_analyze_compares_chips_and_batches():
    res = _run(["analyze", "resnet18", "--hardware", "h100,tpu-v4,kpu-t256", "--batch", "1,8", "--precision", "bf16",
                "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["hardware"], r["batch"]) for r in rows] == [
        ("h100-sxm", 1), ("h100-sxm", 8), ("tpu-v4", 1), ("tpu-v4", 8), ("kpu-t256", 1), ("kpu-t256", 8)]
    r = rows[1]
    assert r["model"] == "resnet18:b8:3x224x224:fp32" and r["precision"] == "bf16"
    assert r["latency_s"] >= r["latency_concurrent_s"] >= r["latency_critical_path_s"] > 0
    assert r["throughput_per_s"] == pytest.approx(8 / r["latency_s"])
    assert 0 < r["utilization"] < 1 and r["peak_memory_bytes"] > 0 and 0 <= r["memory_bound_share"] <= 1
    mm = map_model(analyze_graph("resnet18", batch=8), get("h100"), "bf16", runtime="eager")  # the CLI's default
    assert r["energy_per_inference_j"] == pytest.approx(mm.energy_per_sample_j)
    assert r["runtime"] == "eager" and r["tier"] == "microbench"  # h100-sxm.yaml has a measured bf16 GEMM rate
    assert rows[2]["runtime"] == "compiled" and rows[2]["tier"] == "spec"  # a TPU runs compiled; no calibration
    table = _run(["analyze", "resnet18", "--hardware", "h100,tpu-v4", "--precision", "fp32"])
    assert table.exit_code == 0 and "tpu-v4" in table.stdout and "fp32→bf16" in table.stdout
    csv = _run(["analyze", "resnet18", "--hw", "a100", "--batch", "2", "--csv"])
    assert csv.stdout.splitlines()[0].startswith("model,hardware,kind,batch,precision")


def test_cli_analyze_without_hardware_is_unchanged():
    res = _run(["analyze", "resnet18", "--json"])
    assert res.exit_code == 0
    s = json.loads(res.stdout)
    assert s["id"] == "resnet18:b1:3x224x224:fp32" and s["subgraphs"] == 21
    assert json.loads(_run(["analyze", "resnet18", "--batch", "4", "--json"]).stdout)["batch"] == 4
    for args, msg in ((["--batch", "1,8"], "a list of batches needs --hardware"),
                      (["--saturation"], "--saturation needs --hardware"),
                      (["--precision", "bf16"], "--precision needs --hardware"),
                      (["--batch", "0"], "batch sizes must be integers >= 1"),
                      (["--batch", "x"], "is not a batch size")):
        res = _run(["analyze", "resnet18", *args])
        assert res.exit_code == 2 and msg in res.output, (args, res.output)


def test_cli_analyze_errors_are_one_line():
    res = _run(["analyze", "resnet18", "--hardware", "h100,nochip"])
    assert res.exit_code == 1 and res.output.startswith("error: unknown hardware 'nochip'")
    res = _run(["analyze", "resnet18", "--hardware", "t4", "--precision", "bf16,fp8"])
    assert res.exit_code == 2 and "unknown precision 'fp8'" in res.output
    # t4 has no bf16 peak but falls back to fp32; an Edge TPU takes anything as int8; i7 has no tf32 path
    assert _run(["analyze", "resnet18", "--hardware", "t4", "--precision", "bf16", "--json"]).exit_code == 0


def test_cli_saturation_sweep():
    res = _run(["analyze", "resnet18", "--hardware", "h100", "--saturation", "--batch", "1,4,16,64,256",
                "--precision", "fp16", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    (s,) = data["sweeps"]
    assert s["hardware"] == "h100-sxm" and s["batches"] == [1, 4, 16, 64, 256]
    best = max(r["throughput_per_s"] for r in s["rows"])
    expect = min(r["batch"] for r in s["rows"] if r["throughput_per_s"] >= 0.8 * best)
    assert s["saturation_batch_throughput"] == expect and s["best_throughput_per_s"] == best
    text = _run(["analyze", "resnet18", "--hardware", "h100", "--saturation", "--batch", "1,8,64"])
    assert text.exit_code == 0 and "throughput reaches 80% of its best" in text.stdout


# ------------------------------------------------------------------------------------------------ Neo4j

PARITY = [("resnet18", 4, None), ("mobilenet_v2", 2, None), ("vit_b_16", 2, None), ("hf:gpt2", 2, {"seq_len": "32"}),
          ("synthetic:mlp", 3, None)]
CHIPS = ["h100", "a100", "tpu-v4", "kpu-t256", "xeon-8480", "jetson-orin-nano-8gb"]
PRECISIONS = ["bf16", "int8"]


@pytest.fixture(scope="module")
def mapped(store):
    """The PARITY models ingested and mapped on every chip at every precision, on both stores."""
    graphs = [analyze_graph(name, batch=b, params=p) for name, b, p in PARITY]
    chips = [get(c) for c in CHIPS]
    ov = Overlay()
    for mg in graphs:
        store.ingest(mg, replace=True)
        for hw in chips:
            for p in PRECISIONS:
                write_overlay(store, ov.add(mg, hw, p), hw)
    yield graphs, ov
    for mg in graphs:
        store.delete_model(mg.info.id)


def _mapped_to(store, model_id):
    return store.run_cypher(
        "MATCH (m:Model {id: $id})-[r:MAPPED_TO]->(h:Hardware) RETURN h.id AS hw, r.batch AS batch, "
        "r.precision AS precision, r.latency_s AS latency ORDER BY hw, batch, precision", id=model_id)


def _subgraph_rels(store, model_id):
    return store.run_cypher("MATCH (:Subgraph {model_id: $id})-[r:MAPPED_TO]->() RETURN count(r) AS n",
                            id=model_id)[0]["n"]


@pytest.mark.neo4j
def test_write_overlay_creates_replaces_and_rolls_back(store):
    mg = analyze_graph("squeezenet1_1", batch=3)
    store.ingest(mg, replace=True)
    mid, n = mg.info.id, len(mg.subgraphs)
    h100, tpu = get("h100"), get("tpu-v4")
    try:
        mm = map_model(mg, h100, "bf16")
        assert write_overlay(store, mm, h100) == {"result": "created", "subgraphs": n}
        hw = store.run_cypher("MATCH (h:Hardware {id: 'h100-sxm'}) RETURN h AS h")[0]["h"]
        assert hw["kind"] == "GPU" and hw["vendor"] == "NVIDIA" and hw["peak_bf16"] == 989.4e12
        assert hw["memory_bandwidth_bytes_per_s"] == 3.35e12 and hw["units"] == 132
        assert _subgraph_rels(store, mid) == n
        assert _mapped_to(store, mid) == [{"hw": "h100-sxm", "batch": 3, "precision": "bf16",
                                           "latency": mm.latency_sequential_s}]
        # re-running with other numbers replaces, never duplicates
        rows = subgraph_rows(mm)
        for r in rows:
            r["props"]["latency_s"] = 1.0
        res = store.write_overlay(mid, hardware_properties(h100), 3, "bf16", rows, {**model_row(mm, h100), "latency_s": 2.0})
        assert res == {"result": "replaced", "subgraphs": n}
        assert _subgraph_rels(store, mid) == n
        assert _mapped_to(store, mid)[0]["latency"] == 2.0
        lat = store.run_cypher("MATCH (:Subgraph {model_id: $id})-[r:MAPPED_TO]->() RETURN collect(DISTINCT "
                               "r.latency_s) AS l", id=mid)[0]["l"]
        assert lat == [1.0]
        # another precision or chip adds its own overlay; the Hardware node is MERGEd, not duplicated
        write_overlay(store, map_model(mg, h100, "int8"), h100)
        write_overlay(store, map_model(mg, tpu, "bf16"), tpu)
        write_overlay(store, map_model(mg, h100, "int8"), h100)
        assert [(r["hw"], r["precision"]) for r in _mapped_to(store, mid)] == [
            ("h100-sxm", "bf16"), ("h100-sxm", "int8"), ("tpu-v4", "bf16")]
        assert _subgraph_rels(store, mid) == 3 * n
        assert store.run_cypher("MATCH (h:Hardware {id: 'h100-sxm'}) RETURN count(h) AS n")[0]["n"] == 1
        assert store.overlays(mid) == [{"hardware": "h100-sxm", "batch": 3, "precision": "bf16"},
                                       {"hardware": "h100-sxm", "batch": 3, "precision": "int8"},
                                       {"hardware": "tpu-v4", "batch": 3, "precision": "bf16"}]
        # a bad row rolls the whole transaction back: the old overlay is still there, untouched
        broken = subgraph_rows(map_model(mg, tpu, "bf16"))
        broken[-1]["uid"] = "no/such/subgraph"
        with pytest.raises(StoreError, match=f"matched {n - 1} of {n} subgraphs"):
            store.write_overlay(mid, hardware_properties(tpu), 3, "bf16", broken, model_row(mm, h100))
        assert _subgraph_rels(store, mid) == 3 * n and len(_mapped_to(store, mid)) == 3
        with pytest.raises(StoreError, match="ingest it before writing its overlay"):
            store.write_overlay("nope:b1", hardware_properties(tpu), 1, "bf16", [], {})
        # re-ingesting the model drops its overlays with it
        store.ingest(mg, replace=True)
        assert _mapped_to(store, mid) == [] and _subgraph_rels(store, mid) == 0
    finally:
        store.delete_model(mid)


def _overlay_param_sets(name: str, batch: int) -> list[dict[str, str]]:
    if name == "memory_bound_share":
        return [{}, {"hardware": "h100,kpu-t256"}, {"precision": "int8"}, {"hardware": "tpu-v4", "batch": str(batch)}]
    if name == "bound_flip":
        return [{}, {"a": "kpu-t256", "b": "h100"}, {"a": "jetson-orin-nano-8gb", "precision": "bf16"},
                {"b": "tpu-v4,xeon-8480"}]
    if name == "critical_path":
        return [{"weight": "latency", "hardware": c, "precision": p} for c in CHIPS for p in PRECISIONS]
    return [{}]


@pytest.mark.neo4j
@pytest.mark.parametrize("model", [m for m, _, _ in PARITY])
def test_overlay_queries_agree_with_networkx(store, mapped, model):
    graphs, ov = mapped
    mg = next(g for g in graphs if g.info.name == model)
    for name in ("memory_bound_share", "bound_flip", "critical_path"):
        for params in _overlay_param_sets(name, mg.info.batch):
            embedded = named.run_embedded(name, graphs, mg.info.id, overlay=ov, **params)
            neo = named.run_neo4j(name, store, mg.info.id, **params)
            assert neo == embedded, (name, params)
            assert embedded or name == "bound_flip", (name, params)  # rows to compare, not two empty lists
    # the flops path is untouched by the overlay
    assert named.run_neo4j("critical_path", store, mg.info.id) == named.run_embedded("critical_path", graphs,
                                                                                    mg.info.id, overlay=ov)


@pytest.mark.neo4j
def test_some_kernels_flip_bound_between_chips(store, mapped):
    graphs, ov = mapped
    flips = sum(len(named.run_neo4j("bound_flip", store, mg.info.id)) for mg in graphs)
    assert flips > 0


@pytest.mark.neo4j
def test_best_chip_agrees_with_networkx(store, mapped):
    graphs, ov = mapped
    ids = {mg.info.id for mg in graphs}
    for params in ({}, {"precision": "int8"}, {"hardware": "h100,tpu-v4,kpu-t256"}, {"batch": "2"}):
        embedded = named.run_embedded("best_chip", graphs, overlay=ov, **params)
        neo = [r for r in named.run_neo4j("best_chip", store, **params) if r["model"] in ids]
        assert neo == embedded and embedded, params
    assert len(named.run_embedded("best_chip", graphs, overlay=ov)) == len(PARITY) * len(PRECISIONS)


def _cli_env(neo4j_conn):
    return cli_env(neo4j_conn)


@pytest.mark.neo4j
def test_cli_map_writes_the_overlay_and_queries_agree(neo4j_conn, store):
    env = _cli_env(neo4j_conn)
    ids = ["squeezenet1_1:b5:3x224x224:fp32", "squeezenet1_1:b6:3x224x224:fp32"]
    for mid in ids:
        store.delete_model(mid)
    try:
        res = _run(["map", "squeezenet1_1", "--hardware", "h100,tpu-v4", "--batch", "5,6", "--precision", "bf16",
                    "--json"], env=env)
        assert res.exit_code == 0, res.output
        rows = json.loads(res.stdout)
        assert [(r["model"], r["hardware"], r["ingest"], r["overlay"]) for r in rows] == [
            (ids[0], "h100-sxm", "created", "created"), (ids[0], "tpu-v4", "created", "created"),
            (ids[1], "h100-sxm", "created", "created"), (ids[1], "tpu-v4", "created", "created")]
        again = _run(["map", "squeezenet1_1", "--hardware", "tpu-v4", "--batch", "5", "--precision", "bf16",
                      "--json"], env=env)
        assert [(r["ingest"], r["overlay"]) for r in json.loads(again.stdout)] == [("exists", "replaced")]
        assert len(_mapped_to(store, ids[0])) == 2
        neo = _run(["query", "memory_bound_share", "-m", ids[0], "--json"], env=env)
        emb = _run(["query", "memory_bound_share", "-m", "squeezenet1_1", "--batch", "5", "-p", "hardware=h100,tpu-v4",
                    "-p", "precision=bf16", "--store", "embedded", "--json"], env={"NEO4J_URI": ""})
        assert neo.exit_code == 0 and emb.exit_code == 0, (neo.output, emb.output)
        assert json.loads(neo.stdout) == json.loads(emb.stdout) and len(json.loads(neo.stdout)) == 2
        cp = _run(["query", "critical_path", "-m", ids[1], "-p", "weight=latency", "-p", "hardware=tpu-v4", "--json"],
                  env=env)
        assert cp.exit_code == 0 and json.loads(cp.stdout), cp.output
        missing = _run(["query", "critical_path", "-m", ids[1], "-p", "weight=latency", "-p", "hardware=a100"], env=env)
        assert missing.exit_code == 1 and "no overlay for" in missing.output
        table = _run(["map", "squeezenet1_1", "--hardware", "kpu-t256", "--batch", "5"], env=env)
        assert table.exit_code == 0 and "kpu-t256" in table.stdout
    finally:
        for mid in ids:
            store.delete_model(mid)


@pytest.mark.neo4j
def test_overlays_of_several_runtimes_coexist_and_queries_filter_them(neo4j_conn, store):
    """eager and graph overlays of one (model, chip, batch, precision) are two entries; each query run with
    -p runtime=... returns on Neo4j exactly what the embedded twin returns for that runtime."""
    env = _cli_env(neo4j_conn)
    mid = "squeezenet1_1:b7:3x224x224:fp32"
    store.delete_model(mid)
    try:
        for rt in ("eager", "graph"):
            res = _run(["map", "squeezenet1_1", "--hardware", "a100", "--batch", "7", "--precision", "fp16",
                        "--runtime", rt, "--json"], env=env)
            assert res.exit_code == 0, res.output
            assert [(r["runtime"], r["overlay"]) for r in json.loads(res.stdout)] == [(rt, "created")]
        again = _run(["map", "squeezenet1_1", "--hardware", "a100", "--batch", "7", "--precision", "fp16",
                      "--runtime", "graph", "--json"], env=env)
        assert [r["overlay"] for r in json.loads(again.stdout)] == ["replaced"]
        rels = store.run_cypher("MATCH (m:Model {id: $id})-[r:MAPPED_TO]->() RETURN r.runtime AS rt, r.tier AS tier "
                                "ORDER BY rt", id=mid)
        assert [r["rt"] for r in rels] == ["eager", "graph"] and all(r["tier"] for r in rels)
        n = store.run_cypher("MATCH (m:Model {id: $id}) RETURN m.subgraphs AS n", id=mid)[0]["n"]
        assert _subgraph_rels(store, mid) == 2 * n  # eager kernels summed onto the stored subgraphs
        for rt in ("eager", "graph"):
            neo = _run(["query", "memory_bound_share", "-m", mid, "-p", f"runtime={rt}", "--json"], env=env)
            emb = _run(["query", "memory_bound_share", "-m", "squeezenet1_1", "--batch", "7", "-p", "hardware=a100",
                        "-p", "precision=fp16", "-p", f"runtime={rt}", "--store", "embedded", "--json"],
                       env={"NEO4J_URI": ""})
            assert neo.exit_code == 0 and emb.exit_code == 0, (neo.output, emb.output)
            assert json.loads(neo.stdout) == json.loads(emb.stdout) and len(json.loads(neo.stdout)) == 1
            best = _run(["query", "best_chip", "-p", f"runtime={rt}", "-p", "batch=7", "--json"], env=env)
            assert best.exit_code == 0 and [r["chips"] for r in json.loads(best.stdout) if r["model"] == mid] == [1]
        eager_lat = json.loads(_run(["query", "memory_bound_share", "-m", mid, "-p", "runtime=eager", "--json"],
                                    env=env).stdout)[0]["latency_s"]
        graph_lat = json.loads(_run(["query", "memory_bound_share", "-m", mid, "-p", "runtime=graph", "--json"],
                                    env=env).stdout)[0]["latency_s"]
        assert eager_lat > graph_lat
        both = _run(["query", "critical_path", "-m", mid, "-p", "weight=latency", "-p", "hardware=a100"], env=env)
        assert both.exit_code == 1 and "runtime" in both.output  # two runtimes stored: one must be picked
        one = _run(["query", "critical_path", "-m", mid, "-p", "weight=latency", "-p", "hardware=a100",
                    "-p", "runtime=graph", "--json"], env=env)
        assert one.exit_code == 0 and json.loads(one.stdout), one.output
    finally:
        store.delete_model(mid)
