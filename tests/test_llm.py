"""LLM phases, memory, serving and training (perfgraph.llm, ingest.hf_phases, `perfgraph llm`).

Small configs (2 layers, hidden 256) keep every trace under a second. Every expected number is worked out
by hand in the comments from the config: hidden 256, 8 heads of 32, 2 KV heads (GQA), ffn 512, vocab 1000.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from perfgraph import llm
from perfgraph.cli.main import cli
from perfgraph.hardware.spec import get

SMALL = {"hidden_size": "256", "num_hidden_layers": "2", "num_attention_heads": "8", "num_key_value_heads": "2",
         "intermediate_size": "512", "vocab_size": "1000"}
SMALL_ARGS = [x for k, v in SMALL.items() for x in ("-p", f"{k}={v}")]

# Per layer: q 256x256 + k 256x64 + v 256x64 + o 256x256 = 163,840; MLP 3 x 256x512 = 393,216;
# two RMSNorms 512.  Model: 2 layers + embedding 256,000 + LM head 256,000 + final norm 256.
LAYER_MATMUL_PARAMS = 163_840 + 393_216
TOTAL_PARAMS = 2 * (LAYER_MATMUL_PARAMS + 512) + 256_000 + 256_000 + 256
MATMUL_PARAMS = 2 * LAYER_MATMUL_PARAMS + 256_000  # everything a token multiplies by (not the lookup table)


def _mac_flops(mg):
    return sum(op.flops for op in mg.ops if op.kind in ("matmul", "attention"))


def test_architecture_counts_gqa_parameters():
    arch = llm.architecture("hf:llama", SMALL)
    assert (arch.layers, arch.heads, arch.kv_heads, arch.head_dim) == (2, 8, 2, 32)
    assert arch.params_total == TOTAL_PARAMS == 1_627_392
    assert arch.params_active == arch.params_total  # dense


def test_kv_cache_bytes_exact_and_equal_to_the_traced_cache():
    arch = llm.architecture("hf:llama", SMALL)
    # 2 (K, V) x 2 layers x 2 kv heads x 32 x 100 tokens x 3 sequences x 2 bytes
    assert llm.kv_cache_bytes(arch, 100, 3, 2) == 2 * 2 * 2 * 32 * 100 * 3 * 2 == 153_600
    # The traced decode step's cache inputs: the static cache holds context + 1 = 41 slots.
    mg = llm.phase_graph("hf:llama", "decode", batch=3, context=40, params=SMALL)
    ids_bytes = 3 * 1 * 8  # int64 token ids
    cache_inputs = sum(v.nbytes for v in mg.values if v.is_model_input) - ids_bytes
    assert cache_inputs == 2 * 2 * 2 * 32 * 41 * 3 * 2 == 62_976
    assert not any(v.is_weight and v.nbytes == 2 * 32 * 41 * 3 * 2 for v in mg.values)  # not taken for weights


def test_decode_flops_are_two_per_parameter_per_token_plus_attention_over_the_context():
    mg = llm.phase_graph("hf:llama", "decode", batch=3, context=40, params=SMALL)
    tokens, keys = 3, 41  # one new token per sequence; it attends over the 40 cached tokens and itself
    linear = 2 * MATMUL_PARAMS * tokens  # 8,220,672
    attention = 2 * (2 * 2 * 3 * 8 * 1 * keys * 32)  # QK^T and PV MACs x 2, two layers: 251,904
    softmax = 2 * 5 * 3 * 8 * keys  # 5 FLOPs per score, two layers: 9,840
    assert _mac_flops(mg) == linear + attention + softmax == 8_482_416
    assert not mg.uncosted


def test_dynamic_cache_same_flops_more_bytes():
    static = llm.phase_graph("hf:llama", "decode", batch=3, context=40, params=SMALL)
    dynamic = llm.phase_graph("hf:llama", "decode", batch=3, context=40, params=SMALL, cache="dynamic")
    assert _mac_flops(dynamic) == _mac_flops(static)
    assert any(op.target == "aten.cat.default" and op.output_shape == [3, 2, 41, 32] for op in dynamic.ops)
    assert any(op.target == "aten.index_copy_.default" for op in static.ops)


def test_prefill_flops_and_last_logits_only():
    mg = llm.phase_graph("hf:llama", "prefill", batch=2, prompt_len=20, params=SMALL)
    layers_linear = 2 * 2 * LAYER_MATMUL_PARAMS * 2 * 20  # 2 FLOPs x params x 40 tokens, two layers
    head = 2 * 256_000 * 2  # the LM head on the last position of each sequence only
    attention = 2 * (2 * 2 * 2 * 8 * 20 * 20 * 32)  # causal prompt counted as the full 20 x 20 square
    softmax = 2 * 5 * 2 * 8 * 20 * 20
    assert _mac_flops(mg) == layers_linear + head + attention + softmax
    assert not mg.uncosted


def test_moe_active_versus_total_parameters():
    arch = llm.architecture("hf:mixtral-8x7b", {**SMALL, "max_position_embeddings": "4096"})
    # Per layer: attention 163,840 + router 256x8 = 2,048 + 8 experts x 393,216 + norms 512.
    total = 2 * (163_840 + 2_048 + 8 * 393_216 + 512) + 256_000 + 256_000 + 256
    assert arch.params_total == total == 7_136_512
    assert arch.params_active == total - 2 * 6 * 393_216 == 2_417_920  # 2 of 8 experts per token
    mg = llm.phase_graph("hf:mixtral-8x7b", "decode", batch=3, context=40,
                         params={**SMALL, "max_position_embeddings": "4096"})
    assert not mg.uncosted
    expert_flops = sum(op.flops for op in mg.ops if op.target == "aten._grouped_mm.default")
    assert expert_flops == 2 * 2 * (3 * 2) * 393_216  # 2 layers, 3 tokens x top-2, 2 FLOPs per MAC
    # a decode step reads the experts its tokens reach: 1 - (6/8)^3 of them for 3 tokens routed uniformly
    share = 1 - (1 - 2 / 8) ** 3
    expert_weight_read = sum(op.weight_bytes for op in mg.ops if op.target == "aten._grouped_mm.default")
    assert expert_weight_read == pytest.approx(share * 2 * 8 * 393_216 * 2, rel=1e-6)  # 2 layers, bf16
    assert any("uniform routing assumed" in a for a in mg.info.assumptions)
    assert sum(v.nbytes for v in mg.values if v.is_weight) >= 2 * total  # memory: every expert resident
    one = llm.phase_graph("hf:mixtral-8x7b", "decode", batch=1, context=40,
                          params={**SMALL, "max_position_embeddings": "4096"})
    read = sum(op.weight_bytes for op in one.ops if op.target == "aten._grouped_mm.default")
    assert read == pytest.approx(2 / 8 * 2 * 8 * 393_216 * 2, rel=1e-6)  # one token: exactly its 2 experts
    assert llm.experts_touched(8, 2, 1) == 0.25 and llm.experts_touched(8, 2, 64) > 0.999


def test_sliding_window_caps_the_cache_and_the_attention():
    params = {**SMALL, "sliding_window": "16"}
    arch = llm.architecture("hf:mistral-7b", params)
    assert (arch.sliding_window, arch.sliding_layers) == (16, 2)
    assert llm.kv_cache_bytes(arch, 40, 3, 2) == 2 * 2 * 2 * 32 * 16 * 3 * 2  # 16, not 40, tokens per layer
    assert llm.kv_cache_bytes(arch, 10, 3, 2) == 2 * 2 * 2 * 32 * 10 * 3 * 2  # below the window: all of them
    mg = llm.phase_graph("hf:mistral-7b", "decode", batch=3, context=40, params=params)
    attn = [op for op in mg.ops if op.kind == "attention"]
    assert [op.flops for op in attn] == [2 * (2 * 3 * 8 * 16 * 32) + 5 * 3 * 8 * 16] * 2


def test_training_step_is_about_three_forwards_and_six_nd():
    fwd = llm.phase_graph("hf:llama", "forward", batch=2, prompt_len=64, params=SMALL)
    step = llm.phase_graph("hf:llama", "train", batch=2, prompt_len=64, params=SMALL, optimizer=False)
    tokens = 2 * 64
    # Linear layers: forward 2 x params x tokens; backward twice that (input and weight gradients).
    assert sum(op.flops for op in fwd.ops if op.kind == "matmul") >= 2 * MATMUL_PARAMS * tokens
    ratio = step.info.flops / fwd.info.flops
    assert 2.9 <= ratio <= 3.15, ratio
    assert 0.9 <= step.info.flops / (6 * MATMUL_PARAMS * tokens) <= 1.2


def test_train_step_memory_checkpointing_and_mfu():
    ts = llm.train_step("hf:llama", "h100", batch=2, seq_len=64, params=SMALL, measured_step_time_s=0.01)
    assert ts.params == TOTAL_PARAMS
    assert ts.memory["parameters_bytes"] == 2 * TOTAL_PARAMS
    assert ts.memory["optimizer_bytes"] == 12 * TOTAL_PARAMS
    assert ts.memory_checkpointed["activations_and_gradients_bytes"] < ts.memory["activations_and_gradients_bytes"]
    # MFU = 6 x params x tokens / (step time x H100's dense bf16 peak 989.4 TFLOP/s)
    assert ts.mfu == pytest.approx(6 * 1_627_392 * 128 / (0.01 * 989.4e12), rel=1e-9)
    assert ts.step_time_s > 0 and ts.labels.get("tier")


def test_memory_per_scheme_and_fit():
    arch = llm.architecture("hf:llama", SMALL)
    w4 = llm.memory(arch, batch=4, context=100, scheme="w4a16", activation_bytes=1000.0)
    assert w4.weights_bytes == TOTAL_PARAMS * 0.5
    assert w4.kv_bytes == 2 * 2 * 2 * 32 * 100 * 4 * 2  # KV stays bf16
    assert w4.kv_bytes_per_token == 2 * 2 * 2 * 32 * 2 == 512
    assert w4.total_bytes == w4.weights_bytes + w4.kv_bytes + 1000.0
    fp32 = llm.memory(arch, batch=4, context=100, scheme="fp32", activation_bytes=0.0)
    assert fp32.weights_bytes == 4 * TOTAL_PARAMS and fp32.kv_bytes == 2 * w4.kv_bytes

    class Chip:  # a chip of 10 MB: free after bf16 weights = 10e6 - 3,254,784
        id = "tiny"

        class dram:
            capacity_bytes = 10e6

    bf16 = llm.memory(arch, batch=4, context=100, scheme="bf16", activation_bytes=4 * 1000.0)
    f = llm.fit(bf16, arch, Chip)
    per_seq = 2 * 2 * 2 * 32 * 100 * 2 + 1000.0  # KV of one sequence + its activations = 52,200
    assert f.max_batch == int((10e6 - 2 * TOTAL_PARAMS) // per_seq) == 129
    assert f.chips_needed == 1
    # largest context at batch 4: KV(ctx) = 512 x ctx x 4 <= 10e6 - 3,254,784 - 4,000
    assert f.max_context == int((10e6 - 2 * TOTAL_PARAMS - 4000) // (512 * 4)) == 3291


def test_weight_only_quantisation_speeds_up_a_memory_bound_decode():
    mg = llm.phase_graph("hf:llama", "decode", batch=1, context=40, params=SMALL)
    quarter = llm.with_weight_bytes(mg, 0.25)
    assert sum(sg.weight_bytes for sg in quarter.subgraphs) == pytest.approx(
        0.25 * sum(sg.weight_bytes for sg in mg.subgraphs), rel=1e-3)
    assert sum(sg.flops for sg in quarter.subgraphs) == sum(sg.flops for sg in mg.subgraphs)


def test_serve_rows():
    rows = llm.serve("hf:llama", ["h100"], batches=(1, 4), prompt_len=32, output_len=16, params=SMALL,
                     runtime="graph")
    assert [r["batch"] for r in rows] == [1, 4]
    for r in rows:
        assert r["decode_context"] == 32 + 8
        assert r["tokens_per_s"] == pytest.approx(r["batch"] / r["tpot_s"])
        assert r["tokens_per_s_per_seq"] == pytest.approx(1 / r["tpot_s"])
        assert r["ttft_s"] > 0 and r["fits"] and r["runtime"] == "graph" and r["tier"]
        assert r["kv_bytes"] == 2 * 2 * 2 * 32 * 48 * r["batch"] * 2  # at the end of the generation
    assert rows[0]["saturating_batch"] in (1, 4)


def test_serve_rows_carry_the_error_measured_on_published_serving_results():
    """Under the graph runtime on a GPU a row's expected error is the LLM serving figure for its batch
    (tiers_validation.yaml: 65 hold-out rows at batch 1-16, 44 at 17+); eager keeps the tier's figure, and a TPU
    (compiled) has none of the serving figures."""
    graph = llm.serve("hf:llama", ["h100"], batches=(1, 16, 17), prompt_len=32, output_len=16, params=SMALL,
                      runtime="graph")
    small, edge, large = (r["expected_error"] for r in graph)
    assert small["tier"] == edge["tier"] == large["tier"] == "llm serving"
    assert small["rows"] == edge["rows"] == 65 and small["median_abs_error"] == pytest.approx(0.079)
    assert large["rows"] == 44 and large["median_abs_error"] == pytest.approx(0.115)
    assert "batch 1-16" in small["kind"] and "batch 17+" in large["kind"]
    eager = llm.serve("hf:llama", ["h100"], batches=(1,), prompt_len=32, output_len=16, params=SMALL,
                      runtime="eager")[0]
    assert eager["expected_error"]["tier"] == eager["tier"] != "llm serving"
    tpu = llm.serve("hf:llama", ["tpu-v5e"], batches=(1,), prompt_len=32, output_len=16, params=SMALL,
                    runtime="graph")[0]
    assert tpu["expected_error"]["tier"] != "llm serving"


def _run(args):
    return CliRunner().invoke(cli, args)


def test_cli_serve_prints_the_serving_error_for_the_batches_shown():
    res = _run(["llm", "serve", "hf:llama", "--hardware", "h100", "--batch", "1,32", "--prompt", "16", "--output",
                "8", "--runtime", "graph", *SMALL_ARGS])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Measured on published serving results" in text
    assert "batch 1-16: median |error| 8%, 91% within ±25% over 65 rows" in text
    assert "batch 17+: median |error| 12%, 80% within ±25% over 44 rows" in text
    eager = _run(["llm", "serve", "hf:llama", "--hardware", "h100", "--batch", "1", "--prompt", "16", "--output",
                  "8", "--runtime", "eager", *SMALL_ARGS])
    assert eager.exit_code == 0 and "Measured on published serving results" not in eager.output


@pytest.mark.parametrize("args", [
    ["llm", "phase", "hf:llama", "--phase", "decode", "--context", "64", "--batch", "2", *SMALL_ARGS],
    ["analyze", "hf:llama", "--phase", "prefill", "-p", "seq_len=32", *SMALL_ARGS],
    ["llm", "memory", "hf:llama", "--batch", "2", "--context", "64", "--hardware", "h100", *SMALL_ARGS],
    ["llm", "serve", "hf:llama", "--hardware", "h100", "--batch", "1,2", "--prompt", "16", "--output", "8",
     "--runtime", "graph", *SMALL_ARGS],
    ["llm", "train", "hf:llama", "--hardware", "h100", "--seq-len", "32", "--measured-step-time", "0.01",
     *SMALL_ARGS],
])
def test_cli_commands(args):
    res = _run(args)
    assert res.exit_code == 0, res.output
    assert res.output.strip()


def test_weight_only_schemes_say_what_they_leave_out():
    """w8a16 / w4a16 count 1 / 0.5 byte per weight and no quantisation scales: every result says so (table
    footer, --json), and a 16-bit scheme carries no such line."""
    assert llm.scheme_assumptions("bf16") == [] and llm.scheme_assumptions("int8") == []
    note = llm.scheme_assumptions("w4a16")
    assert len(note) == 1 and "0.5 byte per weight" in note[0] and "scales and zero points are not counted" in note[0]
    res = _run(["llm", "memory", "hf:llama", "--batch", "1", "--context", "32", "--precision", "w4a16,bf16",
                *SMALL_ARGS])
    assert res.exit_code == 0, res.output
    assert "Assumed: w4a16: 0.5 byte per weight" in " ".join(res.output.split())
    assert "Assumed: bf16" not in res.output
    res = _run(["llm", "memory", "hf:llama", "--batch", "1", "--context", "32", "--precision", "w8a16", "--json",
                *SMALL_ARGS])
    assert "1 byte per weight" in json.loads(res.output)[0]["assumptions"][0]
    rows = llm.serve("hf:llama", ["h100"], batches=(1,), prompt_len=8, output_len=4, scheme="w4a16", params=SMALL)
    assert rows[0]["assumptions"] == note


def test_a_group_suffix_counts_the_quantisation_scales():
    """w4a16-g32: 0.5 byte per weight + a 16-bit scale and zero per 32 weights = 0.625 byte (hand-computed); the
    CLI takes the suffix, and rejects it on a scheme without groups or with a bad size in one line."""
    arch = llm.architecture("hf:llama", SMALL)
    g32 = llm.memory(arch, batch=1, context=16, scheme="w4a16-g32", activation_bytes=0.0)
    assert g32.weights_bytes == pytest.approx(TOTAL_PARAMS * 0.625)
    w8 = llm.memory(arch, batch=1, context=16, scheme="w8a16-g128", activation_bytes=0.0)
    assert w8.weights_bytes == pytest.approx(TOTAL_PARAMS * (1 + 4 / 128))
    note = llm.scheme_assumptions("w4a16-g32")
    assert len(note) == 1 and "per group of 32 weights (0.625 bytes per weight)" in note[0]
    assert "name the group" in llm.scheme_assumptions("w4a16")[0]
    for bad in ("bf16-g32", "w4a16-g0", "w4a16-gx", "w4a16-g"):
        with pytest.raises(ValueError, match="group suffix"):
            llm.check_scheme(bad)
    res = _run(["llm", "serve", "hf:llama", "--hardware", "h100", "--batch", "1", "--prompt", "8",
                "--output", "4", "--precision", "W4A16-G32", *SMALL_ARGS])
    assert res.exit_code == 0, res.output
    assert "w4a16-g32" in res.output and "0.625 bytes per weight" in " ".join(res.output.split())
    res = _run(["llm", "serve", "hf:llama", "--hardware", "h100", "--precision", "bf16-g32", *SMALL_ARGS])
    assert res.exit_code == 2 and "group suffix" in res.output and "Traceback" not in res.output


def test_cli_json_decode_summary():
    res = _run(["analyze", "hf:llama", "--phase", "decode", "--context", "40", "--batch", "3", "--json", *SMALL_ARGS])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["phase"] == "decode" and s["context"] == 40 and s["batch"] == 3


# Commands shown in README.md, section "LLMs" (hf:gpt2 keeps them fast).
@pytest.mark.parametrize("line", [
    "perfgraph analyze hf:gpt2 --phase decode --context 1000 --batch 8",
    "perfgraph llm memory hf:gpt2 --batch 8 --context 1024 --hardware h100,l4",
    "perfgraph llm memory hf:gpt2 --batch 8 --context 1024 --precision w4a16,w4a16-g32",
    "perfgraph llm serve hf:gpt2 --hardware h100,l4 --batch 1,8,32 --prompt 256 --output 128 --runtime graph",
    "perfgraph llm serve hf:gpt2 --hardware h100 --batch 1,64 --prompt 64 --output 64 --runtime graph --engine vllm-v0",
    "perfgraph llm train hf:gpt2 --hardware h100 --batch 8 --seq-len 1024 --measured-step-time 0.2",
])
def test_readme_llm_commands(line):
    res = _run(line.split()[1:])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("args, message", [
    (["llm", "serve", "resnet18", "--hardware", "h100"], "hf: decoder"),
    (["llm", "serve", "hf:bert-base", "--hardware", "h100"], "not an hf: decoder"),
    (["analyze", "hf:gpt2", "--phase", "decode", "--hardware", "h100"], "llm serve"),
    (["llm", "train", "hf:gpt2", "--hardware", "h100", "--measured-step-time", "-1"], "positive"),
])
def test_bad_input_is_one_line(args, message):
    res = _run(args)
    assert res.exit_code != 0
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], res.output
    assert "Traceback" not in res.output
