"""Fourth hold-out set of published LLM serving measurements: rows collected blind, never fitted to, never looked at
against perfgraph.

These rows were collected on 2026-12-04, before any prediction (perfgraph's or a peer's) was made on any of them;
none of them was used to set or tune anything in perfgraph.  No (source, figure) pair repeats one of
``llm_published.ROWS``, ``llm_published_holdout.HOLDOUT_ROWS``, ``llm_published_holdout2.HOLDOUT2_ROWS`` or
``llm_published_holdout3.HOLDOUT3_ROWS``, and no source those four sets used is used again at the same version,
commit or build.  Focus of this set: serving engines running a fixed (static) batch of 16 to 256 sequences, with
batch-1 rows of the same sources as controls.  The sources are two GitHub threads: a vLLM pull request whose
description reports ``benchmarks/benchmark_latency.py`` on the main branch (the baseline of the PR) for Mixtral-8x7B
on 8x H100, and a TensorRT-LLM issue that reports ``benchmarks/python/benchmark.py`` for the LLaMA-7B config in FP8
on an H100-SXM.

Every value is copied verbatim from the cited thread; a value published in seconds is given here in ms by moving the
decimal point three places (no rounding).  Each row carries the same keys, with the same meaning, and uses the same
metrics and precision mapping as ``llm_published.ROWS`` (that module's docstring defines them); ids (prefix
``h4-``) do not clash with the other four sets.  ``framework`` names the engine and its version; where the thread
states none, ``(version not stated)`` and the thread's date is given in ``conditions`` as ``report date``.

Selection rules (fixed before any value was read):

* Search procedure: the ``issues`` corpus of the project's reference search, with these queries (all hits of each
  reply read): "benchmark_latency batch-size 64 input-len output-len H100 Avg latency"; "benchmark_latency.py Avg
  latency seconds batch-size 32 A100 llama"; "benchmark_latency.py Avg latency batch size 128 input-len
  output-len"; "benchmark_latency llama-3-8b Avg latency seconds H100 main branch"; "Mixtral fused MoE config H100
  benchmark_latency Avg latency batch size"; "vllm fp8 H100 benchmark_latency --batch-size --input-len
  --output-len Avg latency seconds"; "vllm CUDA graph decode latency batch size 256 benchmark_latency A100
  Llama-2-7b"; three Llama-2-7B / Llama-3-8B / Llama-2-70B benchmark_latency queries; "vllm benchmark_latency
  A100-SXM4-80GB Avg latency seconds batch size"; "vllm marlin gptq awq benchmark_latency --batch-size Avg
  latency"; three SGLang ``bench_latency`` / ``bench_one_batch`` "Decode. median latency" queries (and one on the
  ``docs`` corpus); two TensorRT-LLM ``gptSessionBenchmark`` / ``benchmark.py`` "[BENCHMARK] batch_size ...
  latency(ms)" queries and one more naming H100 80GB HBM3 / v0.7; one SGLang query naming H100 80GB HBM3 / v0.2 at
  batch 256; one LMDeploy ``profile_generation.py`` query; ``find_string "Avg latency:"`` (no vLLM hit among its
  returned excerpts); the stored versions of LMDeploy ``docs/en/benchmark/``.
* Filters, applied to every hit: a static batch (a known number of sequences decoded together, fixed input and
  output lengths; no ShareGPT / random-length datasets, no request-rate or concurrency serving); engine version or
  report date known; chip one of a100-sxm-80gb, h100-sxm, h200-sxm, l4, b200, t4, v100-sxm2-32gb (an H100 named
  without form factor is taken as SXM, as the second set did; an A100 80GB is taken as SXM only if the thread shows
  SXM4 or a DGX/HGX system); model expressible (Llama-2-7B / LLaMA-7B shapes, Llama-3/3.1-8B, Llama-2/3-70B,
  Mistral-7B, Mixtral-8x7B, Llama-2-13B); batch 1 or 16 to 256 (batches 2 to 8 and above 256 left out); vLLM rows
  with CUDA graphs on only (no ``--enforce-eager``); for a before/after report in a PR only the baseline (the main
  branch / released engine without the PR).  Every row of a qualifying table was taken.

Left out before any prediction was made: vLLM PR #3240 (Mixtral-8x7B TP2 on "A100": 80 GB follows from the model
size but the form factor is not shown in the thread's text); vLLM PR #4002 (Mixtral-8x22B, not a model in the list;
A100-80G without form factor); vLLM PR #3692 (DBRX, not in the list); vLLM issue #1805 (A10G); EmbeddedLLM/vllm #11
(AMD MI210); the "This PR" columns of every before/after report; vLLM PR #2542's batches 2, 4 and 8 (outside the
batch rule) and its later comment "Latency numbers:" (the search returned it truncated before any figure);
TensorRT-LLM issue #220 (Llama-2-70B, 8 GPUs, compute capability sm80 with >40 GB peak memory, but the A100 form
factor is not shown), #1410 and #248 (GPU not named), #703 (GPT-J, not in the list), #421 (no figure in the text
returned); SGLang PRs #1401 and #4832 (GPU and SGLang version not stated), #564 (dummy output format, no version),
#15009 / #11322 (Llama-4 / DeepSeek, not in the list; AMD); LMDeploy ``docs/en/benchmark/a100_fp16.md`` at its
newest stored commit (v0.2.0 -- the table the third set already excluded as the dev set's unchanged) and LMDeploy
issues found (ShareGPT request-rate runs, A10, InternLM).  Chips: H100 only -- no qualifying L4, B200, T4, V100,
A100 SXM or H200 static-batch report was found by the searches above.
"""

from __future__ import annotations

from llm_published import METRICS, PHASES, _row  # noqa: F401  (one row helper and vocabulary for all five sets)

# ---- sources ------------------------------------------------------------------------------------------------
VLLM_PR2542 = ("https://github.com/vllm-project/vllm/pull/2542",
               "vllm-project/vllm pull request #2542 'Fused MOE for Mixtral', description by pcmoritz, 2024-01-22, "
               "'Compare to master' latencies (the baseline without the PR)")
TRT_ISSUE329 = ("https://github.com/NVIDIA/TensorRT-LLM/issues/329",
                "NVIDIA/TensorRT-LLM issue #329 \"can't reach claimed performance on LLaMA 7b\", description by "
                "HikariTJU, 2023-11-09")

_VLLM2542 = ("vLLM main branch of 2024-01-22 without the PR (between the v0.2.7 and v0.3.0 releases by date; the "
             "thread names no version or commit), report date 2024-01-22; python benchmarks/benchmark_latency.py "
             "--model=mistralai/Mixtral-8x7B-Instruct-v0.1 --input-len 1000 --output-len 50 -tp 8 --num-iters 100 "
             "--batch-size <bs>: one llm.generate() of `batch` dummy prompts of 1000 token ids, 50 tokens each "
             "(ignore_eos), mean of 100 timed runs after a warm-up; no --enforce-eager, so CUDA graphs on (the "
             "default since v0.2.7); model default dtype (bf16); TP 8 on 'H100' (the description: 'on H100'; "
             "count of GPUs from -tp 8; form factor and memory not stated, taken as SXM 80GB); KV-cache dtype "
             "default (bf16)")
_VLLM_CONV = ("published per-batch latency (s, the description's 'bs=N: X s' table, i.e. benchmark_latency.py's "
              "average latency of one llm.generate() of the whole batch: prefill of all prompts + 49 decode steps), "
              "here in ms")
_TRT329 = ("TensorRT-LLM (version not stated; report date 2023-11-09 -- the v0.5.0 release era), "
           "benchmarks/python/benchmark.py -m llama_7b --mode plugin --enable_fp8 --fp8_kv_cache --max_input_len "
           "2048 --batch_size 64 --input_output_len 2048,128: a built-in LLaMA-7B config (32 layers, 32 heads, "
           "hidden 4096, vocab 32000 -- Llama-2-7B shapes) with random weights, static batch (the whole batch's "
           "context phase, then generation steps to 128 tokens); FP8 weights/activations and FP8 KV cache "
           "(the log line prints 'precision float16', the engine's base dtype); 'H100-SXM' (the description), "
           "compute_cap sm90, gpu_peak_mem 74.34 GB; number of timed runs not stated")


def _vllm(id, batch, value):
    """One baseline row of vLLM PR #2542: Mixtral-8x7B, TP 8, 1000 in / 50 out, `value` = published latency in ms."""
    return _row(id=id, source=VLLM_PR2542, framework="vLLM (version not stated)", arch="Mixtral-8x7B",
                model="hf:mixtral-8x7b", chip="h100-sxm", tp=8, precision="BF16", scheme="bf16", batch=batch,
                prompt_len=1000, output_len=50, metric="e2e_ms", value=value,
                phase="decode" if batch == 1 else "mixed", conversion=_VLLM_CONV,
                conditions=f"{_VLLM2542}; row 'bs={batch}' of 'Compare to master'")


HOLDOUT4_ROWS: list[dict] = [
    # ---------------------------------------------------- vLLM main (2024-01-22), Mixtral-8x7B TP8 on H100, baseline
    _vllm("h4-vllm2542-h100-mixtral-tp8-b1", 1, 590.0),
    _vllm("h4-vllm2542-h100-mixtral-tp8-b16", 16, 1086.0),
    _vllm("h4-vllm2542-h100-mixtral-tp8-b32", 32, 1615.0),
    _vllm("h4-vllm2542-h100-mixtral-tp8-b64", 64, 2727.0),
    # ---------------------------------------------------- TensorRT-LLM benchmark.py, LLaMA-7B FP8 on H100-SXM
    _row(id="h4-trt329-h100-l7b-fp8-b64-2048-128", source=TRT_ISSUE329, framework="TensorRT-LLM (version not stated)",
         arch="LLaMA-7B (benchmark.py 'llama_7b' config)", model="hf:llama-7b", chip="h100-sxm", precision="FP8",
         scheme="int8", batch=64, prompt_len=2048, output_len=128, metric="e2e_ms", value=4409.291, phase="mixed",
         conversion="published latency(ms) of benchmark.py's [BENCHMARK] line (wall time of one generation of the "
                    "whole batch, context phase included) as is; its tokens_per_sec is batch x 128 / latency and is "
                    "not used",
         conditions=_TRT329),
]
