"""Second hold-out set of published LLM serving measurements: rows collected blind, never fitted to, never looked at
against perfgraph.

These rows were collected on 2026-12-04, before any prediction (perfgraph's or a peer's) was made on any of them;
none of them was used to set or tune anything in perfgraph.  No (source, figure) pair repeats one of
``llm_published.ROWS`` or ``llm_published_holdout.HOLDOUT_ROWS``, and none of the sources those two sets used is used
again at the same version or commit.  The sources here are: vLLM's nightly latency tests on 8xH100 (Buildkite build
9555), the TensorRT-LLM blog on Llama-70B on H200 (v0.7a static-batch throughput), NVIDIA's technical blog on
Llama 2 70B on a DGX H100 (batch-1 latency), gpt-fast's Mixtral README at a later commit and gpt-fast's README at an
earlier commit (both A100, batch 1) and torchao's top-level README at an earlier commit (Llama-2-7B, A100, batch 1).

Every value is copied verbatim from the cited file or page (a URL pins a commit where the source is a repository;
pages are named by build number or publication date).  Each row carries the same keys, with the same meaning, and
uses the same metrics and precision mapping as ``llm_published.ROWS`` (that module's docstring defines them); ids
do not clash with the other two sets.  ``w4a16-g<N>``: int4 weight-only where the source states the group size N
(a 16-bit scale and zero point per group counted; the suffix was added to the int4 rows on 2026-12-04, after all
three sets had been scored once without it).  One row (`trt07a-h200-l2-70b-fp8-b96-128-4096`) generates past
Llama-2's 4,096 positions, as published: its config raises ``max_position_embeddings`` (shapes unchanged).

Left out before any prediction was made: TensorRT-LLM perf-overview tables from v0.10 on (in-flight batching at
maximum load, batch size unknown); vLLM build 9515 (H200, the same tests as the dev set's build 9513 a few builds
apart); the NeMo Framework Llama-2 inference page (undated, precision not stated); NIM, SGLang and MLC pages (no
fixed batch, an excluded page, or GPUs outside the chip list).  Chips: A100 SXM 80GB, H100 SXM, H200 SXM only -- no
published L4 or B200 figure with a fixed batch and stated lengths was found in the sources searched.
"""

from __future__ import annotations

from llm_published import METRICS, PHASES, _row  # noqa: F401  (one row helper and vocabulary for all three sets)

# ---- sources ------------------------------------------------------------------------------------------------
VLLM_H100 = ("https://buildkite.com/vllm/performance-benchmark/builds/9555",
             "vLLM performance benchmark (Buildkite build 9555, 'Fix reporting, and try again'), 'Latency tests', "
             "8xH100")
TRT_H200_V07 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/3c44cb974badec8966108b16054a99c0923e410d/"
                "docs/source/blogs/Falcon180B-H200.md",
                "TensorRT-LLM blog, 'Falcon-180B on a single H200 GPU with INT4 AWQ, and 6.7x faster Llama-70B over "
                "A100', section 'Llama-70B on H200 up to 6.7x A100' (TensorRT-LLM v0.7a)")
NV_BLOG_H100 = ("https://developer.nvidia.com/blog/achieving-top-inference-performance-with-the-nvidia-h100-tensor-"
                "core-gpu-and-nvidia-tensorrt-llm/",
                "NVIDIA Technical Blog, 'Achieving Top Inference Performance with the NVIDIA H100 Tensor Core GPU and "
                "NVIDIA TensorRT-LLM' (published 2023-12-13)")
GPT_FAST_MOE2 = ("https://github.com/pytorch-labs/gpt-fast/blob/4f98fe01976600edec013e9ae7e799744f971d9f/"
                 "mixtral-moe/README.md", "gpt-fast mixtral-moe README, 'Benchmarks' (later table than the dev set's)")
GPT_FAST_OLD = ("https://github.com/pytorch-labs/gpt-fast/blob/d2c5d8223fd00ab5ce469d8fdd93a7de78fb8b4a/README.md",
                "gpt-fast README, 'Benchmarks' and 'Tensor Parallelism' (earlier version than the dev set's)")
TORCHAO_OLD = ("https://github.com/pytorch/ao/blob/030428112ad7294297e931cac595f2b7d68029c0/README.md",
               "torchao README, 'Benchmarks / Inference / Without intrusive code changes' (Llama-2-7B rows)")

_VLLM = ("benchmarks/benchmark_latency.py via the nightly latency tests: input 32 tokens, output 128 tokens, fixed "
         "batch 8 (page); latency-tests.json (vllm .buildkite/nightly-benchmarks/tests, commit d5ce9249): dummy "
         "weights, 5 warm-up + 15 timed iterations -- not re-read at this build's own commit; model default dtype "
         "(bf16), CUDA graphs on (vLLM default); GPU named '8xH100' (form factor and memory not stated, taken as SXM "
         "80GB)")
_VLLM_CONV = "published mean end-to-end latency of one llm.generate() of the batch -- compared as is"
_TRT07 = ("static batching (the blog's out_tps=output_seqlen*batch_size/total_latency/tp); TensorRT-LLM v0.7a; "
          "Llama2-70B, FP8, 1xH200 = TP1; batch sizes from the footnote 'BS: (in order) 960, 960, 192, 560, 96, 640' "
          "(the 8-GPU rows, whose TP/PP/DP split is not stated, are left out); 'Preliminary measured performance, "
          "subject to change'; H200 form factor not stated (taken as SXM 141GB); KV-cache precision not stated")
_TRT07_CONV = "published 'Throughput (out tok/s/GPU)' at 1 GPU as is"
_GPT_FAST_MOE = ("mixtral-moe/generate.py --compile (decode step compiled with mode='reduce-overhead', i.e. CUDA "
                 "graphs; the README's commands also pass --compile_prefill), prompt 'Hello, my name is' (README: "
                 "'just 5 tokens'; generate.py prepends BOS), 200 new tokens (CLI default), batch 1, 5 samples "
                 "averaged; 8xA100-80GB power-limited to 330 W, hybrid cube mesh; TP runs with "
                 "ENABLE_INTRA_NODE_COMM=1 torchrun; Mixtral-8x7B-v0.1")
_GPT_FAST_OLD = ("generate.py --compile (decode step compiled with mode='reduce-overhead', i.e. CUDA graphs; prefill "
                 "eager), prompt 'Hello, my name is' (5 tokens as the dev rows count it; generate.py prepends BOS), "
                 "200 new tokens (CLI default), batch 1; README: 'Benchmarks run on an A100-80GB, power limited to "
                 "330W'; meta-llama/Llama-2-70b-chat-hf")
_GPT_FAST_CONV = ("published tokens/sec = generated tokens / wall time of generate(), prefill included "
                  "(generate.py) -- compared as is")
_TAO = ("torchao/_models/llama/generate.py with --compile (decode_one_token compiled mode='reduce-overhead', i.e. "
        "CUDA graphs; prefill eager), README: 'a single A100 GPU ... latency-optimized way (batchsize=1)'; prompt "
        "and length not restated in this README -- generate.py defaults of the time taken: 'Hello, my name is' "
        "with BOS (6 tokens), --max_new_tokens 200, 5 samples averaged; meta-llama/Llama-2-7b-chat-hf, bf16 model; "
        "A100 memory/form factor not stated here (the later README names the same harness's GPU NVIDIA-A100-80GB; "
        "taken as SXM 80GB)")
_TAO_CONV = ("published Tokens/Second = generated tokens (200) / wall time of generate(), prefill included -- "
             "compared as is")


HOLDOUT2_ROWS: list[dict] = [
    # ---------------------------------------------------- vLLM nightly latency tests, 8xH100 (batch 8, 32 in, 128 out)
    _row(id="vllm9555-h100-l31-8b-b8", source=VLLM_H100, framework="vLLM (nightly benchmark)", arch="Llama-3-8B",
         model="hf:llama3-8b", chip="h100-sxm", precision="BF16", scheme="bf16", batch=8, prompt_len=32,
         output_len=128, metric="e2e_ms", value=997.542, phase="decode", conversion=_VLLM_CONV,
         conditions=f"{_VLLM}; latency_llama8B_tp1 (page: 'llama-3.1 8B'; latency-tests.json names "
                    "meta-llama/Meta-Llama-3-8B -- same shapes)"),
    _row(id="vllm9555-h100-l3-70b-tp4-b8", source=VLLM_H100, framework="vLLM (nightly benchmark)",
         arch="Llama-3-70B", model="hf:llama-70b", params={"vocab_size": "128256", "max_position_embeddings": "8192"},
         chip="h100-sxm", tp=4, precision="BF16", scheme="bf16", batch=8, prompt_len=32, output_len=128,
         metric="e2e_ms", value=2444.47, phase="decode", conversion=_VLLM_CONV,
         conditions=f"{_VLLM}; latency_llama70B_tp4 (Meta-Llama-3-70B-Instruct), TP 4"),
    _row(id="vllm9555-h100-mixtral-tp2-b8", source=VLLM_H100, framework="vLLM (nightly benchmark)",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="h100-sxm", tp=2, precision="BF16", scheme="bf16",
         batch=8, prompt_len=32, output_len=128, metric="e2e_ms", value=2326.97, phase="decode",
         conversion=_VLLM_CONV,
         conditions=f"{_VLLM}; latency_mixtral8x7B_tp2 (Mixtral-8x7B-Instruct-v0.1), TP 2"),
    # ---------------------------------------------------- TensorRT-LLM v0.7a, Llama2-70B FP8 on one H200, static batch
    _row(id="trt07a-h200-l2-70b-fp8-b960-128-128", source=TRT_H200_V07, framework="TensorRT-LLM v0.7a",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h200-sxm", precision="FP8", scheme="int8", batch=960,
         prompt_len=128, output_len=128, metric="out_tok_s_gpu", value=3803.0, phase="mixed",
         conversion=_TRT07_CONV, conditions=f"{_TRT07}; ISL/OSL 128/128, BS 960"),
    _row(id="trt07a-h200-l2-70b-fp8-b192-128-2048", source=TRT_H200_V07, framework="TensorRT-LLM v0.7a",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h200-sxm", precision="FP8", scheme="int8", batch=192,
         prompt_len=128, output_len=2048, metric="out_tok_s_gpu", value=2941.0, phase="decode",
         conversion=_TRT07_CONV,
         conditions=f"{_TRT07}; ISL/OSL 128/2048, BS 192 (the XQA-kernel blog gives the same 2,941 as 'w/ XQA')"),
    _row(id="trt07a-h200-l2-70b-fp8-b96-128-4096", source=TRT_H200_V07, framework="TensorRT-LLM v0.7a",
         arch="Llama-2-70B", model="hf:llama-70b", params={"max_position_embeddings": "8192"}, chip="h200-sxm",
         precision="FP8", scheme="int8", batch=96, prompt_len=128, output_len=4096, metric="out_tok_s_gpu",
         value=1946.0, phase="decode", conversion=_TRT07_CONV,
         conditions=f"{_TRT07}; ISL/OSL 128/4096, BS 96 (128 + 4096 tokens exceed Llama-2's 4,096 positions, as "
                    "published; max_position_embeddings raised so the config admits them, shapes unchanged)"),
    # ---------------------------------------------------- NVIDIA blog: Llama 2 70B, DGX H100, batch 1
    _row(id="nvblog-h100-l2-70b-tp8-fp8-b1-2048-128", source=NV_BLOG_H100, framework="TensorRT-LLM v0.5.0",
         arch="Llama-2-70B", model="hf:llama-70b", chip="h100-sxm", tp=8, precision="FP8", scheme="int8", batch=1,
         prompt_len=2048, output_len=128, metric="e2e_ms", value=1700.0, phase="decode",
         conversion="published 'DGX H100 can process a single inference in 1.7 seconds using a batch size of one' "
                    "(s, two significant figures), here in ms",
         conditions="DGX H100, 8x H100 80GB HBM3 (SXM), TensorRT-LLM v0.5.0 for batch 1; Llama 2 70B 'using "
                    "accelerated FP8 operations'; 2,048 input / 128 output tokens; one request at a time; the 8-GPU "
                    "split is not stated (taken as TP 8); KV-cache precision not stated"),
    # ---------------------------------------------------- gpt-fast Mixtral README (later table), batch 1, A100 80GB
    _row(id="gptfast-moe2-a100-mixtral-int8wo", source=GPT_FAST_MOE2, framework="gpt-fast (torch.compile)",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="a100-sxm-80gb", precision="int8 weight-only",
         scheme="w8a16", batch=1, prompt_len=5, output_len=200, metric="tok_s_seq", value=97.92, phase="decode",
         conversion=_GPT_FAST_CONV,
         conditions=f"{_GPT_FAST_MOE}; 1 GPU; quantize.py --mode int8 (per-channel scales)"),
    _row(id="gptfast-moe2-a100-mixtral-tp4", source=GPT_FAST_MOE2, framework="gpt-fast (torch.compile)",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="a100-sxm-80gb", tp=4, precision="BF16", scheme="bf16",
         batch=1, prompt_len=5, output_len=200, metric="tok_s_seq", value=155.35, phase="decode",
         conversion=_GPT_FAST_CONV, conditions=f"{_GPT_FAST_MOE}; baseline(bfloat16), tensor parallel over 4 GPUs"),
    _row(id="gptfast-moe2-a100-mixtral-tp8", source=GPT_FAST_MOE2, framework="gpt-fast (torch.compile)",
         arch="Mixtral-8x7B", model="hf:mixtral-8x7b", chip="a100-sxm-80gb", tp=8, precision="BF16", scheme="bf16",
         batch=1, prompt_len=5, output_len=200, metric="tok_s_seq", value=227.82, phase="decode",
         conversion=_GPT_FAST_CONV, conditions=f"{_GPT_FAST_MOE}; baseline(bfloat16), tensor parallel over 8 GPUs"),
    # ---------------------------------------------------- gpt-fast README (earlier version), Llama-2-70B, batch 1, A100
    _row(id="gptfast-old-a100-l2-70b-int8wo", source=GPT_FAST_OLD, framework="gpt-fast (torch.compile)",
         arch="Llama-2-70B", model="hf:llama-70b", chip="a100-sxm-80gb", precision="int8 weight-only",
         scheme="w8a16", batch=1, prompt_len=5, output_len=200, metric="tok_s_seq", value=19.13, phase="decode",
         conversion=_GPT_FAST_CONV,
         conditions=f"{_GPT_FAST_OLD}; 1 GPU; '8-bit' = quantize.py --mode int8 (per-channel scales)"),
    _row(id="gptfast-old-a100-l2-70b-int4wo-g32", source=GPT_FAST_OLD, framework="gpt-fast (torch.compile)",
         arch="Llama-2-70B", model="hf:llama-70b", chip="a100-sxm-80gb", precision="int4 weight-only (group 32)",
         scheme="w4a16-g32", batch=1, prompt_len=5, output_len=200, metric="tok_s_seq", value=25.25, phase="decode",
         conversion=_GPT_FAST_CONV,
         conditions=f"{_GPT_FAST_OLD}; 1 GPU; '4-bit (G=32)' = quantize.py --mode int4 --groupsize 32"),
    _row(id="gptfast-old-a100-l2-70b-tp4", source=GPT_FAST_OLD, framework="gpt-fast (torch.compile)",
         arch="Llama-2-70B", model="hf:llama-70b", chip="a100-sxm-80gb", tp=4, precision="BF16", scheme="bf16",
         batch=1, prompt_len=5, output_len=200, metric="tok_s_seq", value=34.15, phase="decode",
         conversion=_GPT_FAST_CONV,
         conditions=f"{_GPT_FAST_OLD}; tensor parallel over 4 GPUs (this README's torchrun command has no "
                    "ENABLE_INTRA_NODE_COMM; interconnect not stated in this version)"),
    # ---------------------------------------------------- torchao README (earlier version), Llama-2-7B, batch 1, A100
    _row(id="torchao-old-a100-l2-7b-bf16", source=TORCHAO_OLD, framework="torchao generate.py (torch.compile)",
         arch="Llama-2-7B", model="hf:llama-7b", chip="a100-sxm-80gb", precision="BF16", scheme="bf16", batch=1,
         prompt_len=6, output_len=200, metric="tok_s_seq", value=105.02, phase="decode", conversion=_TAO_CONV,
         conditions=f"{_TAO}; 'Base (bfloat16)'"),
    _row(id="torchao-old-a100-l2-7b-int8wo", source=TORCHAO_OLD, framework="torchao generate.py (torch.compile)",
         arch="Llama-2-7B", model="hf:llama-7b", chip="a100-sxm-80gb", precision="int8 weight-only",
         scheme="w8a16", batch=1, prompt_len=6, output_len=200, metric="tok_s_seq", value=147.03, phase="decode",
         conversion=_TAO_CONV, conditions=f"{_TAO}; 'int8wo' (int8 weight-only, per-channel scales)"),
    _row(id="torchao-old-a100-l2-7b-int4wo64", source=TORCHAO_OLD, framework="torchao generate.py (torch.compile)",
         arch="Llama-2-7B", model="hf:llama-7b", chip="a100-sxm-80gb", precision="int4 weight-only (group 64)",
         scheme="w4a16-g64", batch=1, prompt_len=6, output_len=200, metric="tok_s_seq", value=199.81, phase="decode",
         conversion=_TAO_CONV,
         conditions=f"{_TAO}; 'int4wo-64' (int4 weight-only, group size 64, tinygemm _weight_int4pack_mm)"),
]
