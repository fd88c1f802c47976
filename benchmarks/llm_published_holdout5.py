"""Fifth hold-out set of published LLM serving measurements: rows collected blind, never fitted to, never looked at
against perfgraph.

These rows were collected on 2026-12-04, before any prediction (perfgraph's or a peer's) was made on any of them;
none of them was used to set or tune anything in perfgraph.  No (source, figure) pair repeats one of
``llm_published.ROWS`` or ``llm_published_holdout{,2,3,4}.HOLDOUT{,2,3,4}_ROWS``, and no source those five sets used
is used again at the same version, commit or build.  Focus of this set: serving engines running a fixed (static)
batch of 16 to 256 sequences, with batch-1 rows of the same sources as controls, the engine version known.

The only source that qualified is the TensorRT-LLM documentation page 'Performance of TensorRT-LLM' as it stood
on the ``release/0.5.0`` branch (TensorRT-LLM v0.5.0): its 'High Throughput' table of static-batch output
throughput.  The dev set cites the same page at a later commit, whose throughput tables were replaced by v0.6.1
data (its v0.5 low-latency tables were kept); the v0.5.0 throughput figures taken here appear in no other set.
No vLLM, SGLang or LMDeploy report met every rule below, so this set has no vLLM row and no batch-1 control: the
v0.5.0 page's batch-1 rows are its first-token-latency table, whose figures the dev set already holds.

Every value is copied verbatim from the cited page or thread; a value published in seconds is given here in ms by
moving the decimal point three places (no rounding), a value with a thousands separator is given without it.  Each
row carries the same keys, with the same meaning, and uses the same metrics and precision mapping as
``llm_published.ROWS`` (that module's docstring defines them); ids (prefix ``h5-``) do not clash with the other five
sets.  ``framework`` names the engine and its version; where the source states none, ``(version not stated)`` and
the report's date is given in ``conditions`` as ``report date``.

Selection rules (fixed before any value was read):

* Search procedure (each query run once, every hit of each reply read): ``pages`` corpus -- "vLLM latency batch size
  64 input 1024 output 128 H100 benchmark table"; "TensorRT-LLM vs vLLM static batch throughput H100 batch size 128
  input output length table"; "Mind the Memory Gap GPU bottlenecks large-batch LLM inference vLLM batch size";
  "SGLang bench_one_batch decode latency batch size H100"; "LMDeploy vs vLLM benchmark A100 80GB batch size tokens
  per second"; "vLLM offline batch inference benchmark H100 SXM A100 SXM batch size 16 32 64 128 256 latency table
  llama-2-7b version"; "table end-to-end latency vLLM TensorRT-LLM batch size 16 32 64 input length output length
  A100-SXM4-80GB Llama-2-13B static batch paper"; "vLLM 0.4 H100 SXM Llama-3-8B benchmark_latency batch size 256
  end-to-end latency seconds results blog"; two follow-ups naming the TensorRT-LLM performance page's 'High
  Throughput' tables and release branches.  ``code`` corpus -- "avg_latency latencies benchmark_latency json
  batch_size input_len output_len results"; "bench_one_batch result jsonl median decode latency prefill latency
  batch_size input_len"; "results table vllm benchmark_latency batch size 1 16 32 64 128 avg latency seconds
  A100-SXM4-80GB llama-2-7b"; "gptSessionBenchmark output batch_size input_length output_length latency(ms)
  tokensPerSec H100 results llama"; "sglang bench_latency results Llama-3-8B H100 batch size 1 16 64 256 input 1024
  output prefill latency decode median latency table".  ``find_string`` -- '"avg_latency":', 'Decode.  median
  latency', 'Prefill. latency:', '[BENCHMARK] batch_size 64 input_length'.  ``issues`` corpus (phrasings not used
  by the fourth set) -- "throughput tokens/s batch size 128 H100 vllm 0.4 static batch"; "static batch latency H100
  llama-3-8b batch 32 ms per token"; "ITL batch size 64 H100 TensorRT-LLM 0.9 static batch latency"; "bench_one_batch
  batch size 64 decode median latency H100 sglang llama"; "sglang bench_one_batch batch size 256 llama-3-8b decode
  throughput prefill latency"; two more vLLM benchmark_latency phrasings naming H100 80GB HBM3 / A100-SXM4-80GB and
  batch 32 to 256; one on TensorRT-LLM issue #421; one on SGLang PR #2134; one on LMDeploy's issue #815.
  ``docs`` corpus -- one SGLang bench_one_batch and one ``vllm bench latency`` query.  Follow-up look-ups of single
  hits (find_string / read_file / find_files on the file or repository a hit came from) are not listed.
* Filters, applied to every hit: a static batch (a known number of sequences decoded together, fixed input and
  output lengths; no ShareGPT / random-length datasets, no request-rate or concurrency serving unless concurrency =
  the number of requests); engine version or report date known; chip one of a100-sxm-80gb, h100-sxm, h200-sxm, l4,
  b200, t4, v100-sxm2-32gb (an H100 named without form factor taken as SXM, as the earlier sets did; an A100 80GB
  taken as SXM only if the source shows SXM4 or a DGX/HGX system); model expressible (Llama-2-7B / LLaMA-7B shapes,
  Llama-3/3.1-8B, Llama-2/3-70B, Mistral-7B, Mixtral-8x7B, Llama-2-13B); batch 1 or 16 to 256; vLLM with CUDA graphs
  on only; for a before/after report only the baseline; a published figure that maps onto one of the five metrics
  exactly, without arithmetic beyond a unit change.  Every row of a qualifying table was taken.

Left out before any prediction was made: from the v0.5.0 page, the GPT-J 6B and Falcon 180B rows (models not in the
list), the L40S table (chip not in the list), the H100 LLaMA 70B rows (TP 4: the column is 'Throughput (out tok/s)',
not per GPU, so the figure maps onto ``out_tok_s_gpu`` only by dividing by 4), the A100 table (the part of the page
read names no form factor), and the first-token-latency tables (the dev set's v0.5 figures); TensorRT-LLM's
performance page at v0.8.0 (its Peak Throughput tables: the first hold-out set already uses that page version) and
NVIDIA's 'AI inference' data-centre page as quoted in XiongjieDai/GPU-Benchmarks-on-LLM-Inference issue #26
(TensorRT-LLM 0.9.0 data, the version the first hold-out set uses, batch 512 rows beyond the batch rule); the
performance page at v0.6.1 in the glqglq/TensorRT-LLM fork (the dev set's tables); LambdaLabsML/vllm-benchmark
(benchmark_serving on ShareGPT); the vLLMBatchingMemoryGap results (1000 requests at max-num-seqs N: continuous
batching, patched vLLM modules); a committed vLLM benchmark_latency log for Llama-2-70B TP2 (GPU not named, pre-CUDA-
graph vLLM); SGLang PR #2134 (the PR's own result, GPU and version not stated) and MLX / batch-4 / Qwen / DeepSeek
bench_one_batch logs; vLLM PR #3692 (DBRX) and issues #1805, #5567, #8244 (A10G, no GPU named, Llama-3.1-405B);
TensorRT-LLM issues #421 (no figure in the text returned), #703 (GPT-J), #1410 (GPU not named), #2240, #6294
(in-flight batching); LMDeploy issue #815 (profile_throughput on ShareGPT) and #1494 (1000 prompts, 3090/A100
without form factor); BentoML, Ori, Microsoft and other vendor posts (concurrent-user serving); johnmusgrave.com
(A100 40GB).  Chips: H100 only.
"""

from __future__ import annotations

from llm_published import METRICS, PHASES, _row  # noqa: F401  (one row helper and vocabulary for all six sets)

# ---- sources ------------------------------------------------------------------------------------------------
TRT050 = ("https://raw.githubusercontent.com/NVIDIA/TensorRT-LLM/release/0.5.0/docs/source/performance.md",
          "TensorRT-LLM docs, 'Performance of TensorRT-LLM' on the release/0.5.0 branch, section 'High Throughput' "
          "(TensorRT-LLM v0.5.0; the later page the dev set cites replaced these tables with v0.6.1 data)")

_TRT050 = ("TensorRT-LLM v0.5.0 'High Throughput' table ('reference data at large batch sizes'), collected with the "
           "methodology of the repository's benchmarks folder, i.e. gptSessionBenchmark static batching: the whole "
           "batch's context phase, then generation steps to `output_len` tokens; H100 table 'H100 GPUs (FP8)' "
           "(FP8 engine; form factor and memory not stated on the part of the page read, taken as SXM 80GB as the "
           "other sets do; FP8 KV cache not stated); model 'LLaMA 7B' (Llama-2-7B shapes; checkpoint not stated); "
           "number of timed runs not stated")
_TRT050_CONV = "published 'Throughput (out tok/s)' at TP 1 as is (batch x output tokens / session time)"


def _trt050(id, batch, prompt_len, output_len, value, phase):
    """One H100 FP8 LLaMA-7B row of the v0.5.0 High Throughput table (TP 1); `value` = published out tok/s."""
    return _row(id=id, source=TRT050, framework="TensorRT-LLM v0.5.0", arch="LLaMA 7B (Llama-2-7B shapes)",
                model="hf:llama-7b", chip="h100-sxm", precision="FP8", scheme="int8", batch=batch,
                prompt_len=prompt_len, output_len=output_len, metric="out_tok_s_gpu", value=value, phase=phase,
                conversion=_TRT050_CONV,
                conditions=f"{_TRT050}; TP 1, batch {batch}, input {prompt_len}, output {output_len}; report date "
                           "2023-10-19 (the page states none; v0.5.0's public release date)")


HOLDOUT5_ROWS: list[dict] = [
    # ---------------------------------------------------- TensorRT-LLM v0.5.0 High Throughput, H100 FP8, TP 1
    _trt050("h5-trt050-h100-l7b-fp8-b64-128-128", 64, 128, 128, 9193.0, "mixed"),
    _trt050("h5-trt050-h100-l7b-fp8-b64-128-2048", 64, 128, 2048, 5367.0, "decode"),
    _trt050("h5-trt050-h100-l7b-fp8-b64-2048-128", 64, 2048, 128, 2058.0, "mixed"),
    _trt050("h5-trt050-h100-l7b-fp8-b32-2048-2048", 32, 2048, 2048, 2230.0, "mixed"),
]
