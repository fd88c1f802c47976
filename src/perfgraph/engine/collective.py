"""Collectives over the chip-to-chip link (`interconnect:` in the chip YAML): the time of one communication
kernel of a tensor- or pipeline-parallel graph (`perfgraph.llm_parallel`).

With ``bw`` the link's bandwidth per direction per chip, ``a`` its latency per ring step, ``a0`` the fixed
latency of one collective call, ``N`` the chips in the group and ``B`` the bytes of the full tensor (what
every chip holds afterwards)::

    all_reduce  (ring: reduce-scatter + all-gather)   2 (N-1)/N x B / bw + a0 + 2 (N-1) x a
    all_gather  (ring)                                  (N-1)/N x B / bw + a0 +   (N-1) x a
    send        (point to point, pipeline stages)              B / bw + a0 +           a

(Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms for clusters of workstations", JPDC 2009.)  The
latency terms are NCCL's own cost model (src/graph/tuning.cc: ``baseLat + nsteps x hwLat`` for a ring, the
low-latency LL protocol NCCL picks for the small messages of decode); the chip YAML cites the NCCL release its
two numbers come from.  The bandwidth term uses the link's full bandwidth (NCCL's LL128 / Simple protocols,
which large messages use, have a larger base latency: so mid-size messages come out slightly optimistic).
The kernel's compute is 0 FLOPs; the link energy is not modelled (no sourced pJ per byte), so a collective
costs static power only, and says so.
"""

from __future__ import annotations

from typing import Sequence

from perfgraph.engine.common import KernelMapping, finish
from perfgraph.graph import Op, Subgraph
from perfgraph.hardware.spec import HardwareSpec, Interconnect

KINDS = ("all_reduce", "all_gather", "send")
LEVEL = "interconnect"


def latency_s(steps: int, link: Interconnect) -> float:
    """The latency terms of one collective call of `steps` ring steps: a0 + steps x a; 0 without a step."""
    return link.base_latency_s + steps * link.latency_s if steps else 0.0


def all_reduce_s(nbytes: float, chips: int, link: Interconnect) -> float:
    """Ring all-reduce of `nbytes` over `chips` chips (module docstring); 0 for one chip."""
    n = int(chips)
    if n <= 1:
        return 0.0
    return 2 * (n - 1) / n * nbytes / link.bandwidth_bytes_per_s + latency_s(2 * (n - 1), link)


def all_gather_s(nbytes: float, chips: int, link: Interconnect) -> float:
    """Ring all-gather ending with `nbytes` on every chip; 0 for one chip."""
    n = int(chips)
    if n <= 1:
        return 0.0
    return (n - 1) / n * nbytes / link.bandwidth_bytes_per_s + latency_s(n - 1, link)


def send_s(nbytes: float, link: Interconnect) -> float:
    """One point-to-point transfer of `nbytes` (a pipeline stage handing its activations on)."""
    return nbytes / link.bandwidth_bytes_per_s + latency_s(1, link)


def collective_kind(op: Op) -> str:
    """'all_reduce' | 'all_gather' | 'send' from the op's target (c10d.<kind>.default)."""
    parts = op.target.split(".")
    kind = parts[1] if len(parts) >= 2 else op.target
    if kind not in KINDS:
        raise ValueError(f"unknown collective {op.target!r}; known: {', '.join(KINDS)}")
    return kind


def link_bytes_and_steps(kind: str, nbytes: float, chips: int) -> tuple[float, int]:
    """(bytes each chip sends over the link, latency steps) of one collective."""
    n = max(int(chips), 1)
    if kind == "send":
        return float(nbytes), 1
    if n == 1:
        return 0.0, 0
    if kind == "all_reduce":
        return 2 * (n - 1) / n * nbytes, 2 * (n - 1)
    return (n - 1) / n * nbytes, n - 1


def map_collective(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str,
                   precision_used: str) -> KernelMapping:
    """A communication kernel on `hw`'s interconnect: its time by the formulas above, plus one launch."""
    link = hw.interconnect
    if link is None:
        raise ValueError(f"{hw.id} has no interconnect in its chip YAML: tensor / pipeline parallelism needs "
                         "one (`interconnect: {name, bandwidth_bytes_per_s, latency_s, source}`)")
    comm = [op for op in ops if op.kind == "collective"]
    if len(comm) != 1:
        raise ValueError(f"collective kernel {sg.uid} holds {len(comm)} collective ops (expected 1)")
    op = comm[0]
    kind = collective_kind(op)
    sent, steps = link_bytes_and_steps(kind, op.bytes_written, op.groups)
    km = finish(
        sg=sg, hw=hw, precision=precision, precision_used=precision_used, kernel="collective", flops=0,
        bytes_by_level={}, bandwidth_by_level={}, path_times_s={LEVEL: sent / link.bandwidth_bytes_per_s},
        units_allocated=0, utilization=0.0, overhead_s=hw.launch_overhead_s, peak=hw.peak(precision_used),
        latency_exposed_s=latency_s(steps, link),
        details={"rule": "collective", "collective": kind, "chips": int(op.groups), "link": link.name,
                 "message_bytes": float(op.bytes_written), "link_bytes": sent, "latency_steps": steps,
                 "base_latency_s": link.base_latency_s if steps else 0.0,
                 "note": "link energy not modelled (no sourced pJ/byte): static power only"},
    )
    km.bound = "interconnect"
    km.bytes = sent  # over the link, not through a memory level (hence no memory energy)
    km.details["level_bytes"] = {LEVEL: sent}
    return km
