"""Which source model a phase graph belongs to, read from its id (no torch, no store).

A phase graph of `llm.phase_graph` has its own model id, e.g.
``hf:gpt2:b8:1:bf16:cache=static:context=512:phase=decode``; its **source** is the model it was traced
from, named by the model and its config overrides only (``hf:gpt2``, or ``hf:llama:hidden_size=256:...``),
so the prefill and decode of one model at any batch and context share one source.  Both stores link them::

    (:Model {id: phase id})-[:PHASE_OF {phase, batch, context}]->(:Model {id: source id, name, stub: true})

`context` is the tokens the phase runs over: the cached tokens of a decode step, the prompt of a prefill.
The source node is a stub (`stub: true`, its name only) unless something stores more on it.
"""

from __future__ import annotations

from typing import Any

# Options a phase trace adds to the id (hf_phases.trace_phase); every other option is a config override.
PHASE_OPTIONS = ("phase", "context", "cache", "seq_len", "optimizer", "checkpointing")


def _options(info: Any) -> dict[str, str] | None:
    prefix = f"{info.name}:"
    if not str(info.id).startswith(prefix):
        return None
    parts = str(info.id)[len(prefix):].split(":")
    return dict(p.split("=", 1) for p in parts if "=" in p)


def phase_link(info: Any) -> dict[str, Any] | None:
    """{source, source_name, phase, batch, context} of a phase graph's `ModelInfo`, or None for any other."""
    opts = _options(info)
    if not opts or "phase" not in opts:
        return None
    phase = opts["phase"]
    tokens = opts.get("context") if phase == "decode" else opts.get("seq_len")
    overrides = [f"{k}={v}" for k, v in sorted(opts.items()) if k not in PHASE_OPTIONS]
    return {"source": ":".join([info.name, *overrides]), "source_name": info.name, "phase": phase,
            "batch": int(info.batch), "context": int(tokens) if tokens is not None else 0}
