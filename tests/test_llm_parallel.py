"""Tensor / pipeline parallelism (perfgraph.llm_parallel, engine.collective) and LLM phases in Neo4j.

The tiny decoder of test_llm.py (2 layers, hidden 256, 8 heads of 32, 2 KV heads, ffn 512, vocab 1000, bf16)
keeps every trace under a second; every expected number is worked out by hand in the comments.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from perfgraph import llm, llm_parallel
from perfgraph.cli.main import cli
from perfgraph.engine import collective
from perfgraph.engine.overlay import Overlay
from perfgraph.hardware.spec import Interconnect, get
from perfgraph.queries import named
from neo4j_fixture import cli_env

SMALL = {"hidden_size": "256", "num_hidden_layers": "2", "num_attention_heads": "8", "num_key_value_heads": "2",
         "intermediate_size": "512", "vocab_size": "1000"}
SMALL_ARGS = [x for k, v in SMALL.items() for x in ("-p", f"{k}={v}")]
# bf16 weights: per layer q,o 256x256, k,v 256x64, gate/up/down 256x512 = 557,056 params; embedding and LM
# head 256,000 each; 5 RMSNorm weights of 256.
SPLIT_WEIGHT_BYTES = 2 * (2 * 557_056 + 2 * 256_000)  # 3,252,224: what TP splits
NORM_WEIGHT_BYTES = 2 * 5 * 256  # 2,560: replicated


def _decode(batch=3, context=40):
    return llm.phase_graph("hf:llama", "decode", batch=batch, context=context, params=SMALL)


def _collectives(mg):
    return [sg for sg in mg.subgraphs if sg.anchor_kind == "collective"]


@pytest.mark.parametrize("chips, expected", [
    (2, 2 * 1 / 2 * 8e6 / 100e9 + 2 * 1 * 1e-6),  # 80 us + 2 us = 82 us
    (4, 2 * 3 / 4 * 8e6 / 100e9 + 2 * 3 * 1e-6),  # 120 us + 6 us = 126 us
    (8, 2 * 7 / 8 * 8e6 / 100e9 + 2 * 7 * 1e-6),  # 140 us + 14 us = 154 us
])
def test_ring_all_reduce_time_by_hand(chips, expected):
    """NCCL's cost model with a base latency of 0 (the by-hand figures); the base is added once per call."""
    link = Interconnect("test link", 100e9, 1e-6)
    assert collective.all_reduce_s(8e6, chips, link) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx({2: 82e-6, 4: 126e-6, 8: 154e-6}[chips], rel=1e-12)
    # all-gather: half the bytes and half the steps of an all-reduce; send: one hop
    assert collective.all_gather_s(8e6, chips, link) == pytest.approx((chips - 1) / chips * 8e-5 + (chips - 1) * 1e-6)
    assert collective.send_s(8e6, link) == pytest.approx(8e-5 + 1e-6)
    assert collective.all_reduce_s(8e6, 1, link) == 0.0


def test_interconnects_are_sourced_in_the_chip_yamls():
    # NVLink 4 on H100: 900 GB/s both directions -> 450 GB/s per direction (datasheet); PCIe Gen4 x16 on L4.
    h100, l4, v5e = get("h100"), get("l4"), get("tpu-v5e")
    assert (h100.interconnect.bandwidth_bytes_per_s, h100.interconnect.latency_s) == (450e9, 0.6e-6)
    assert h100.interconnect.base_latency_s == 6.6e-6  # NCCL 2.20.3 baseLat, ring LL
    assert l4.interconnect.bandwidth_bytes_per_s == 32e9 and v5e.interconnect.bandwidth_bytes_per_s == 200e9
    for chip in ("h100", "h200", "b200", "a100", "v100", "l4", "t4", "tpu-v4", "tpu-v5e", "tpu-v5p"):
        hw = get(chip)
        assert hw.interconnect is not None, chip
        for key in ("bandwidth_bytes_per_s", "latency_s"):
            assert (hw.source_of(f"interconnect.{key}") or "").strip(), (chip, key)
    assert get("xeon-8480").interconnect is None


def test_interconnect_validation():
    from perfgraph.hardware.spec import validate
    import yaml
    from perfgraph.hardware.spec import packaged_dir

    d = yaml.safe_load((packaged_dir() / "h100-sxm.yaml").read_text())
    del d["interconnect"]["source"]
    assert any("interconnect.bandwidth_bytes_per_s: number without a source" in e for e in validate(d))
    d = yaml.safe_load((packaged_dir() / "h100-sxm.yaml").read_text())
    d["interconnect"]["bandwidth_bytes_per_s"] = 1e15
    d["interconnect"]["speed"] = 1
    errors = validate(d)
    assert any("interconnect.bandwidth_bytes_per_s: implausible" in e for e in errors)
    assert any("interconnect: unknown field 'speed'" in e for e in errors)


def test_tp_halves_weights_and_kv_and_adds_two_collectives_per_layer():
    mg = _decode()
    pg = llm_parallel.parallelize(mg, tp=2)
    g = pg.graph
    assert g.info.id == mg.info.id + ":tp=2"
    # every split weight is read at half its size; the norms (and small buffers: rotary inv_freq) whole. The
    # embedding lookup reads the rows it picks (3 tokens x 256 x 2 B = 1,536 B), not its 512,000-B table: half
    # of those per chip under the vocab split
    before, after = (sum(sg.weight_bytes for sg in m.subgraphs) for m in (mg, g))
    table, picked = 2 * 256_000, 3 * 256 * 2
    assert before - after == (SPLIT_WEIGHT_BYTES - table) // 2 + picked // 2 == 1_370_880
    assert before >= SPLIT_WEIGHT_BYTES - table + picked + NORM_WEIGHT_BYTES
    # the KV cache inputs: 62,976 bytes (test_llm) split by KV heads -> 31,488 per chip
    cache = lambda m: sum(v.nbytes for v in m.values if v.is_model_input) - 3 * 8  # noqa: E731 - minus the ids
    assert cache(mg) == 62_976 and cache(g) == 31_488
    per_layer = {0: [], 1: []}
    for sg in _collectives(g):
        op = next(g.ops[i] for i in sg.op_indices if g.ops[i].kind == "collective")
        layer = llm_parallel.layer_of(op.module_path)
        if layer is not None:
            per_layer[layer].append(sg.pattern)
    assert per_layer == {0: ["all_reduce", "all_reduce"], 1: ["all_reduce", "all_reduce"]}
    assert pg.collectives == {"all_reduce": 5, "all_gather": 1}  # + vocab-parallel embedding and LM head
    # q_proj of one layer: 2 x 3 tokens x 256 x 256 FLOPs on one chip -> half of it on each of two
    q = [op.flops for op in g.ops if op.module_path == "model.layers.0.self_attn.q_proj" and op.kind == "matmul"]
    assert q == [3 * 256 * 256]
    # the all-reduce message: batch 3 x 1 token x hidden 256 x 2 bytes
    msgs = {g.ops[i].bytes_written for sg in _collectives(g) if sg.pattern == "all_reduce" for i in sg.op_indices
            if g.ops[i].kind == "collective"}
    assert msgs == {3 * 256 * 2}


def test_tp_degree_must_divide_heads():
    arch = llm.architecture("hf:llama", SMALL)
    with pytest.raises(ValueError, match="KV heads \\(2\\) divisible by 4"):
        llm_parallel.check_degrees(arch, 4, 1)
    with pytest.raises(ValueError, match="at least 3 layers"):
        llm_parallel.check_degrees(arch, 1, 3)


def test_collective_kernels_cost_by_the_interconnect_and_sit_on_the_critical_path():
    h100 = get("h100")
    pg = llm_parallel.parallelize(_decode(), tp=2)
    mm = llm.map_phase(pg.graph, h100, "bf16")  # compiled: one 5 us launch per kernel (h100 YAML)
    comm = [k for k in mm.kernels if k.kernel == "collective"]
    assert len(comm) == 6
    ar = [k for k in comm if k.details["collective"] == "all_reduce"]
    # 2 (N-1)/N x 1,536 B / 450 GB/s + NCCL's 6.6 us base + 2 (N-1) x 0.6 us + 5 us launch, N = 2
    assert ar[0].latency_s == pytest.approx(1536 / 450e9 + 6.6e-6 + 2 * 0.6e-6 + 5e-6, rel=1e-9)
    assert all(k.bound == "interconnect" and k.flops == 0 for k in comm)
    # the decoder is one chain: every all-reduce of a layer is on the latency critical path, and has a stage
    stage = {sg.index: sg.stage for sg in pg.graph.subgraphs}
    for k in ar:
        assert k.subgraph_index in mm.critical_path and stage[k.subgraph_index] > 0
    rows = named.run_embedded("stages", [pg.graph], pg.graph.info.id)
    assert {r["index"] for r in rows} >= {k.subgraph_index for k in comm}


def test_pipeline_time_and_bubble_by_hand():
    # stages 1, 2, 3 s, 4 micro-batches: 6 + 3 x 3 = 15 s; busy 4 x 6 = 24 of 3 x 15 = 45 chip-seconds
    total, bubble = llm_parallel.pipeline_time([1.0, 2.0, 3.0], 4)
    assert total == 15.0 and bubble == pytest.approx(21 / 45)
    # equal stages: (m + P - 1) x t and the textbook bubble (P - 1) / (m + P - 1)
    total, bubble = llm_parallel.pipeline_time([2.0, 2.0], 3)
    assert total == 8.0 and bubble == pytest.approx(1 / 4)
    assert llm_parallel.pipeline_time([2.0, 2.0], 1) == (4.0, 0.5)


def test_pp_splits_layers_and_sends_the_hidden_state():
    mg = llm.phase_graph("hf:llama", "prefill", batch=2, prompt_len=8, params=SMALL)
    pg = llm_parallel.parallelize(mg, pp=2)
    g = pg.graph
    sends = [sg for sg in _collectives(g) if sg.pattern == "send"]
    assert len(sends) == 1
    op = next(g.ops[i] for i in sends[0].op_indices if g.ops[i].kind == "collective")
    assert op.bytes_written == 2 * 8 * 256 * 2  # batch x tokens x hidden x bf16 = 8,192
    for sg in g.subgraphs:
        layers = {llm_parallel.layer_of(g.ops[i].module_path) for i in sg.op_indices} - {None}
        if layers:
            assert pg.pipeline_stage[sg.index] == max(layers)  # layer 0 on stage 0, layer 1 on stage 1
    mm = llm.map_phase(g, get("h100"), "bf16", "eager")  # eager: per-op kernels summed per stage
    times = llm_parallel.stage_times(mm, pg)
    assert sum(times) == pytest.approx(mm.latency_sequential_s, rel=1e-9) and min(times) > 0


def test_serve_with_tp_and_pp():
    rows = llm.serve("hf:llama", ["h100"], batches=(2,), prompt_len=16, output_len=8, params=SMALL,
                     runtime="graph", tp=2, pp=2, micro_batches=2)
    r = rows[0]
    assert (r["tp"], r["pp"], r["chips"], r["micro_batches"]) == (2, 2, 4, 2)
    assert r["weights_bytes"] == 2 * 1_627_392 / 4  # weights split over tp x pp chips
    assert r["kv_bytes"] == 2 * 2 * 2 * 32 * 24 * 2 * 2 / 4
    assert r["decode_collectives"] == 7  # 4 in the layers, embedding, LM head, one send
    assert 0 < r["decode_bubble"] < 0.5 and r["decode_collective_s"] > 0
    assert r["tokens_per_s_per_chip"] == pytest.approx(r["tokens_per_s"] / 4)
    with pytest.raises(ValueError, match="micro-batches"):
        llm.serve("hf:llama", ["h100"], batches=(3,), params=SMALL, pp=2, micro_batches=2)


def _run(args, env=None):
    return CliRunner().invoke(cli, args, env=env)


def test_cli_serve_tp_pp_and_bad_degrees():
    res = _run(["llm", "serve", "hf:llama", "--hardware", "h100", "--batch", "2", "--prompt", "16", "--output", "8",
                "--tp", "2", "--pp", "2", "--micro-batches", "2", "--runtime", "graph", *SMALL_ARGS])
    assert res.exit_code == 0, res.output
    assert "tp 2 x pp 2 = 4 chips" in res.output
    res = _run(["llm", "serve", "hf:llama", "--hardware", "h100", "--tp", "3", *SMALL_ARGS])
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert res.exit_code != 0 and len(lines) == 1 and "divisible by 3" in lines[0], res.output
    res = _run(["llm", "serve", "hf:llama", "--hardware", "xeon-8480", "--batch", "1", "--prompt", "8",
                "--output", "2", "--tp", "2", *SMALL_ARGS])
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert res.exit_code != 0 and len(lines) == 1 and "no interconnect" in lines[0], res.output


# Commands shown in README.md, section "LLMs".
def test_readme_parallel_command():
    res = _run("llm serve hf:gpt2 --hardware h100,l4 --batch 8 --prompt 256 --output 128 --tp 4 --pp 2 "
               "--micro-batches 4 --runtime graph".split())
    assert res.exit_code == 0, res.output


# -- Neo4j ------------------------------------------------------------------------------------------------
def _env(neo4j_conn):
    return cli_env(neo4j_conn)


@pytest.mark.neo4j
def test_phases_in_neo4j_linked_and_phase_compare_parity(neo4j_conn, store):
    env = _env(neo4j_conn)
    dec = llm.phase_graph("hf:llama", "decode", batch=2, context=64, params=SMALL)
    pre = llm.phase_graph("hf:llama", "prefill", batch=2, prompt_len=32, params=SMALL)
    source = "hf:llama:" + ":".join(f"{k}={v}" for k, v in sorted(SMALL.items()))
    try:
        for args in (["--phase", "decode", "--context", "64"], ["--phase", "prefill", "--prompt", "32"]):
            res = _run(["llm", "ingest", "hf:llama", *args, "--batch", "2", "--hardware", "h100,a100",
                        "--runtime", "graph", "--replace", *SMALL_ARGS], env=env)
            assert res.exit_code == 0, res.output
        links = store.run_cypher(
            "MATCH (p:Model)-[l:PHASE_OF]->(s:Model {id: $s}) RETURN p.id AS model, l.phase AS phase, "
            "l.batch AS batch, l.context AS context, s.stub AS stub, s.name AS name ORDER BY phase", s=source)
        assert links == [{"model": dec.info.id, "phase": "decode", "batch": 2, "context": 64, "stub": True,
                          "name": "hf:llama"},
                         {"model": pre.info.id, "phase": "prefill", "batch": 2, "context": 32, "stub": True,
                          "name": "hf:llama"}]
        ov = Overlay(runtime="graph")
        for mg in (dec, pre):
            for chip in ("h100", "a100"):
                hw = get(chip)
                ov.put(mg, hw, llm.map_phase(mg, hw, "bf16", "graph"))
        neo = named.run_neo4j("phase_compare", store, source=source)
        emb = named.run_embedded("phase_compare", [dec, pre], overlay=ov, source=source)
        assert neo == emb and len(neo) == 4
        assert [(r["phase"], r["hardware"]) for r in neo] == [("decode", "a100-sxm-80gb"), ("decode", "h100-sxm"),
                                                             ("prefill", "a100-sxm-80gb"), ("prefill", "h100-sxm")]
        assert named.run_neo4j("phase_compare", store, source=source, hardware="h100") == \
            named.run_embedded("phase_compare", [dec, pre], overlay=ov, source=source, hardware="h100")
        # the stub is no model of its own for the cross-model queries
        assert source not in {r["model"] for r in named.run_neo4j("rank_models", store)}
    finally:
        store.delete_models([dec.info.id, pre.info.id, source])


@pytest.mark.neo4j
def test_collectives_are_stored_and_staged_in_cypher(store):
    pg = llm_parallel.parallelize(_decode(batch=1, context=16), tp=2, pp=2)
    mid = pg.graph.info.id
    try:
        store.ingest(pg.graph, replace=True)
        assert named.run_neo4j("stages", store, mid) == named.run_embedded("stages", [pg.graph], mid)
        rows = store.run_cypher("MATCH (s:Subgraph {model_id: $id, anchor_kind: 'collective'}) "
                                "RETURN s.pattern AS p, s.flops AS f ORDER BY s.index", id=mid)
        assert [r["p"] for r in rows].count("all_reduce") == 5 and {r["f"] for r in rows} == {0}
        assert any(r["p"] == "send" for r in rows)
        path = named.run_neo4j("critical_path", store, mid)
        assert path == named.run_embedded("critical_path", [pg.graph], mid)
    finally:
        store.delete_model(mid)



@pytest.mark.neo4j
def test_readme_phase_commands(neo4j_conn, store):
    env = _env(neo4j_conn)
    res = _run("llm ingest hf:gpt2 --phase decode --context 512 --hardware h100,a100 --replace".split(), env=env)
    assert res.exit_code == 0, res.output
    mid = llm.phase_graph("hf:gpt2", "decode", context=512).info.id
    try:
        res = _run("query phase_compare -p source=hf:gpt2 --json".split(), env=env)
        assert res.exit_code == 0, res.output
        assert '"phase": "decode"' in res.output and '"hardware": "h100-sxm"' in res.output
    finally:
        store.delete_models([mid, "hf:gpt2"])


def test_base_latency_is_paid_once_per_collective_call():
    link = Interconnect("test link", 100e9, 1e-6, base_latency_s=5e-6)
    # 4 chips, 8 MB: ring steps 6 x 1 us, plus the call's 5 us once -- not per step
    assert collective.all_reduce_s(8e6, 4, link) == pytest.approx(2 * 3 / 4 * 8e6 / 100e9 + 5e-6 + 6e-6, rel=1e-12)
    assert collective.all_gather_s(8e6, 4, link) == pytest.approx(3 / 4 * 8e6 / 100e9 + 5e-6 + 3e-6, rel=1e-12)
    assert collective.send_s(8e6, link) == pytest.approx(8e6 / 100e9 + 5e-6 + 1e-6, rel=1e-12)
    assert collective.all_reduce_s(8e6, 1, link) == 0.0  # one chip: no call at all
