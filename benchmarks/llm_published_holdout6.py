"""Sixth hold-out set of published LLM serving measurements: rows collected blind, never fitted to, never looked at
against perfgraph.

These rows were collected on 2026-12-04, before any prediction (perfgraph's or a peer's) was made on any of them;
none of them was used to set or tune anything in perfgraph.  Unlike the other sets, this one deliberately reuses a
source: it takes rows from the SAME three-table source, at the SAME commits, as the third set
(``llm_published_holdout3``) -- Argonne's LLM-Inference-Bench (Chitty-Venkata et al., arXiv 2411.00136), vLLM on
one node of 4x H100 80GB HBM3 (SXM) at ALCF's JLSE testbed, static batches of random-token prompts -- but only rows
that set did not take: the middle batch sizes 16 and 32 it left out, and Llama-2-70B, which was outside its model
rule.  No row here repeats a (source, figure, configuration) of ``llm_published.ROWS`` or
``llm_published_holdout{,2,3,4,5}.HOLDOUT{,2,3,4,5}_ROWS``.  The run conditions, conversion and FP8 reading are the
third set's (imported from it, not restated).

Every value is copied verbatim from the cited file; a value published in seconds is given here in ms by moving the
decimal point three places (no rounding).  Each row carries the same keys, with the same meaning, and uses the
same metrics and precision mapping as ``llm_published.ROWS`` (that module's docstring defines them); ids (prefix
``h6-``) do not clash with the other six sets.

Selection rules (fixed before any value of the tables was read; every qualifying row taken; where a configuration
appears more than once, its first occurrence in file order, as in the third set):

1. ``Plots/All_results.csv`` at commit 4de4e872: rows with Hardware ``Nvidia H100 GPU`` and Framework ``vLLM``;
   models Llama-2-7B, Llama-3-8B, Llama-3-70B and Mistral-7B-v0.1; ``Input Output Length`` 128 and 1024 (input =
   output length); ``Batch Size`` 16 and 32 (the batches the third set left out); TP 1 for the 7B/8B models and the
   smallest TP the file lists for Llama-3-70B (TP 4) (16 rows).
2. The same file: ``meta-llama/Llama-2-70b-hf`` vLLM H100 rows, lengths 128 and 1024, batch 1, 16, 32 and 64, at
   the smallest TP the file lists (TP 4) (8 rows; perfgraph model ``hf:llama-70b`` as published, no overrides).
3. ``Plots/Fig_3/A100_H100_quant_all_results.csv`` at commit 691ffaba: ``Nvidia H100 GPU`` vLLM rows whose
   weight/KV label maps to a scheme (``Weight = fp16, KV Cache = fp16`` -> bf16; ``Weight = fp8, KV Cache = fp8``
   -> int8), lengths 128 and 1024, batch 16 and 32 (8 rows, all Llama-3-8B, the only model the table has).

Every configuration the rules name is present in its file.  The whole of All_results.csv was read: the file lists
Llama-2-70B vLLM H100 rows at TP 4 only, and one configuration taken here appears twice -- Llama-2-7B, TP 1, length
1024, batch 32 recurs later in a block of single ``1024,32`` rows of many 7B models; the first occurrence is taken.

Left out before any prediction was made, as in the third set: A100 rows (ALCF Polaris' 40 GB A100 SXM4, not a chip
in the list), GH200, AMD, Intel, Gaudi2 and SN40L rows, llama.cpp, DeepSpeed-MII and TensorRT-LLM rows, Mixtral-8x7B
(no vLLM H100 row in All_results), Qwen2, DeciLM and the other models outside the rules, TP 2 and 4 rows of the
7B/8B models, lengths 256, 512 and 2048, and the quantisation table's ``Weight = fp16, KV Cache = fp8`` rows (no
scheme). ``Plots/Fig_21/all_results_TTFT.csv`` contributes nothing: the third set already holds every H100 vLLM row
of it. Chips: H100 SXM only.
"""

from __future__ import annotations

from llm_published import METRICS, PHASES  # noqa: F401  (the vocabulary of every set)
from llm_published_holdout3 import ALCF_BENCH, ALCF_QUANT, LLAMA3_70B, _FP8, _e2e  # one helper for both ALCF sets

_FP8_PREC = "FP8 weights and activations, FP8 KV cache"
_FP16_LABEL = "CSV label 'Weight = fp16, KV Cache = fp16'"

HOLDOUT6_ROWS: list[dict] = [
    # ---------------------------------------------------- rule 1: All_results.csv, vLLM on H100 SXM, fp16, b16/b32
    _e2e("h6-alcf-vllm-h100-l2-7b-b16-128", ALCF_BENCH, "Llama-2-7B", "hf:llama-7b", 1, 16, 128, 1135.2025307355993),
    _e2e("h6-alcf-vllm-h100-l2-7b-b32-128", ALCF_BENCH, "Llama-2-7B", "hf:llama-7b", 1, 32, 128, 1374.3209601331425),
    _e2e("h6-alcf-vllm-h100-l2-7b-b16-1024", ALCF_BENCH, "Llama-2-7B", "hf:llama-7b", 1, 16, 1024,
         13168.710388265511),
    _e2e("h6-alcf-vllm-h100-l2-7b-b32-1024", ALCF_BENCH, "Llama-2-7B", "hf:llama-7b", 1, 32, 1024,
         18988.406570702015),
    _e2e("h6-alcf-vllm-h100-l3-8b-b16-128", ALCF_BENCH, "Llama-3-8B", "hf:llama3-8b", 1, 16, 128, 1165.0919041333434),
    _e2e("h6-alcf-vllm-h100-l3-8b-b32-128", ALCF_BENCH, "Llama-3-8B", "hf:llama3-8b", 1, 32, 128, 1306.5569956999903),
    _e2e("h6-alcf-vllm-h100-l3-8b-b16-1024", ALCF_BENCH, "Llama-3-8B", "hf:llama3-8b", 1, 16, 1024,
         11024.687729899984),
    _e2e("h6-alcf-vllm-h100-l3-8b-b32-1024", ALCF_BENCH, "Llama-3-8B", "hf:llama3-8b", 1, 32, 1024,
         13056.67387020006),
    _e2e("h6-alcf-vllm-h100-l3-70b-tp4-b16-128", ALCF_BENCH, "Llama-3-70B", "hf:llama-70b", 4, 16, 128,
         2751.2880410000435, params=LLAMA3_70B),
    _e2e("h6-alcf-vllm-h100-l3-70b-tp4-b32-128", ALCF_BENCH, "Llama-3-70B", "hf:llama-70b", 4, 32, 128,
         3280.8148599666915, params=LLAMA3_70B),
    _e2e("h6-alcf-vllm-h100-l3-70b-tp4-b16-1024", ALCF_BENCH, "Llama-3-70B", "hf:llama-70b", 4, 16, 1024,
         24695.051089999954, params=LLAMA3_70B),
    _e2e("h6-alcf-vllm-h100-l3-70b-tp4-b32-1024", ALCF_BENCH, "Llama-3-70B", "hf:llama-70b", 4, 32, 1024,
         30235.00176669992, params=LLAMA3_70B),
    _e2e("h6-alcf-vllm-h100-mistral-7b-b16-128", ALCF_BENCH, "Mistral-7B", "hf:mistral-7b", 1, 16, 128,
         1124.1627269327485),
    _e2e("h6-alcf-vllm-h100-mistral-7b-b32-128", ALCF_BENCH, "Mistral-7B", "hf:mistral-7b", 1, 32, 128,
         1441.7426175331154),
    _e2e("h6-alcf-vllm-h100-mistral-7b-b16-1024", ALCF_BENCH, "Mistral-7B", "hf:mistral-7b", 1, 16, 1024,
         11292.688895500032),
    _e2e("h6-alcf-vllm-h100-mistral-7b-b32-1024", ALCF_BENCH, "Mistral-7B", "hf:mistral-7b", 1, 32, 1024,
         21967.821723632127),
    # ---------------------------------------------------- rule 2: All_results.csv, Llama-2-70B TP4, fp16, b1..b64
    _e2e("h6-alcf-vllm-h100-l2-70b-tp4-b1-128", ALCF_BENCH, "Llama-2-70B", "hf:llama-70b", 4, 1, 128,
         2370.26520420089),
    _e2e("h6-alcf-vllm-h100-l2-70b-tp4-b16-128", ALCF_BENCH, "Llama-2-70B", "hf:llama-70b", 4, 16, 128,
         2791.7186753669134),
    _e2e("h6-alcf-vllm-h100-l2-70b-tp4-b32-128", ALCF_BENCH, "Llama-2-70B", "hf:llama-70b", 4, 32, 128,
         3239.108285633847),
    _e2e("h6-alcf-vllm-h100-l2-70b-tp4-b64-128", ALCF_BENCH, "Llama-2-70B", "hf:llama-70b", 4, 64, 128,
         3758.1216053988706),
    _e2e("h6-alcf-vllm-h100-l2-70b-tp4-b1-1024", ALCF_BENCH, "Llama-2-70B", "hf:llama-70b", 4, 1, 1024,
         18918.47685233127),
    _e2e("h6-alcf-vllm-h100-l2-70b-tp4-b16-1024", ALCF_BENCH, "Llama-2-70B", "hf:llama-70b", 4, 16, 1024,
         23850.443689534828),
    _e2e("h6-alcf-vllm-h100-l2-70b-tp4-b32-1024", ALCF_BENCH, "Llama-2-70B", "hf:llama-70b", 4, 32, 1024,
         28854.511220098356),
    _e2e("h6-alcf-vllm-h100-l2-70b-tp4-b64-1024", ALCF_BENCH, "Llama-2-70B", "hf:llama-70b", 4, 64, 1024,
         35136.20936707108),
    # ---------------------------------------------------- rule 3: Fig_3 quantisation table, Llama-3-8B, b16/b32
    _e2e("h6-alcfq-vllm-h100-l3-8b-fp16-b16-128", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 16, 128,
         1188.4269518777728, note=_FP16_LABEL),
    _e2e("h6-alcfq-vllm-h100-l3-8b-fp16-b16-1024", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 16, 1024,
         11196.044038049877, note=_FP16_LABEL),
    _e2e("h6-alcfq-vllm-h100-l3-8b-fp16-b32-128", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 32, 128,
         1338.1856889463961, note=_FP16_LABEL),
    _e2e("h6-alcfq-vllm-h100-l3-8b-fp16-b32-1024", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 32, 1024,
         13557.515712920576, note=_FP16_LABEL),
    _e2e("h6-alcfq-vllm-h100-l3-8b-fp8-b16-128", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 16, 128,
         904.9272441770881, precision=_FP8_PREC, scheme="int8", note=_FP8),
    _e2e("h6-alcfq-vllm-h100-l3-8b-fp8-b16-1024", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 16, 1024,
         8905.026635853574, precision=_FP8_PREC, scheme="int8", note=_FP8),
    _e2e("h6-alcfq-vllm-h100-l3-8b-fp8-b32-128", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 32, 128,
         1052.3184430785477, precision=_FP8_PREC, scheme="int8", note=_FP8),
    _e2e("h6-alcfq-vllm-h100-l3-8b-fp8-b32-1024", ALCF_QUANT, "Llama-3-8B", "hf:llama3-8b", 1, 32, 1024,
         11112.242115894333, precision=_FP8_PREC, scheme="int8", note=_FP8),
]
