"""Hold-out set of published LLM serving measurements: rows collected blind, never fitted to, never looked at
against perfgraph.

These rows were collected on 2026-12-04, before any prediction (perfgraph's or a peer's) was made on any of
them; none of them was used to set or tune anything in perfgraph.  No (source, row) pair repeats one of
``llm_published.ROWS`` (those were seen while developing the model): the sources here are other versions of
the TensorRT-LLM performance page (v0.8.0 and v0.9.0, where the dev set used v0.5 / v0.6.1) and torchao's
LLaMA benchmarks (not used by the dev set).

Every value is copied verbatim from the cited file (the URL pins a commit).  Each row carries the same keys, with
the same meaning, as ``llm_published.ROWS`` (see that module's docstring):

* ``id``: short unique name (no clash with ``llm_published.ROWS``); ``source``: URL and title; ``framework`` and
  ``runtime`` (the perfgraph runtime the row is predicted under: ``graph`` for engines that replay the decode step
  as a CUDA graph or launch kernels from C++ -- TensorRT-LLM, TurboMind, vLLM with CUDA graphs, torch.compile
  ``reduce-overhead``; ``eager`` for plain PyTorch eager);
* ``arch`` (the published model), ``model`` + ``params`` (the perfgraph model that has its numbers),
  ``chip`` (a perfgraph chip id), ``tp`` (tensor-parallel chips), ``precision`` (as published) and
  ``scheme`` (the perfgraph scheme that stores and computes like it);
* ``batch`` (sequences decoded together), ``prompt_len``, ``output_len`` (tokens generated per sequence);
* ``metric``, ``value``, ``phase`` and ``conversion`` (how the published figure relates to the metric);
* ``conditions``: everything else the source states about the run (and what it leaves unstated).

Metrics (as in ``llm_published``; the bench computes them from a prediction's TTFT and TPOT):

* ``tpot_ms``  -- one decode step;
* ``ttft_ms``  -- the prefill of ``batch`` prompts (published: first-token latency);
* ``tok_s_seq`` -- ``output_len / (TTFT + (output_len - 1) x TPOT)`` at batch 1 (gpt-fast / torchao
  ``tokens/sec``: generated tokens over the wall time of ``generate()``, prefill included);
* ``e2e_ms`` -- ``TTFT + (output_len - 1) x TPOT``;
* ``out_tok_s_gpu`` -- ``batch x output_len / (TTFT + (output_len - 1) x TPOT) / tp`` (TensorRT-LLM's static-batch
  ``gptSessionBenchmark`` 'Throughput (out tok/s/GPU)').

Precision mapping (as in ``llm_published``): FP16/BF16 -> ``bf16``; FP8 (weights and activations, H100/H200) ->
``int8`` (same dense tensor-core peak and 1 byte per element on Hopper); int8 / int4 weight-only -> ``w8a16`` /
``w4a16`` (group-wise scales not counted), or ``w4a16-g<N>`` where the source states the group size N (a 16-bit
scale and zero point per group counted; the suffix was added to the int4 rows on 2026-12-04, after all three sets
had been scored once without it).

Two further rows (torchao's benchmark_results.txt, runs without --compile on a device named only "cuda")
were dropped before any prediction was made: the source does not name the GPU.

Chips: A100 SXM 80GB, H100 SXM, H200 SXM only (no row on A100 40GB, PCIe H100 or L4 -- no published L4 figure
with a fixed batch and stated lengths was found in the sources searched).
"""

from __future__ import annotations

from llm_published import METRICS, PHASES, _row  # noqa: F401  (one row helper and vocabulary for both sets)

# ---- sources ------------------------------------------------------------------------------------------------
TRT09 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/250d9c293d5edbc2a45c20775b3150b1eb68b364/"
         "docs/source/performance.md",
         "TensorRT-LLM docs, 'Performance of TensorRT-LLM' ('All data was generated using version 0.9.0': "
         "Peak Throughput and Low Latency tables)")
TRT08 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/5955b8afbad2ddcc3156202b16c567e94c52248f/"
         "docs/source/performance.md",
         "TensorRT-LLM docs, 'Performance of TensorRT-LLM' ('All data was generated using version 0.8.0': "
         "Low Latency tables)")
TORCHAO = ("https://github.com/pytorch/ao/blob/fd6e4b1f36d644de9b56be69ffe0f1a24b6ea111/"
           "torchao/quantization/README.md",
           "torchao 'Quantization' README, 'Benchmarks' (CUDA backend | NVIDIA-A100-80GB GPU; CUDA backend | "
           "NVIDIA-H100 GPU), gathered with torchao/_models/llama/generate.py")

_TRT_TTFT = ("gptSessionBenchmark (static batching), batch 1, one output token (the page: 'benchmark with a single "
             "output token in order to find the time to first token latency'); trtllm-build engines with the GPT "
             "attention plugin and context FMHA (the page's commands; its example loops show a batch-64 sweep, the "
             "table states batch size 1)")
_TRT_THR = ("gptSessionBenchmark (static batching: the whole batch's context phase, then output_len - 1 generation "
            "steps; --warm_up 1 --num_runs 5), at the page's peak-throughput batch size for that ISL/OSL")
_H200_FP8 = "H200 (page: 'H200 GPUs (FP8)'; form factor not stated, taken as SXM 141GB), FP8"
_H100_FP8 = "H100 (page: 'H100 GPUs (FP8)'; commands documented 'on an H100-HBM3-80GB system', i.e. SXM), FP8"
_A100_FP16 = ("A100 (page: 'A100 GPUs (FP16)', FP8 quantization fields removed as the page says for A100; form "
              "factor/memory not stated on this page version, taken as SXM 80GB like the earlier TensorRT-LLM pages)")
_LLAMA_FP8 = ("engine config per the page: quant_algo FP8 and kv_cache_quant_algo FP8 (FP8 weights, activations "
              "and KV cache), paged KV cache disabled")
_MIS_NOTE = "the page gives no build command for this model (precision from the table heading only)"
_TRT_TTFT_CONV = "published '1st Token Latency (ms)' as is"
_TRT_THR_CONV = ("published 'Throughput (out tok/s/GPU)' as is (gptSessionBenchmark: batch x output tokens / "
                 "session time, divided by the TP GPUs)")

_TAO = ("torchao/_models/llama/generate.py, batch 1, default prompt 'Hello, my name is' encoded with BOS "
        "(6 tokens with both the Llama-2 and the Llama-3 tokenizer), --max_new_tokens 200, --num_samples 5 averaged "
        "after a compile/warm-up sample, top_k 200, temperature 0.8, bf16 model; KV cache sized prompt + 200")
_TAO_COMPILED = ("--compile: decode_one_token compiled with torch.compile(mode='reduce-overhead', fullgraph=True), "
                 "i.e. CUDA graphs; prefill eager (no --compile_prefill)")
_TAO_CONV = ("published Tokens/Second = generated tokens (200) / wall time of generate(), prefill included "
             "(generate.py: tokens_generated / t) -- compared as is")
_TAO_A100 = "README table 'CUDA backend | NVIDIA-A100-80GB GPU' (form factor and power limit not stated; taken as SXM)"
_TAO_H100 = ("README table 'CUDA backend | NVIDIA-H100 GPU' (form factor not stated; taken as SXM -- the bf16 "
             "row's 1904.75 GB/s achieved weight bandwidth would be ~95% of a PCIe H100's 2.0 TB/s peak)")


HOLDOUT_ROWS: list[dict] = [
    # ---------------------------------------------------- TensorRT-LLM v0.9.0, first-token latency at batch 1
    _row(id="trt09-h200-l2-7b-fp8-ttft-128", source=TRT09, framework="TensorRT-LLM v0.9.0", arch="Llama-2-7B",
         model="hf:llama-7b", chip="h200-sxm", precision="FP8", scheme="int8", batch=1, prompt_len=128,
         output_len=1, metric="ttft_ms", value=5.7, phase="prefill", conversion=_TRT_TTFT_CONV,
         conditions=f"{_TRT_TTFT}; {_H200_FP8}; {_LLAMA_FP8}; LLaMA 7B = the page's Llama2-7b config, TP 1"),
    _row(id="trt09-h200-l2-7b-fp8-ttft-2048", source=TRT09, framework="TensorRT-LLM v0.9.0", arch="Llama-2-7B",
         model="hf:llama-7b", chip="h200-sxm", precision="FP8", scheme="int8", batch=1, prompt_len=2048,
         output_len=1, metric="ttft_ms", value=30.2, phase="prefill", conversion=_TRT_TTFT_CONV,
         conditions=f"{_TRT_TTFT}; {_H200_FP8}; {_LLAMA_FP8}; LLaMA 7B = the page's Llama2-7b config, TP 1"),
    _row(id="trt09-h200-l2-70b-tp4-fp8-ttft-2048", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h200-sxm", tp=4, precision="FP8", scheme="int8", batch=1,
         prompt_len=2048, output_len=1, metric="ttft_ms", value=103.0, phase="prefill", conversion=_TRT_TTFT_CONV,
         conditions=f"{_TRT_TTFT}; {_H200_FP8}; {_LLAMA_FP8}; LLaMA 70B = the page's Llama2-70b config "
                    "(GQA 8 KV heads, vocab 32000), TP 4, TRTLLM_ENABLE_XQA=1 in the page's 70B commands"),
    _row(id="trt09-h200-mixtral-tp2-fp8-ttft-2048", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="h200-sxm", tp=2, precision="FP8", scheme="int8",
         batch=1, prompt_len=2048, output_len=1, metric="ttft_ms", value=87.7, phase="prefill",
         conversion=_TRT_TTFT_CONV, conditions=f"{_TRT_TTFT}; {_H200_FP8}; TP 2; {_MIS_NOTE}"),
    _row(id="trt09-h100-mistral-7b-fp8-ttft-2048", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Mistral-7B", model="hf:mistral-7b", chip="h100-sxm", precision="FP8", scheme="int8", batch=1,
         prompt_len=2048, output_len=1, metric="ttft_ms", value=32.4, phase="prefill", conversion=_TRT_TTFT_CONV,
         conditions=f"{_TRT_TTFT}; {_H100_FP8}; TP 1; {_MIS_NOTE}"),
    _row(id="trt09-h100-mixtral-tp2-fp8-ttft-128", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="h100-sxm", tp=2, precision="FP8", scheme="int8",
         batch=1, prompt_len=128, output_len=1, metric="ttft_ms", value=13.4, phase="prefill",
         conversion=_TRT_TTFT_CONV, conditions=f"{_TRT_TTFT}; {_H100_FP8}; TP 2; {_MIS_NOTE}"),
    _row(id="trt09-a100-mistral-7b-ttft-2048", source=TRT09, framework="TensorRT-LLM v0.9.0", arch="Mistral-7B",
         model="hf:mistral-7b", chip="a100-sxm-80gb", precision="FP16", scheme="bf16", batch=1, prompt_len=2048,
         output_len=1, metric="ttft_ms", value=139.6, phase="prefill", conversion=_TRT_TTFT_CONV,
         conditions=f"{_TRT_TTFT}; {_A100_FP16}; TP 1; {_MIS_NOTE}"),
    _row(id="trt09-a100-mixtral-tp2-ttft-2048", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="a100-sxm-80gb", tp=2, precision="FP16", scheme="bf16",
         batch=1, prompt_len=2048, output_len=1, metric="ttft_ms", value=160.9, phase="prefill",
         conversion=_TRT_TTFT_CONV, conditions=f"{_TRT_TTFT}; {_A100_FP16}; TP 2; {_MIS_NOTE}"),
    _row(id="trt09-a100-l2-70b-tp8-ttft-2048", source=TRT09, framework="TensorRT-LLM v0.9.0", arch="Llama-2-70B",
         model="hf:llama-70b", chip="a100-sxm-80gb", tp=8, precision="FP16", scheme="bf16", batch=1,
         prompt_len=2048, output_len=1, metric="ttft_ms", value=249.2, phase="prefill", conversion=_TRT_TTFT_CONV,
         conditions=f"{_TRT_TTFT}; {_A100_FP16}; LLaMA 70B = the page's Llama2-70b config, TP 8"),
    # ---------------------------------------------------- TensorRT-LLM v0.8.0, first-token latency at batch 1
    _row(id="trt08-h200-l2-70b-tp8-fp8-ttft-2048", source=TRT08, framework="TensorRT-LLM v0.8.0",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h200-sxm", tp=8, precision="FP8", scheme="int8", batch=1,
         prompt_len=2048, output_len=1, metric="ttft_ms", value=78.8, phase="prefill", conversion=_TRT_TTFT_CONV,
         conditions=f"{_TRT_TTFT}; {_H200_FP8}; {_LLAMA_FP8}; LLaMA 70B = the page's Llama2-70b config, TP 8"),
    # ---------------------------------------------------- TensorRT-LLM v0.9.0, static-batch throughput
    _row(id="trt09-h200-l2-70b-fp8-b64-2048-2048", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h200-sxm", precision="FP8", scheme="int8", batch=64,
         prompt_len=2048, output_len=2048, metric="out_tok_s_gpu", value=1458.0, phase="mixed",
         conversion=_TRT_THR_CONV,
         conditions=f"{_TRT_THR}; {_H200_FP8}; {_LLAMA_FP8}; TP 1, batch 64, ISL/OSL 2048/2048"),
    _row(id="trt09-h200-mistral-7b-fp8-b120-128-2048", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Mistral-7B", model="hf:mistral-7b", chip="h200-sxm", precision="FP8", scheme="int8", batch=120,
         prompt_len=128, output_len=2048, metric="out_tok_s_gpu", value=8950.0, phase="decode",
         conversion=_TRT_THR_CONV,
         conditions=f"{_TRT_THR}; {_H200_FP8}; TP 1, batch 120, ISL/OSL 128/2048; {_MIS_NOTE}"),
    _row(id="trt09-h100-l2-70b-tp4-fp8-b512-128-2048", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h100-sxm", tp=4, precision="FP8", scheme="int8",
         batch=512, prompt_len=128, output_len=2048, metric="out_tok_s_gpu", value=2725.0, phase="decode",
         conversion=_TRT_THR_CONV,
         conditions=f"{_TRT_THR}; {_H100_FP8}; {_LLAMA_FP8}; TP 4, batch 512, ISL/OSL 128/2048"),
    _row(id="trt09-h100-mixtral-tp2-fp8-b64-2048-128", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="h100-sxm", tp=2, precision="FP8", scheme="int8",
         batch=64, prompt_len=2048, output_len=128, metric="out_tok_s_gpu", value=588.0, phase="mixed",
         conversion=_TRT_THR_CONV,
         conditions=f"{_TRT_THR}; {_H100_FP8}; TP 2, batch 64, ISL/OSL 2048/128; {_MIS_NOTE}"),
    _row(id="trt09-a100-mistral-7b-b56-2048-2048", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Mistral-7B", model="hf:mistral-7b", chip="a100-sxm-80gb", precision="FP16", scheme="bf16", batch=56,
         prompt_len=2048, output_len=2048, metric="out_tok_s_gpu", value=1576.0, phase="mixed",
         conversion=_TRT_THR_CONV,
         conditions=f"{_TRT_THR}; {_A100_FP16}; TP 1, batch 56, ISL/OSL 2048/2048; {_MIS_NOTE}"),
    _row(id="trt09-a100-mixtral-tp2-b32-2048-2048", source=TRT09, framework="TensorRT-LLM v0.9.0",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="a100-sxm-80gb", tp=2, precision="FP16", scheme="bf16",
         batch=32, prompt_len=2048, output_len=2048, metric="out_tok_s_gpu", value=801.0, phase="mixed",
         conversion=_TRT_THR_CONV,
         conditions=f"{_TRT_THR}; {_A100_FP16}; TP 2, batch 32, ISL/OSL 2048/2048; {_MIS_NOTE}"),
    # ---------------------------------------------------- torchao generate.py, batch 1, A100 80GB
    _row(id="torchao-a100-l3-8b-bf16", source=TORCHAO, framework="torchao generate.py (torch.compile)",
         arch="Llama-3-8B", model="hf:llama3-8b", chip="a100-sxm-80gb", precision="BF16", scheme="bf16", batch=1,
         prompt_len=6, output_len=200, metric="tok_s_seq", value=95.64, phase="decode", conversion=_TAO_CONV,
         conditions=f"{_TAO}; {_TAO_COMPILED}; {_TAO_A100}; meta-llama/Meta-Llama-3-8B, 'Base (bfloat16)'"),
    _row(id="torchao-a100-l3-8b-int8wo", source=TORCHAO, framework="torchao generate.py (torch.compile)",
         arch="Llama-3-8B", model="hf:llama3-8b", chip="a100-sxm-80gb", precision="int8 weight-only",
         scheme="w8a16", batch=1, prompt_len=6, output_len=200, metric="tok_s_seq", value=153.03, phase="decode",
         conversion=_TAO_CONV,
         conditions=f"{_TAO}; {_TAO_COMPILED}; {_TAO_A100}; meta-llama/Meta-Llama-3-8B, --quantization int8wo "
                    "(int8_weight_only, per-channel scales)"),
    _row(id="torchao-a100-l3-8b-int4wo64", source=TORCHAO, framework="torchao generate.py (torch.compile)",
         arch="Llama-3-8B", model="hf:llama3-8b", chip="a100-sxm-80gb", precision="int4 weight-only (group 64)",
         scheme="w4a16-g64", batch=1, prompt_len=6, output_len=200, metric="tok_s_seq", value=180.80, phase="decode",
         conversion=_TAO_CONV,
         conditions=f"{_TAO}; {_TAO_COMPILED}; {_TAO_A100}; meta-llama/Meta-Llama-3-8B, --quantization int4wo-64 "
                    "(int4_weight_only(group_size=64), tinygemm _weight_int4pack_mm)"),
    # ---------------------------------------------------- torchao generate.py, batch 1, H100
    _row(id="torchao-h100-l31-8b-bf16", source=TORCHAO, framework="torchao generate.py (torch.compile)",
         arch="Llama-3-8B", model="hf:llama3-8b", chip="h100-sxm", precision="BF16", scheme="bf16", batch=1,
         prompt_len=6, output_len=200, metric="tok_s_seq", value=126.90, phase="decode", conversion=_TAO_CONV,
         conditions=f"{_TAO}; {_TAO_COMPILED}; {_TAO_H100}; meta-llama/Meta-Llama-3.1-8B, 'Base (bfloat16)'"),
    _row(id="torchao-h100-l31-8b-int8wo", source=TORCHAO, framework="torchao generate.py (torch.compile)",
         arch="Llama-3-8B", model="hf:llama3-8b", chip="h100-sxm", precision="int8 weight-only", scheme="w8a16",
         batch=1, prompt_len=6, output_len=200, metric="tok_s_seq", value=198.85, phase="decode",
         conversion=_TAO_CONV,
         conditions=f"{_TAO}; {_TAO_COMPILED}; {_TAO_H100}; meta-llama/Meta-Llama-3.1-8B, --quantization int8wo"),
    _row(id="torchao-h100-l31-8b-int4wo64", source=TORCHAO, framework="torchao generate.py (torch.compile)",
         arch="Llama-3-8B", model="hf:llama3-8b", chip="h100-sxm", precision="int4 weight-only (group 64)",
         scheme="w4a16-g64", batch=1, prompt_len=6, output_len=200, metric="tok_s_seq", value=241.39, phase="decode",
         conversion=_TAO_CONV,
         conditions=f"{_TAO}; {_TAO_COMPILED}; {_TAO_H100}; meta-llama/Meta-Llama-3.1-8B, --quantization int4wo-64"),
    _row(id="torchao-h100-l31-8b-fp8dq-row", source=TORCHAO, framework="torchao generate.py (torch.compile)",
         arch="Llama-3-8B", model="hf:llama3-8b", chip="h100-sxm",
         precision="FP8 weights + dynamic FP8 activations (per-row scales)", scheme="int8", batch=1, prompt_len=6,
         output_len=200, metric="tok_s_seq", value=154.63, phase="decode", conversion=_TAO_CONV,
         conditions=f"{_TAO}; {_TAO_COMPILED}; {_TAO_H100}; meta-llama/Meta-Llama-3.1-8B, 'float8dq (Per Row)' "
                    "(float8_dynamic_activation_float8_weight, PerRow); linear layers only -- KV cache stays bf16 "
                    "(negligible at 206 tokens)"),
]
