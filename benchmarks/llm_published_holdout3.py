"""Third hold-out set of published LLM serving measurements: rows collected blind, never fitted to, never looked at
against perfgraph.

These rows were collected on 2026-12-04, before any prediction (perfgraph's or a peer's) was made on any of them;
none of them was used to set or tune anything in perfgraph.  No (source, figure) pair repeats one of
``llm_published.ROWS``, ``llm_published_holdout.HOLDOUT_ROWS`` or ``llm_published_holdout2.HOLDOUT2_ROWS``, and no
source those three sets used is used again at the same version or commit.  The source here is Argonne's
LLM-Inference-Bench (Chitty-Venkata et al., arXiv 2411.00136): three of its result tables, each pinned to a commit
of github.com/argonne-lcf/LLM-Inference-Bench -- vLLM on one node of 4x H100 80GB HBM3 (SXM) at ALCF's JLSE
testbed, static batches of random-token prompts, fp16 (and FP8 in one table).

Every value is copied verbatim from the cited file; a value published in seconds is given here in ms by moving the
decimal point three places (no rounding).  Each row carries the same keys, with the same meaning, and uses the
same metrics and precision mapping as ``llm_published.ROWS`` (that module's docstring defines them); ids do not
clash with the other three sets.

Selection rules (fixed before any value of the table was read):

* ``Plots/All_results.csv``: rows with Hardware ``Nvidia H100 GPU`` and Framework ``vLLM``; models Llama-2-7B,
  Llama-3-8B, Llama-3-70B, Mistral-7B-v0.1 and Mixtral-8x7B-v0.1; ``Input Output Length`` 128 and 1024 (input =
  output length); ``Batch Size`` 1 and 64 (the ends of the sweep 1/16/32/64); TP 1 for the 7B/8B models and the
  smallest TP the file lists for the others; where a configuration appears more than once, its first occurrence
  in file order.  The file has no vLLM H100 row for Mixtral-8x7B, so that model contributes none (16 rows).
* ``Plots/Fig_21/all_results_TTFT.csv`` (a small table: 1024 input tokens, 1 output token, batch 16): every
  ``Nvidia H100 GPU`` vLLM row (3 rows).
* ``Plots/Fig_3/A100_H100_quant_all_results.csv``: ``Nvidia H100 GPU`` vLLM rows whose weight/KV label maps to a
  scheme (``Weight = fp16, KV Cache = fp16`` -> bf16; ``Weight = fp8, KV Cache = fp8`` -> int8), subsampled by
  the same rule as All_results (lengths 128 and 1024, batch 1 and 64; first occurrence) (8 rows, all Llama-3-8B).

Left out before any prediction was made: A100 rows of all three tables (the A100 runs are on ALCF Polaris -- the
scripts' PBS ``filesystems=home:eagle:grand`` and ``/lus/grand`` paths -- whose A100s are the 40 GB SXM4 part, not a
chip in the list); GH200, AMD, Intel, Gaudi2 and SN40L rows (chips outside the list); llama.cpp rows (own
quantisation formats) and DeepSpeed-MII rows (A100 only); TensorRT-LLM H100 rows (the repository's TensorRT-LLM
run scripts build the prompt from ``--input_text`` -- a default sentence truncated to ``--max_input_length`` -- and
stop at EOS, so a row's prompt and output lengths are not known exactly); Llama-2-70B and Qwen2 rows (outside the
model rule); the quantisation table's ``Weight = fp16, KV Cache = fp8`` rows (FP8 KV cache with 16-bit weights maps
to no scheme); ``Plots/Fig_22/all_results_TTFT_ITL.csv`` (its columns repeat the TTFT table and All_results' batch-16
latencies).  Also searched and left out: the NeMo Framework Llama-2 inference page (no pinned copy found; undated),
TensorRT-LLM's performance.md at commit 77d24b5f (the v0.6.1/v0.5 tables the dev set already uses), the
TensorRT-LLM H100vsA100 blog (GPT-J only), quantization blog (speedup ratios only) and XQA blog (the figure without
XQA has no stated batch size), LMDeploy's a100_fp16.md at v0.2.0 (the dev set's static table unchanged) and w4a16
doc (RTX 4090), and optimum-nvidia's README (no fixed-batch figure).  Chips: H100 SXM only.
"""

from __future__ import annotations

from llm_published import METRICS, PHASES, _row  # noqa: F401  (one row helper and vocabulary for all four sets)

# ---- sources ------------------------------------------------------------------------------------------------
ALCF_BENCH = ("https://github.com/argonne-lcf/LLM-Inference-Bench/blob/4de4e8723b661851bf01bd2ec16c0a0d1216fa3d/"
              "Plots/All_results.csv",
              "LLM-Inference-Bench (Argonne; arXiv 2411.00136), Plots/All_results.csv, 'Nvidia H100 GPU' vLLM rows")
ALCF_TTFT = ("https://github.com/argonne-lcf/LLM-Inference-Bench/blob/4de4e8723b661851bf01bd2ec16c0a0d1216fa3d/"
             "Plots/Fig_21/all_results_TTFT.csv",
             "LLM-Inference-Bench (Argonne; arXiv 2411.00136), Plots/Fig_21/all_results_TTFT.csv (the paper's TTFT "
             "figure), 'Nvidia H100 GPU' vLLM rows")
ALCF_QUANT = ("https://github.com/argonne-lcf/LLM-Inference-Bench/blob/691ffaba7e86eb8e12d2e06daf0e99d157600081/"
              "Plots/Fig_3/A100_H100_quant_all_results.csv",
              "LLM-Inference-Bench (Argonne; arXiv 2411.00136), Plots/Fig_3/A100_H100_quant_all_results.csv (the "
              "paper's quantisation figure), 'Nvidia H100 GPU' vLLM rows")

# Llama-3-70B = Llama-2-70B shapes with the 128,256-token vocabulary (config.json), as in llm_published.
LLAMA3_70B = {"vocab_size": "128256", "max_position_embeddings": "8192"}

_ALCF = ("vLLM offline LLM.generate() of one static batch of `batch` prompts of random token ids "
         "(np.random.randint(10000)), SamplingParams(ignore_eos=True, max_tokens=output_len, temperature 1.0, "
         "top_p 1.0); --dtype float16, CUDA graphs on (no --enforce-eager), block size 16, gpu_memory_utilization "
         "0.9, chunked prefill off (vLLM/H100/benchmark_latency.py at commit 763c03df and run-throughput-bench.sh "
         "at a30fdf4e; the CSV does not say which script or how many timed runs produced a row -- "
         "benchmark_latency.py's defaults are 10 warm-up and 30 timed runs, averaged); vLLM version not stated "
         "('pip install vllm', CUDA 12.3 module, 2024); GPUs 'NVIDIA H100 80GB HBM3' with a 700 W cap (nvidia-smi "
         "in llama.cpp/H100/README.MD, the same JLSE H100 node), i.e. H100 SXM; vLLM's scheduler may split the "
         "batch's prefill over several steps (max_num_batched_tokens defaults to the model's max_model_len)")
_E2E_CONV = ("published latency (s) = wall time of one llm.generate() of the whole batch (prefill of all prompts + "
             "output_len - 1 decode steps), here in ms; the CSV's throughput column is batch x (input + output) / "
             "latency and is not used")
_TTFT_CONV = ("published 'Latency' (s) at Output Length 1 = wall time of one llm.generate() of the batch with one "
              "output token, i.e. the prefill of all `batch` prompts, here in ms")
_FP8 = ("CSV label 'Weight = fp8, KV Cache = fp8': taken as vLLM --quantization fp8 (FP8 W8A8 GEMMs with dynamic "
        "per-tensor activation scales on Hopper) with --kv-cache-dtype fp8; the repository shows no command for "
        "this run")


def _e2e(id, source, arch, model, tp, batch, n, value, params=None, precision="FP16", scheme="bf16", note=""):
    """One static-batch vLLM H100 row: `n` = input = output length, `value` = published latency in ms."""
    return _row(id=id, source=source, framework="vLLM (LLM-Inference-Bench)", arch=arch, model=model,
                params=params or {}, chip="h100-sxm", tp=tp, precision=precision, scheme=scheme, batch=batch,
                prompt_len=n, output_len=n, metric="e2e_ms", value=value,
                phase="decode" if batch == 1 else "mixed", conversion=_E2E_CONV,
                conditions=f"{_ALCF}; CSV row: Num of Hardware {tp}, Input Output Length {n}, Batch Size {batch}"
                           + (f"; {note}" if note else ""))


def _ttft(id, arch, model, value):
    """One row of the TTFT table: batch 16, 1024 input tokens, 1 output token, `value` = published Latency in ms."""
    return _row(id=id, source=ALCF_TTFT, framework="vLLM (LLM-Inference-Bench)", arch=arch, model=model,
                chip="h100-sxm", precision="FP16", scheme="bf16", batch=16, prompt_len=1024, output_len=1,
                metric="ttft_ms", value=value, phase="prefill", conversion=_TTFT_CONV,
                conditions=f"{_ALCF}; CSV row: Num of Hardware 1, Input Length 1024, Output Length 1, Batch Size 16 "
                           "(the repository does not show this table's command; taken as the same script with "
                           "--output-len 1)")


HOLDOUT3_ROWS: list[dict] = [
    # ---------------------------------------------------- All_results.csv: vLLM on H100 SXM, fp16, static batch
    _e2e("alcf-vllm-h100-l2-7b-b1-128", ALCF_BENCH, "Llama-2-7B", "hf:llama-7b", 1, 1, 128, 932.6443687983555),
    _e2e("alcf-vllm-h100-l2-7b-b64-128", ALCF_BENCH, "Llama-2-7B", "hf:llama-7b", 1, 64, 128, 1845.2401912315206),
    _e2e("alcf-vllm-h100-l2-7b-b1-1024", ALCF_BENCH, "Llama-2-7B", "hf:llama-7b", 1, 1, 1024, 7838.529322932785),
    _e2e("alcf-vllm-h100-l2-7b-b64-1024", ALCF_BENCH, "Llama-2-7B", "hf:llama-7b", 1, 64, 1024, 32641.19966746366),
    _e2e("alcf-vllm-h100-l3-8b-b1-128", ALCF_BENCH, "Llama-3-8B", "hf:llama3-8b", 1, 1, 128, 993.9330658666686),
    _e2e("alcf-vllm-h100-l3-8b-b64-128", ALCF_BENCH, "Llama-3-8B", "hf:llama3-8b", 1, 64, 128, 1688.2608920667432),
    _e2e("alcf-vllm-h100-l3-8b-b1-1024", ALCF_BENCH, "Llama-3-8B", "hf:llama3-8b", 1, 1, 1024, 8097.759872433327),
    _e2e("alcf-vllm-h100-l3-8b-b64-1024", ALCF_BENCH, "Llama-3-8B", "hf:llama3-8b", 1, 64, 1024,
         18808.667415499894),
    _e2e("alcf-vllm-h100-l3-70b-tp4-b1-128", ALCF_BENCH, "Llama-3-70B", "hf:llama-70b", 4, 1, 128,
         2462.4011069999843, params=LLAMA3_70B),
    _e2e("alcf-vllm-h100-l3-70b-tp4-b64-128", ALCF_BENCH, "Llama-3-70B", "hf:llama-70b", 4, 64, 128,
         3750.785323233322, params=LLAMA3_70B),
    _e2e("alcf-vllm-h100-l3-70b-tp4-b1-1024", ALCF_BENCH, "Llama-3-70B", "hf:llama-70b", 4, 1, 1024,
         19609.760039433322, params=LLAMA3_70B),
    _e2e("alcf-vllm-h100-l3-70b-tp4-b64-1024", ALCF_BENCH, "Llama-3-70B", "hf:llama-70b", 4, 64, 1024,
         35082.811953, params=LLAMA3_70B),
    _e2e("alcf-vllm-h100-mistral-7b-b1-128", ALCF_BENCH, "Mistral-7B", "hf:mistral-7b", 1, 1, 128,
         943.8365818340875),
    _e2e("alcf-vllm-h100-mistral-7b-b64-128", ALCF_BENCH, "Mistral-7B", "hf:mistral-7b", 1, 64, 128,
         1870.611174768419),
    _e2e("alcf-vllm-h100-mistral-7b-b1-1024", ALCF_BENCH, "Mistral-7B", "hf:mistral-7b", 1, 1, 1024,
         7924.012167198816),
    _e2e("alcf-vllm-h100-mistral-7b-b64-1024", ALCF_BENCH, "Mistral-7B", "hf:mistral-7b", 1, 64, 1024,
         31238.526376735535),
    # ---------------------------------------------------- Fig_21 TTFT table: batch 16, 1024 in, 1 out, fp16
    _ttft("alcf-vllm-h100-l2-7b-b16-ttft-1024", "Llama-2-7B", "hf:llama-7b", 421.6477160962919),
    _ttft("alcf-vllm-h100-l3-8b-b16-ttft-1024", "Llama-3-8B", "hf:llama3-8b", 425.66500790417194),
    _ttft("alcf-vllm-h100-mistral-7b-b16-ttft-1024", "Mistral-7B", "hf:mistral-7b", 425.16071242280307),
    # ---------------------------------------------------- Fig_3 quantisation table: Llama-3-8B, fp16 and FP8
    _e2e("alcfq-vllm-h100-l3-8b-fp16-b1-128", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 1, 128,
         1010.333460289985, note="CSV label 'Weight = fp16, KV Cache = fp16'"),
    _e2e("alcfq-vllm-h100-l3-8b-fp16-b64-128", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 64, 128,
         1807.8341940417886, note="CSV label 'Weight = fp16, KV Cache = fp16'"),
    _e2e("alcfq-vllm-h100-l3-8b-fp16-b1-1024", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 1, 1024,
         8197.732408065349, note="CSV label 'Weight = fp16, KV Cache = fp16'"),
    _e2e("alcfq-vllm-h100-l3-8b-fp16-b64-1024", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 64, 1024,
         19312.098698690534, note="CSV label 'Weight = fp16, KV Cache = fp16'"),
    _e2e("alcfq-vllm-h100-l3-8b-fp8-b1-128", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 1, 128,
         769.9878138955683, precision="FP8 weights and activations, FP8 KV cache", scheme="int8", note=_FP8),
    _e2e("alcfq-vllm-h100-l3-8b-fp8-b64-128", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 64, 128,
         1443.4360191226006, precision="FP8 weights and activations, FP8 KV cache", scheme="int8", note=_FP8),
    _e2e("alcfq-vllm-h100-l3-8b-fp8-b1-1024", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 1, 1024,
         6144.760839175433, precision="FP8 weights and activations, FP8 KV cache", scheme="int8", note=_FP8),
    _e2e("alcfq-vllm-h100-l3-8b-fp8-b64-1024", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 64, 1024,
         16766.064875992015, precision="FP8 weights and activations, FP8 KV cache", scheme="int8", note=_FP8),
]
