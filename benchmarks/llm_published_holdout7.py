"""Seventh hold-out set of published LLM serving measurements: rows collected blind, never fitted to, never looked at
against perfgraph.

These rows were collected on 2026-12-04, before any prediction (perfgraph's or a peer's) was made on any of them;
none of them was used to set or tune anything in perfgraph.  The source is the SAME page as the development set's
two ``nim-*`` rows (NVIDIA NIM LLMs Benchmarking, 'Performance', docs version 1.0.0), but only figures the
development set did not take.  Every value is copied verbatim from the stored copy of that page (its Markdown
rendering, ``performance.md`` / ``performance/llms.txt``); the page gives TTFT and ITL in ms, so no unit is
converted.  Each row carries the same keys, with the same meaning, and uses the same metrics and precision mapping
as ``llm_published.ROWS`` (that module's docstring defines them); ids (prefix ``h7-``) do not clash with the other
sets.

Selection rule (fixed before any value was read): every concurrency-1 row (one request in flight = batch 1) of the
page for Llama-3.1-8B-Instruct, Llama-3.1-70B-Instruct and any other model perfgraph can express, whose GPU, GPU
count, precision and input / output lengths are stated; both metrics the page gives per row (ITL -> ``tpot_ms``,
TTFT -> ``ttft_ms``), prompt = the input length, output_len = the output length; figures the development set
already holds and anything at concurrency > 1 left out.  Chips: "H100" / "H100 80G" without form factor taken as
H100 SXM (as the development set did); A100 80GB only if SXM is shown; H100 NVL / PCIe, L40S, GH200 skipped.
Precision: fp8 -> ``int8``; bf16 / fp16 -> ``bf16``; ``tp`` = the GPU count of the row.

What the stored page allows: only its Llama-3.3-70B-Instruct, NIM 1.8.0 section (2 x H100 80G, fp8 TP2) states
GPU, precision and lengths for its tables: the stored Markdown is cut off inside that section (after the first
rows of the 500-in / 2000-out table), and the stored HTML rendering, which does reach the later sections, shows
one table per NIM version with its tab labels (GPU, precision, lengths) stripped.  So the set holds the two
concurrency-1 figures of that section the development set did not take: the TTFT of the 500 / 2000 row (the
development set took its ITL) and the ITL of the 5000 / 500 row (the development set took its TTFT).  They come
from the same two client runs as the development set's rows, so they are not independent of them.

Left out before any prediction was made: Llama-3.1-8B-Instruct (NIM 1.8.0 and 1.3.0), Llama-3.1-70B-Instruct (NIM
1.3.0) and Llama-3.3-70B-Instruct (NIM 1.5.0) -- their concurrency-1 rows are readable only in the HTML rendering,
which does not state the GPU, GPU count, precision or input / output lengths of the table shown (and shows only one
of each version's tables), so they fail the rule; any further tables of the 1.8.0 Llama-3.3-70B section past the
point where the stored Markdown is cut off (not readable); the two figures the development set holds; every row at
concurrency > 1.
"""

from __future__ import annotations

from llm_published import METRICS, PHASES, _row  # noqa: F401  (one row helper and vocabulary for all sets)

# ---- sources ------------------------------------------------------------------------------------------------
NIM = ("https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance",
       "NVIDIA NIM LLMs Benchmarking, 'Performance' (Llama-3.3-70b-instruct, NIM 1.8.0; Markdown rendering at "
       "performance.md)")

# Llama-3.3-70B = Llama-2-70B shapes with the 128,256-token vocabulary, as llm_published.LLAMA33_70B.
LLAMA33_70B = {"vocab_size": "128256", "max_position_embeddings": "131072"}

_NIM = ("NIM 1.8.0 container (Llama-3.3-70b-Instruct), 2 x H100 80G, fp8 TP2, AIPerf client (the page's benchmark "
        "process) at concurrency 1 (one request in flight); H100 form factor not stated on the page (taken as "
        "SXM); KV-cache precision, engine profile and number of requests not stated; Llama-3.3-70B-Instruct "
        "(Llama-3-70B shapes); same client run as a development-set row")


def _nim(id, metric, prompt_len, output_len, value):
    """One concurrency-1 figure of the 1.8.0 Llama-3.3-70B section: `value` as published, in ms."""
    ttft = metric == "ttft_ms"
    return _row(id=id, source=NIM, framework="NVIDIA NIM 1.8.0", arch="Llama-3-70B", model="hf:llama-70b",
                params=LLAMA33_70B, chip="h100-sxm", tp=2, precision="FP8", scheme="int8", batch=1,
                prompt_len=prompt_len, output_len=output_len, metric=metric, value=value,
                phase="prefill" if ttft else "decode",
                conversion=("published TTFT (ms) as is (client side: includes the HTTP round trip)" if ttft
                            else "published ITL (ms, mean inter-token latency after the first token) as is"),
                conditions=f"{_NIM}; {prompt_len} input / {output_len} output tokens")


HOLDOUT7_ROWS: list[dict] = [
    # ---------------------------------------------------- NIM 1.8.0, Llama-3.3-70B on 2 x H100, fp8, concurrency 1
    _nim("h7-nim180-h100-l33-70b-tp2-fp8-ttft-500", "ttft_ms", 500, 2000, 47.77),
    _nim("h7-nim180-h100-l33-70b-tp2-fp8-itl-5000", "tpot_ms", 5000, 500, 18.58),
]
