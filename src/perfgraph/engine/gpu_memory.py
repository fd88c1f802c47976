"""GPU memory: the L2 -> SM path, exposed memory latency and L2 residency over the schedule.

Part of the GPU rule (`engine.gpu`); the tile and split-K helpers are in `engine.gpu_tiles`.

**Memory (`memory_model`).**  Every byte a kernel moves reaches the SMs through the L2, and each SM's
L1 <- L2 load path has a finite width, so a kernel on ``u`` SMs can move at most ``u x per_sm`` bytes/s,
``per_sm = l2_bytes_per_clk_per_sm x clock`` (from the chip spec: the L2 bandwidth measured or published
with every SM loading, divided by the SM count).  By Little's law the SM's path is what limits a
latency-bound stream, and DRAM bandwidth saturates with a fraction of the SMs, not all of them::

    dram_time    = dram_bytes / dram_bandwidth
    l2_sm_time   = (dram_bytes + l2_bytes) / min(l2_bandwidth, u x per_sm)     ("L2->SM" path)
    memory_time  = max(dram_time, l2_sm_time)

so an all-DRAM kernel sees ``min(dram_bandwidth, u x per_sm)``.  ``l2_bytes`` are the bytes the L2 serves
without touching DRAM: the split-K partial sums (written and read back at once) when they fit, and -- from
`l2_residency`, which `model_mapping.map_model` runs over the schedule -- activations written by a recent
kernel and still resident (LRU reuse distance within the L2 capacity), and outputs whose every consumer
finds them resident (absorbed by the write-back L2).  Weights and model inputs come from DRAM.  A kernel
mapped on its own (no schedule) is cold: everything but the split-K partials streams from DRAM.  A spec
without ``l2_bytes_per_clk_per_sm`` falls back to the old linear share (``bandwidth x SMs used / SMs``, no
L2 term and no residency).

**Exposed memory latency (`exposed_latency`).**  The roofline above is a steady-state rate; a short kernel
never reaches it.  Its first thread blocks cannot compute until their first operand tiles arrive (pipeline
fill: one load round trip), and the kernel is not finished until its last output tile has reached the L2
(drain: one store round trip); only the accesses in between overlap.  This is the latency-bandwidth
(Hockney) form ``time = latency + bytes / bandwidth``, applied once per launch::

    fill         = dram_latency   if the kernel reads anything from DRAM (weights, cold inputs)
                   l2_latency     if everything it reads is L2-resident
    drain        = l2_latency     (the write-back L2 acknowledges the store)
    exposed      = fill + drain   (+ l2_latency + l2_latency for a split-K reduction launch, which reads
                                   the partial sums -- dram_latency when they do not fit the L2 -- and
                                   writes the output)
    latency      = max(compute, memory) + exposed + launch overhead

``dram_latency_ns`` and ``l2_latency_ns`` come from the spec's ``compute_units.gpu`` (published
pointer-chasing measurements, each with its source: 405.5 ns / 149.6 ns on A100 80GB, te42kyfo/gpu-benches
``cuda-latency``); a spec without them gets no latency term.  The term is about 0.55 us on an A100: it
dominates a kernel of a few microseconds and vanishes next to a millisecond GEMM.  Little's law in steady
state (bandwidth <= bytes in flight / latency) is met by the GEMM tile pipeline -- 2 blocks x 3 stages x 8 KB
(int8, 128 x 32 + 32 x 128 tiles) = 48 KB in flight per SM sustains 48 KB / 405 ns = 118 GB/s, above
the A100's per-SM L2 -> SM path (35.5 B/clk x 1.41 GHz = 50 GB/s) -- so it adds no separate bound.
A kernel whose exposed latency is at least its compute and memory time is reported memory-bound
(it waits on memory latency).

"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

import networkx as nx

from perfgraph.engine.common import Residency, scaled_bytes
from perfgraph.graph import ModelGraph, Op, Subgraph
from perfgraph.hardware.spec import HardwareSpec, MemoryLevel


def per_sm_bandwidth(hw: HardwareSpec) -> float | None:
    """Bytes/s one SM can load through its L1 <- L2 path: ``l2_bytes_per_clk_per_sm x boost clock``
    (None when the spec does not give the per-SM figure)."""
    per_clk = hw.unit_details.get("l2_bytes_per_clk_per_sm")
    clock = hw.clock_boost_ghz or hw.clock_base_ghz
    if not per_clk or not clock:
        return None
    return float(per_clk) * float(clock) * 1e9


def memory_latency_s(hw: HardwareSpec, level: str) -> float:
    """Measured load latency of `level` ("dram" or "l2") in seconds, from the spec's ``compute_units.gpu``
    (``dram_latency_ns`` / ``l2_latency_ns``); 0.0 when the spec does not give it."""
    value = hw.unit_details.get({"dram": "dram_latency_ns", "l2": "l2_latency_ns"}[level])
    return float(value) * 1e-9 if value else 0.0


def exposed_latency(hw: HardwareSpec, dram_read_bytes: float, split_k: bool = False,
                    partials_in_l2: bool = True) -> dict[str, float]:
    """Memory latency a kernel cannot hide (module docstring, "Exposed memory latency"): the fill of its
    pipeline (first load from DRAM when it reads any DRAM bytes, else from the L2) and the drain of its last
    store into the L2; a split-K reduction launch adds its own fill (the partials: L2, or DRAM when they
    did not fit) and drain.  Returns the parts and their sum (``total_s``); all 0 when the spec gives no
    latencies."""
    dram, l2 = memory_latency_s(hw, "dram"), memory_latency_s(hw, "l2")
    parts = {"fill_s": dram if dram_read_bytes > 0 else l2, "drain_s": l2}
    if split_k:
        parts["reduction_s"] = (l2 if partials_in_l2 else dram) + l2
    parts["total_s"] = sum(parts.values())
    return parts


def last_level_cache(hw: HardwareSpec) -> MemoryLevel | None:
    """The chip-wide cache in front of main memory (the GPU's L2): the last shared, non-main level."""
    shared = [lv for lv in hw.memory if not lv.is_main and lv.scope == "shared" and lv.kind in ("cache", "sram")]
    return shared[-1] if shared else None


def l2_sm_bandwidth(hw: HardwareSpec, units: int) -> float | None:
    """Bandwidth of the L2 -> SM path for a kernel on `units` SMs: ``min(L2 bandwidth, units x per_sm)``
    (either term alone when the spec gives only one; None when it gives neither)."""
    per_sm = per_sm_bandwidth(hw)
    llc = last_level_cache(hw)
    l2_bw = llc.bandwidth_bytes_per_s if llc is not None else None
    terms = []
    if per_sm is not None:
        terms.append(max(int(units), 1) * per_sm)
    if l2_bw:
        terms.append(float(l2_bw) if per_sm is not None else float(l2_bw) * min(1.0, max(units, 1) / hw.unit_count))
    return min(terms) if terms else None


def memory_model(sg: Subgraph, ops: Sequence[Op], hw: HardwareSpec, precision: str, units: int,
                 residency: Residency | None, partial_bytes: float = 0.0,
                 partial_buffer_bytes: float = 0.0, panel_bytes: float = 0.0) -> dict[str, Any]:
    """Bytes per level, bandwidths and path times of one kernel (module docstring, "Memory").

    `partial_bytes`: split-K traffic (fp32 partial tiles written and read back); `partial_buffer_bytes`:
    the size of that buffer, which decides whether the L2 holds it.  `panel_bytes`: what a tiled GEMM's
    blocks load through the L2 -> SM path (`gpu_tiles.panel_traffic`), when more than its distinct bytes.
    ``exposed`` is the kernel's `exposed_latency` (fill from the level its reads come from, drain into the L2).
    """
    ext, scale = scaled_bytes(sg, ops, precision)
    main = hw.dram
    llc = last_level_cache(hw)
    reads = max(ext - float(sg.output_bytes) * scale, 0.0)  # inputs + weights, at the precision
    split = partial_bytes > 0
    if per_sm_bandwidth(hw) is None:  # legacy linear share: no per-SM figure, everything from DRAM
        bw = hw.dram_bandwidth * min(1.0, units / hw.unit_count)
        return {"bytes": {main.name: ext + partial_bytes}, "bandwidth": {main.name: bw}, "paths": {},
                "scale": scale, "l2_bytes": 0.0, "dram_bytes": ext + partial_bytes, "serving": main.name,
                "exposed": exposed_latency(hw, reads, split, partials_in_l2=False)}
    path_bw = float(l2_sm_bandwidth(hw, units))
    l2 = 0.0
    l2_reads = 0.0
    partials_in_l2 = False
    if llc is not None:
        if residency is not None:
            l2_reads = min(float(residency.input_bytes), float(sg.input_bytes)) * scale
            l2 += l2_reads
            if residency.output_resident:
                l2 += float(sg.output_bytes) * scale
        if partial_bytes and partial_buffer_bytes + ext <= llc.capacity_bytes:
            l2 += partial_bytes
            partials_in_l2 = True
    total = ext + partial_bytes
    l2 = min(l2, total)
    dram = total - l2
    bytes_by_level = {main.name: dram}
    bandwidth = {main.name: hw.dram_bandwidth}
    if l2 > 0 and llc is not None:
        bytes_by_level[llc.name] = l2
        bandwidth[llc.name] = path_bw
    path = f"{llc.name if llc is not None else 'L2'}->SM"
    return {"bytes": bytes_by_level, "bandwidth": bandwidth, "paths": {path: max(total, panel_bytes) / path_bw},
            "scale": scale, "l2_bytes": l2, "dram_bytes": dram, "path_bandwidth": path_bw,
            "serving": llc.name if (llc is not None and dram <= 0) else main.name,
            "exposed": exposed_latency(hw, max(reads - l2_reads, 0.0), split, partials_in_l2)}


def l2_residency(mg: ModelGraph, hw: HardwareSpec, scale: float = 1.0) -> dict[int, Residency]:
    """Which activation bytes each kernel finds in the L2, over the sequential schedule.

    Why: a GPU's L2 (40-50 MB on A100/H100/L4) holds the activations a kernel has just written, so at
    small batch the next kernel reads them from the L2, not DRAM.  Model: an LRU cache of whole tensors
    with the L2's capacity, walked in schedule order (topological, ties by subgraph index -- the order
    kernels are enqueued on one stream).  Per kernel:

    1. each producer -> kernel edge (``mg.subgraph_edges``, distinct bytes) is a hit when the producer's
       output is still in the cache (its LRU reuse distance plus its size fit the capacity); hits count
       toward ``Residency.input_bytes``;
    2. the kernel's inputs are touched (most recently used); its weights and the model inputs it reads
       are inserted cold (read from DRAM once per inference; they occupy the cache after that);
    3. its output is inserted; least recently used tensors are evicted until the total fits.

    A tensor larger than the cache is never resident (whole-tensor granularity: no partial hits).  A hit counts
    at most the bytes the producer wrote: an in-place update (a KV cache's ``index_copy_``) writes one slice of a
    buffer its consumer reads whole, and the rest of the buffer comes from DRAM.  An
    output is ``output_resident`` when it has consumers and every consumer hit it: the write-back L2
    absorbed the write (its lines were reused before eviction).  Model outputs go to DRAM.
    Sizes are traced bytes; `scale` (precision bytes / traced bytes) converts the capacity.
    Returns {} when the chip has no shared last-level cache.
    """
    llc = last_level_cache(hw)
    if llc is None or llc.capacity_bytes <= 0 or not mg.subgraphs:
        return {}
    capacity = float(llc.capacity_bytes) / max(float(scale), 1e-12)
    by_index = {sg.index: sg for sg in mg.subgraphs}
    g = nx.DiGraph()
    g.add_nodes_from(by_index)
    edges: dict[tuple[int, int], float] = {}
    for src, dst, nbytes in mg.subgraph_edges:
        if src in by_index and dst in by_index:
            edges[(src, dst)] = edges.get((src, dst), 0.0) + float(nbytes)
            g.add_edge(src, dst)
    preds: dict[int, list[tuple[int, float]]] = {n: [] for n in by_index}
    for (src, dst), nbytes in edges.items():
        preds[dst].append((src, nbytes))
    cache: OrderedDict[tuple[str, int], float] = OrderedDict()
    used = 0.0

    def insert(key: tuple[str, int], size: float) -> None:
        nonlocal used
        if key in cache:
            cache.move_to_end(key)
            return
        if size <= 0 or size > capacity:
            return
        cache[key] = size
        used += size
        while used > capacity:
            _, evicted = cache.popitem(last=False)
            used -= evicted

    hits: dict[int, float] = {}
    consumer_hit: dict[int, bool] = {}
    for n in nx.lexicographical_topological_sort(g, key=lambda x: x):
        sg = by_index[n]
        got = 0.0
        edge_in = 0.0
        for src, nbytes in sorted(preds[n]):
            edge_in += nbytes
            key = ("out", src)
            if key in cache:  # only what the producer wrote is resident (an in-place update writes a slice)
                got += min(nbytes, cache[key])
                cache.move_to_end(key)
                consumer_hit.setdefault(src, True)
            else:
                consumer_hit[src] = False
        hits[n] = min(got, float(sg.input_bytes))
        insert(("w", n), float(sg.weight_bytes))
        insert(("x", n), max(float(sg.input_bytes) - edge_in, 0.0))
        insert(("out", n), float(sg.output_bytes))
    return {n: Residency(input_bytes=hits.get(n, 0.0), output_resident=bool(consumer_hit.get(n, False)))
            for n in by_index}
