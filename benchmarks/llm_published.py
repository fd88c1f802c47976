"""Published LLM serving measurements for bench_llm_published.py: the rows as data, never fitted to.

Every value is copied from the cited page or file (the URL pins a commit where the source is a repository);
nothing in perfgraph was set or tuned from these rows.  Each row carries:

* ``id``: short unique name; ``source``: URL and title; ``framework`` and ``runtime`` (the perfgraph runtime
  the row is predicted under: ``graph`` for engines that replay the decode step as a CUDA graph or launch
  kernels from C++ -- TensorRT-LLM, TurboMind, vLLM with CUDA graphs, torch.compile ``reduce-overhead``);
* ``arch`` (the published model), ``model`` + ``params`` (the perfgraph model that has its numbers),
  ``chip`` (a perfgraph chip id), ``tp`` (tensor-parallel chips), ``precision`` (as published) and
  ``scheme`` (the perfgraph scheme that stores and computes like it);
* ``batch`` (sequences decoded together), ``prompt_len``, ``output_len`` (tokens generated per sequence);
* ``metric``, ``value``, ``phase`` and ``conversion`` (how the published figure relates to the metric);
* ``conditions``: everything else the source states about the run.

Metrics (what the bench computes from a prediction's TTFT and TPOT, the same way for every tool):

* ``tpot_ms``  -- one decode step (published: per-token / inter-token latency);
* ``ttft_ms``  -- the prefill of ``batch`` prompts (published: first-token latency);
* ``tok_s_seq`` -- ``output_len / (TTFT + (output_len - 1) x TPOT)``: generated tokens over the whole
  generation, prefill included, at batch 1 (gpt-fast's ``tokens/sec``);
* ``e2e_ms`` -- ``TTFT + (output_len - 1) x TPOT``: end-to-end latency of one batch (vLLM's latency test);
* ``out_tok_s_gpu`` -- ``batch x output_len / (TTFT + (output_len - 1) x TPOT) / tp``: static-batch
  output tokens/s per GPU (TensorRT-LLM's ``gptSessionBenchmark``).

Precision mapping: FP16/BF16 -> ``bf16``; FP8 (weights, activations and KV cache, H100/H200) -> ``int8``
(same dense tensor-core peak and 1 byte per element on Hopper); int8 / int4 weight-only -> ``w8a16`` /
``w4a16`` (group-wise scales not counted), or ``w4a16-g<N>`` where the source states the group size N (a 16-bit
scale and zero point per group counted; the suffix was added to the int4 rows on 2026-12-04, after all three sets
had been scored once without it).
"""

from __future__ import annotations

# ---- sources ------------------------------------------------------------------------------------------------
TRT_PERF = ("https://github.com/NVIDIA/TensorRT-LLM/blob/138f96d45f90b9667426f7c47297d8c06bafac73/"
            "docs/source/performance.md",
            "TensorRT-LLM docs, 'Performance of TensorRT-LLM' (Low Latency tables: TensorRT-LLM v0.5; Peak "
            "Throughput tables: v0.6.1)")
TRT_H200 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/1555478c1b417a0b34de05209862ea5a2ab9add1/"
            "docs/source/blogs/H200launch.md",
            "TensorRT-LLM blog, 'H200 achieves nearly 12,000 tokens/sec on Llama2-13B with TensorRT-LLM' "
            "(TensorRT-LLM v0.5.0, TensorRT 9.1.0.4)")
LMDEPLOY = ("https://github.com/InternLM/lmdeploy/blob/3e391df4673326f79363eebe030876861a9b7090/"
            "docs/en/benchmark/a100_fp16.md",
            "LMDeploy docs, 'Benchmark on A100 (FP16)', static inference benchmark (lmdeploy v0.1.0a1)")
GPT_FAST = ("https://github.com/pytorch-labs/gpt-fast/blob/0f925b5d4ce457b89a7ca6c9ce50f42bf2576945/README.md",
            "gpt-fast README, 'Benchmarks' (PyTorch-native generation, torch.compile)")
GPT_FAST_MOE = ("https://github.com/pytorch-labs/gpt-fast/blob/056f8fb439caa74224b37103c1d2535583069607/"
                "mixtral-moe/README.md", "gpt-fast mixtral-moe README, 'Benchmarks'")
VLLM_A100 = ("https://buildkite.com/vllm/performance-benchmark/builds/9523",
             "vLLM performance benchmark (Buildkite build 9523), 'Latency tests', A100-SXM4-80GB")
VLLM_H200 = ("https://buildkite.com/vllm/performance-benchmark/builds/9513",
             "vLLM performance benchmark (Buildkite build 9513), 'Latency tests', H200")
NIM = ("https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance",
       "NVIDIA NIM LLMs Benchmarking, 'Performance' (Llama-3.3-70b-instruct, NIM 1.8.0)")

# Llama-3-70B and Llama-3.3-70B = Llama-2-70B shapes with the 128,256-token vocabulary (config.json); the
# position limit (8,192 / 131,072) only lets a trace be as long as the model allows, it costs nothing.
LLAMA3_70B = {"vocab_size": "128256", "max_position_embeddings": "8192"}
LLAMA33_70B = {"vocab_size": "128256", "max_position_embeddings": "131072"}

_TRT_TTFT = ("gptSessionBenchmark, batch 1, one output token ('benchmark with a single output token in order to "
             "find the time to first token latency'); engine built with the GPT attention plugin and context FMHA")
_TRT_FP8 = "FP8 engine (--enable_fp8 --fp8_kv_cache), H100 SXM 80GB"
_TRT_FP16 = "FP16 engine (the FP8 flags removed, as the page says for A100), A100 SXM 80GB"
_LMD = ("TurboMind engine, profile_generation.py: `batch` request threads batched by the engine, fixed prompt and "
        "completion lengths, 10 test rounds averaged; x8 A100-80G, CUDA 11.8, fp16 weights and KV cache")
_LMD_TPOT = "published P50 of each token's latency (s, rounded to 1 ms), here in ms"
_GPT_FAST = ("generate.py --compile (decode step compiled with mode='reduce-overhead', i.e. CUDA graphs; prefill "
             "eager), 5-token prompt ('Hello, my name is'), 200 new tokens (CLI default), batch 1; "
             "8x A100-80GB power-limited to 330 W, hybrid cube mesh; TP runs with ENABLE_INTRA_NODE_COMM=1")
_GPT_FAST_CONV = ("published tokens/sec = generated tokens / wall time of generate(), prefill included "
                  "(generate.py) -- compared as is")
_VLLM = ("benchmarks/benchmark_latency.py via the nightly latency tests (latency-tests.json: dummy weights, 5 "
         "warm-up + 15 timed iterations), input 32 tokens, output 128 tokens, fixed batch 8, model default "
         "dtype (bf16), CUDA graphs on (vLLM default)")
_VLLM_CONV = "published mean end-to-end latency of one llm.generate() of the batch -- compared as is"
_NIM = ("NIM 1.8.0 container (TensorRT-LLM engine), 2 x H100 80G, fp8 TP2, AIPerf client at concurrency 1 "
        "(one request in flight)")


def _row(**kw):
    kw.setdefault("params", {})
    kw.setdefault("tp", 1)
    kw.setdefault("runtime", "graph")
    return kw


ROWS: list[dict] = [
    # ---------------------------------------------------- TensorRT-LLM v0.5, first-token latency at batch 1
    _row(id="trt05-a100-l2-7b-ttft-128", source=TRT_PERF, framework="TensorRT-LLM v0.5", arch="Llama-2-7B",
         model="hf:llama-7b", chip="a100-sxm-80gb", precision="FP16", scheme="bf16", batch=1, prompt_len=128,
         output_len=1, metric="ttft_ms", value=16.0, phase="prefill",
         conversion="published '1st Token Latency (ms)' as is", conditions=f"{_TRT_TTFT}; {_TRT_FP16}"),
    _row(id="trt05-a100-l2-7b-ttft-2048", source=TRT_PERF, framework="TensorRT-LLM v0.5", arch="Llama-2-7B",
         model="hf:llama-7b", chip="a100-sxm-80gb", precision="FP16", scheme="bf16", batch=1, prompt_len=2048,
         output_len=1, metric="ttft_ms", value=133.0, phase="prefill",
         conversion="published '1st Token Latency (ms)' as is", conditions=f"{_TRT_TTFT}; {_TRT_FP16}"),
    _row(id="trt05-a100-l2-70b-tp4-ttft-128", source=TRT_PERF, framework="TensorRT-LLM v0.5", arch="Llama-2-70B",
         model="hf:llama-70b", chip="a100-sxm-80gb", tp=4, precision="FP16", scheme="bf16", batch=1,
         prompt_len=128, output_len=1, metric="ttft_ms", value=47.0, phase="prefill",
         conversion="published '1st Token Latency (ms)' as is", conditions=f"{_TRT_TTFT}; {_TRT_FP16}; TP 4"),
    _row(id="trt05-a100-l2-70b-tp4-ttft-2048", source=TRT_PERF, framework="TensorRT-LLM v0.5", arch="Llama-2-70B",
         model="hf:llama-70b", chip="a100-sxm-80gb", tp=4, precision="FP16", scheme="bf16", batch=1,
         prompt_len=2048, output_len=1, metric="ttft_ms", value=377.0, phase="prefill",
         conversion="published '1st Token Latency (ms)' as is", conditions=f"{_TRT_TTFT}; {_TRT_FP16}; TP 4"),
    _row(id="trt05-h100-l2-7b-fp8-ttft-128", source=TRT_PERF, framework="TensorRT-LLM v0.5", arch="Llama-2-7B",
         model="hf:llama-7b", chip="h100-sxm", precision="FP8", scheme="int8", batch=1, prompt_len=128,
         output_len=1, metric="ttft_ms", value=7.0, phase="prefill",
         conversion="published '1st Token Latency (ms)' as is", conditions=f"{_TRT_TTFT}; {_TRT_FP8}"),
    _row(id="trt05-h100-l2-7b-fp8-ttft-2048", source=TRT_PERF, framework="TensorRT-LLM v0.5", arch="Llama-2-7B",
         model="hf:llama-7b", chip="h100-sxm", precision="FP8", scheme="int8", batch=1, prompt_len=2048,
         output_len=1, metric="ttft_ms", value=36.0, phase="prefill",
         conversion="published '1st Token Latency (ms)' as is", conditions=f"{_TRT_TTFT}; {_TRT_FP8}"),
    _row(id="trt05-h100-l2-70b-tp4-fp8-ttft-128", source=TRT_PERF, framework="TensorRT-LLM v0.5",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h100-sxm", tp=4, precision="FP8", scheme="int8", batch=1,
         prompt_len=128, output_len=1, metric="ttft_ms", value=26.0, phase="prefill",
         conversion="published '1st Token Latency (ms)' as is", conditions=f"{_TRT_TTFT}; {_TRT_FP8}; TP 4"),
    _row(id="trt05-h100-l2-70b-tp4-fp8-ttft-2048", source=TRT_PERF, framework="TensorRT-LLM v0.5",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h100-sxm", tp=4, precision="FP8", scheme="int8", batch=1,
         prompt_len=2048, output_len=1, metric="ttft_ms", value=109.0, phase="prefill",
         conversion="published '1st Token Latency (ms)' as is", conditions=f"{_TRT_TTFT}; {_TRT_FP8}; TP 4"),
    # ---------------------------------------------------- TensorRT-LLM static-batch throughput (prefill-heavy)
    _row(id="trt061-a100-l2-7b-b52-2048-128", source=TRT_PERF, framework="TensorRT-LLM v0.6.1",
         arch="Llama-2-7B", model="hf:llama-7b", chip="a100-sxm-80gb", precision="FP16", scheme="bf16", batch=52,
         prompt_len=2048, output_len=128, metric="out_tok_s_gpu", value=591.0, phase="mixed",
         conversion="published 'Throughput (out tok/s)' at TP 1 as is (batch x output tokens / session time)",
         conditions="gptSessionBenchmark (static batching: the whole batch's context phase, then 127 generation "
                    "steps), A100 SXM 80GB, FP16, TP 1, batch 52 (the page's peak-throughput batch)"),
    _row(id="trt05-h200-l2-70b-fp8-b32-2048-128", source=TRT_H200, framework="TensorRT-LLM v0.5",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h200-sxm", precision="FP8", scheme="int8", batch=32,
         prompt_len=2048, output_len=128, metric="out_tok_s_gpu", value=303.0, phase="mixed",
         conversion="published 'Throughput (out tok/s/GPU)' at TP 1 as is",
         conditions="H200 FP8 max-throughput table, TP 1, batch 32, ISL/OSL 2048/128; static batching "
                    "(gptSessionBenchmark, TensorRT-LLM v0.5.0, TensorRT v9.1.0.4); 'preliminary measured "
                    "performance'"),
    # ---------------------------------------------------- LMDeploy TurboMind on A100 80GB, fp16
    _row(id="lmd-a100-l2-7b-b1-tpot", source=LMDEPLOY, framework="LMDeploy TurboMind v0.1.0a1", arch="Llama-2-7B",
         model="hf:llama-7b", chip="a100-sxm-80gb", precision="FP16", scheme="bf16", batch=1, prompt_len=128,
         output_len=2048, metric="tpot_ms", value=10.0, phase="decode", conversion=_LMD_TPOT, conditions=_LMD),
    _row(id="lmd-a100-l2-7b-b16-tpot", source=LMDEPLOY, framework="LMDeploy TurboMind v0.1.0a1",
         arch="Llama-2-7B", model="hf:llama-7b", chip="a100-sxm-80gb", precision="FP16", scheme="bf16", batch=16,
         prompt_len=128, output_len=2048, metric="tpot_ms", value=15.0, phase="decode", conversion=_LMD_TPOT,
         conditions=_LMD),
    _row(id="lmd-a100-l2-7b-b32-tpot", source=LMDEPLOY, framework="LMDeploy TurboMind v0.1.0a1",
         arch="Llama-2-7B", model="hf:llama-7b", chip="a100-sxm-80gb", precision="FP16", scheme="bf16", batch=32,
         prompt_len=128, output_len=2048, metric="tpot_ms", value=21.0, phase="decode", conversion=_LMD_TPOT,
         conditions=_LMD),
    _row(id="lmd-a100-l2-70b-tp4-b1-tpot", source=LMDEPLOY, framework="LMDeploy TurboMind v0.1.0a1",
         arch="Llama-2-70B", model="hf:llama-70b", chip="a100-sxm-80gb", tp=4, precision="FP16", scheme="bf16",
         batch=1, prompt_len=128, output_len=2048, metric="tpot_ms", value=31.0, phase="decode",
         conversion=_LMD_TPOT, conditions=f"{_LMD}; TP 4"),
    _row(id="lmd-a100-l2-70b-tp4-b16-tpot", source=LMDEPLOY, framework="LMDeploy TurboMind v0.1.0a1",
         arch="Llama-2-70B", model="hf:llama-70b", chip="a100-sxm-80gb", tp=4, precision="FP16", scheme="bf16",
         batch=16, prompt_len=128, output_len=2048, metric="tpot_ms", value=33.0, phase="decode",
         conversion=_LMD_TPOT, conditions=f"{_LMD}; TP 4"),
    _row(id="lmd-a100-l2-70b-tp4-b64-tpot", source=LMDEPLOY, framework="LMDeploy TurboMind v0.1.0a1",
         arch="Llama-2-70B", model="hf:llama-70b", chip="a100-sxm-80gb", tp=4, precision="FP16", scheme="bf16",
         batch=64, prompt_len=128, output_len=2048, metric="tpot_ms", value=43.0, phase="decode",
         conversion=_LMD_TPOT, conditions=f"{_LMD}; TP 4"),
    _row(id="lmd-a100-l2-7b-b1-ttft-2048", source=LMDEPLOY, framework="LMDeploy TurboMind v0.1.0a1",
         arch="Llama-2-7B", model="hf:llama-7b", chip="a100-sxm-80gb", precision="FP16", scheme="bf16", batch=1,
         prompt_len=2048, output_len=128, metric="ttft_ms", value=139.0, phase="prefill",
         conversion="published FTL(ave) (s, streaming first-token latency), here in ms", conditions=_LMD),
    _row(id="lmd-a100-l2-70b-tp4-b1-ttft-2048", source=LMDEPLOY, framework="LMDeploy TurboMind v0.1.0a1",
         arch="Llama-2-70B", model="hf:llama-70b", chip="a100-sxm-80gb", tp=4, precision="FP16", scheme="bf16",
         batch=1, prompt_len=2048, output_len=128, metric="ttft_ms", value=402.0, phase="prefill",
         conversion="published FTL(ave) (s, streaming first-token latency), here in ms",
         conditions=f"{_LMD}; TP 4"),
    # ---------------------------------------------------- gpt-fast, batch 1 on A100 80GB (330 W cap)
    _row(id="gptfast-a100-l2-7b-bf16", source=GPT_FAST, framework="gpt-fast (torch.compile)", arch="Llama-2-7B",
         model="hf:llama-7b", chip="a100-sxm-80gb", precision="BF16", scheme="bf16", batch=1, prompt_len=5,
         output_len=200, metric="tok_s_seq", value=104.9, phase="decode", conversion=_GPT_FAST_CONV,
         conditions=_GPT_FAST),
    _row(id="gptfast-a100-l2-7b-int8wo", source=GPT_FAST, framework="gpt-fast (torch.compile)", arch="Llama-2-7B",
         model="hf:llama-7b", chip="a100-sxm-80gb", precision="int8 weight-only", scheme="w8a16", batch=1,
         prompt_len=5, output_len=200, metric="tok_s_seq", value=155.58, phase="decode",
         conversion=_GPT_FAST_CONV, conditions=f"{_GPT_FAST}; quantize.py --mode int8 (per-channel scales)"),
    _row(id="gptfast-a100-l2-7b-int4wo", source=GPT_FAST, framework="gpt-fast (torch.compile)", arch="Llama-2-7B",
         model="hf:llama-7b", chip="a100-sxm-80gb", precision="int4 weight-only (group 32)",
         scheme="w4a16-g32",
         batch=1, prompt_len=5, output_len=200, metric="tok_s_seq", value=196.80, phase="decode",
         conversion=_GPT_FAST_CONV, conditions=f"{_GPT_FAST}; quantize.py --mode int4 --groupsize 32"),
    _row(id="gptfast-a100-l2-70b-tp2", source=GPT_FAST, framework="gpt-fast (torch.compile)", arch="Llama-2-70B",
         model="hf:llama-70b", chip="a100-sxm-80gb", tp=2, precision="BF16", scheme="bf16", batch=1, prompt_len=5,
         output_len=200, metric="tok_s_seq", value=21.32, phase="decode", conversion=_GPT_FAST_CONV,
         conditions=f"{_GPT_FAST}; tensor parallel over 2 GPUs"),
    _row(id="gptfast-a100-l2-70b-tp8", source=GPT_FAST, framework="gpt-fast (torch.compile)", arch="Llama-2-70B",
         model="hf:llama-70b", chip="a100-sxm-80gb", tp=8, precision="BF16", scheme="bf16", batch=1, prompt_len=5,
         output_len=200, metric="tok_s_seq", value=62.50, phase="decode", conversion=_GPT_FAST_CONV,
         conditions=f"{_GPT_FAST}; tensor parallel over 8 GPUs"),
    _row(id="gptfast-a100-mixtral-int8wo", source=GPT_FAST_MOE, framework="gpt-fast (torch.compile)",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="a100-sxm-80gb", precision="int8 weight-only",
         scheme="w8a16", batch=1, prompt_len=5, output_len=200, metric="tok_s_seq", value=56.04, phase="decode",
         conversion=_GPT_FAST_CONV, conditions=f"{_GPT_FAST}; Mixtral-8x7B-v0.1, 1 GPU"),
    _row(id="gptfast-a100-mixtral-tp2", source=GPT_FAST_MOE, framework="gpt-fast (torch.compile)",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="a100-sxm-80gb", tp=2, precision="BF16",
         scheme="bf16", batch=1, prompt_len=5, output_len=200, metric="tok_s_seq", value=78.75, phase="decode",
         conversion=_GPT_FAST_CONV, conditions=f"{_GPT_FAST}; Mixtral-8x7B-v0.1, tensor parallel over 2 GPUs"),
    # ---------------------------------------------------- vLLM nightly latency tests (batch 8, 32 in, 128 out)
    _row(id="vllm-a100-l3-8b-b8", source=VLLM_A100, framework="vLLM (nightly benchmark)", arch="Llama-3-8B",
         model="hf:llama3-8b", chip="a100-sxm-80gb", precision="BF16", scheme="bf16", batch=8, prompt_len=32,
         output_len=128, metric="e2e_ms", value=1579.27, phase="decode", conversion=_VLLM_CONV,
         conditions=f"{_VLLM}; latency_llama8B_tp1"),
    _row(id="vllm-a100-l3-70b-tp4-b8", source=VLLM_A100, framework="vLLM (nightly benchmark)", arch="Llama-3-70B",
         model="hf:llama-70b", params=LLAMA3_70B, chip="a100-sxm-80gb", tp=4, precision="BF16", scheme="bf16",
         batch=8, prompt_len=32, output_len=128, metric="e2e_ms", value=3990.59, phase="decode",
         conversion=_VLLM_CONV, conditions=f"{_VLLM}; latency_llama70B_tp4 (Meta-Llama-3-70B-Instruct)"),
    _row(id="vllm-a100-mixtral-tp2-b8", source=VLLM_A100, framework="vLLM (nightly benchmark)",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="a100-sxm-80gb", tp=2, precision="BF16", scheme="bf16",
         batch=8, prompt_len=32, output_len=128, metric="e2e_ms", value=3643.84, phase="decode",
         conversion=_VLLM_CONV, conditions=f"{_VLLM}; latency_mixtral8x7B_tp2 (Mixtral-8x7B-Instruct-v0.1)"),
    _row(id="vllm-h200-l3-8b-b8", source=VLLM_H200, framework="vLLM (nightly benchmark)", arch="Llama-3-8B",
         model="hf:llama3-8b", chip="h200-sxm", precision="BF16", scheme="bf16", batch=8, prompt_len=32,
         output_len=128, metric="e2e_ms", value=834.059, phase="decode", conversion=_VLLM_CONV,
         conditions=f"{_VLLM}; latency_llama8B_tp1"),
    _row(id="vllm-h200-l3-70b-tp4-b8", source=VLLM_H200, framework="vLLM (nightly benchmark)", arch="Llama-3-70B",
         model="hf:llama-70b", params=LLAMA3_70B, chip="h200-sxm", tp=4, precision="BF16", scheme="bf16",
         batch=8, prompt_len=32, output_len=128, metric="e2e_ms", value=2075.08, phase="decode",
         conversion=_VLLM_CONV, conditions=f"{_VLLM}; latency_llama70B_tp4 (Meta-Llama-3-70B-Instruct)"),
    _row(id="vllm-h200-mixtral-tp2-b8", source=VLLM_H200, framework="vLLM (nightly benchmark)",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="h200-sxm", tp=2, precision="BF16", scheme="bf16",
         batch=8, prompt_len=32, output_len=128, metric="e2e_ms", value=1921.1, phase="decode",
         conversion=_VLLM_CONV, conditions=f"{_VLLM}; latency_mixtral8x7B_tp2 (Mixtral-8x7B-Instruct-v0.1)"),
    # ---------------------------------------------------- NVIDIA NIM, Llama-3.3-70B on 2 x H100, fp8
    _row(id="nim-h100-l33-70b-tp2-fp8-itl", source=NIM, framework="NVIDIA NIM 1.8.0", arch="Llama-3-70B",
         model="hf:llama-70b", params=LLAMA33_70B, chip="h100-sxm", tp=2, precision="FP8", scheme="int8", batch=1,
         prompt_len=500, output_len=2000, metric="tpot_ms", value=18.91, phase="decode",
         conversion="published ITL (ms, mean inter-token latency after the first token) as is",
         conditions=f"{_NIM}; 500 input / 2000 output tokens; Llama-3.3-70B-Instruct (Llama-3-70B shapes); "
                    "H100 form factor not stated on the page (taken as SXM); KV-cache precision not stated"),
    _row(id="nim-h100-l33-70b-tp2-fp8-ttft-5000", source=NIM, framework="NVIDIA NIM 1.8.0", arch="Llama-3-70B",
         model="hf:llama-70b", params=LLAMA33_70B, chip="h100-sxm", tp=2, precision="FP8", scheme="int8", batch=1,
         prompt_len=5000, output_len=500, metric="ttft_ms", value=406.77, phase="prefill",
         conversion="published TTFT (ms, client side: includes the HTTP round trip) as is",
         conditions=f"{_NIM}; 5000 input / 500 output tokens; Llama-3.3-70B-Instruct (Llama-3-70B shapes); "
                    "H100 form factor not stated on the page (taken as SXM)"),
]

METRICS = ("tpot_ms", "ttft_ms", "tok_s_seq", "e2e_ms", "out_tok_s_gpu")
PHASES = ("decode", "prefill", "mixed")
