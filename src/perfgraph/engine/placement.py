"""On-chip capacity: where a model's weights and activations live on a chip that runs from on-chip memory.

Chips with a software-managed on-chip store (the Edge TPU's ~8 MB parameter SRAM, the KPU's distributed
L3 scratchpads, the TPU v4's CMEM) keep what fits on chip from one inference to the next and stream the
rest from their main memory level -- for the Edge TPU that is host memory over its PCIe link -- every
inference.  `place_model` decides, once per model:

    store        = the chip's on-chip store: the last non-main level of kind ``sram`` (per-unit levels
                   count every unit); TPU and KPU only -- GPUs and CPUs have hardware-managed caches,
                   modelled per kernel (`engine.gpu.l2_residency`, `common.serving_level`)
    activations  = the peak live activation footprint (`model_mapping.peak_memory`) stays on chip when it
                   fits the store (the compute reads them there); otherwise every activation byte spills
                   to the main level, each kernel reading and writing its activations there
    weights      = cached in schedule order (topological, ties by subgraph index) in what the activations
                   leave free; a kernel's weights are cached whole, in part, or not at all
                   (the Edge TPU compiler's "parameter data caching" fills the SRAM the same way)
    model inputs and outputs always cross the main level (the host sends the input and reads the result)

Per kernel (`KernelPlacement`, used by the TPU and KPU rules through `placed_bytes`)::

    main bytes   = uncached weights + (model inputs read + model output written, or every activation byte
                   when the activations spill)
    on-chip      = the rest of the kernel's external bytes

Costs: main bytes at the main level's bandwidth and energy (the Edge TPU's link: 500 MB/s, sourced in its
YAML); on-chip bytes at the store's bandwidth.  A store whose bandwidth is not published (KPU L3, TPU v4
CMEM) is assumed no faster than main memory: its bytes share the main level's bandwidth (a path time, so
the kernel's time is what it was when everything streamed), and a store without an energy per byte uses
the main level's.  Both assumptions are recorded in the kernel's details.

``fits_on_chip``: weights + peak activations <= the store's capacity (None for a chip without a store).
``streamed_bytes``: bytes the main level serves per forward pass (the sum over kernels).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from perfgraph.graph import ModelGraph, Subgraph
from perfgraph.hardware.spec import HardwareSpec, MemoryLevel

PLACEMENT_KINDS = ("TPU", "KPU")


@dataclass(frozen=True)
class KernelPlacement:
    """Where one kernel's bytes live (traced bytes; the rules rescale them to the precision)."""

    weights_onchip_fraction: float = 1.0
    activations_onchip: bool = True
    model_input_bytes: float = 0.0
    writes_model_output: bool = False


@dataclass
class Placement:
    """One model on one chip: the on-chip store, what it holds and what streams (bytes at the precision)."""

    store: str | None
    store_capacity_bytes: float
    stream_level: str
    weights_bytes: float
    peak_activation_bytes: float
    weights_onchip_bytes: float
    activations_onchip: bool
    fits_on_chip: bool | None
    streamed_bytes: float = 0.0  # filled in from the kernels by `streamed_bytes`
    kernels: dict[int, KernelPlacement] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("kernels")
        return d


def onchip_store(hw: HardwareSpec) -> tuple[MemoryLevel, float] | None:
    """The chip's software-managed on-chip store and its total capacity (None for GPUs/CPUs, or a chip
    whose spec lists no on-chip SRAM)."""
    if hw.kind not in PLACEMENT_KINDS:
        return None
    srams = [lv for lv in hw.memory if not lv.is_main and lv.kind == "sram"]
    if not srams:
        return None
    lv = srams[-1]
    return lv, lv.capacity_bytes * (hw.unit_count if lv.scope == "per_unit" else 1)


def _schedule(mg: ModelGraph) -> list[int]:
    g = nx.DiGraph()
    g.add_nodes_from(sg.index for sg in mg.subgraphs)
    g.add_edges_from((s, d) for s, d, _ in mg.subgraph_edges if s != d)
    return list(nx.lexicographical_topological_sort(g, key=lambda n: n))


def _edge_io(mg: ModelGraph) -> tuple[dict[int, float], set[int]]:
    """Bytes each kernel reads from other kernels, and the kernels whose output some kernel reads."""
    edge_in: dict[int, float] = {}
    producers: set[int] = set()
    for src, dst, nbytes in mg.subgraph_edges:
        if src != dst:
            edge_in[dst] = edge_in.get(dst, 0.0) + float(nbytes)
            producers.add(src)
    return edge_in, producers


def place_model(mg: ModelGraph, hw: HardwareSpec, weights: float, peak_activations: float,
                scale: float = 1.0) -> Placement:
    """Decide what stays on chip (module docstring).  `weights` and `peak_activations` are at the
    precision (`model_mapping.peak_memory`); `scale` converts traced bytes to it."""
    found = onchip_store(hw)
    main = hw.dram
    if found is None:
        return Placement(store=None, store_capacity_bytes=0.0, stream_level=main.name, weights_bytes=weights,
                         peak_activation_bytes=peak_activations, weights_onchip_bytes=0.0,
                         activations_onchip=False, fits_on_chip=None)
    store, capacity = found
    acts_fit = peak_activations <= capacity
    budget = capacity - peak_activations if acts_fit else 0.0
    edge_in, producers = _edge_io(mg)
    by_index = {sg.index: sg for sg in mg.subgraphs}
    kernels: dict[int, KernelPlacement] = {}
    cached = 0.0
    for n in _schedule(mg):
        sg = by_index[n]
        w = float(sg.weight_bytes) * scale
        take = min(w, max(budget - cached, 0.0))
        cached += take
        kernels[n] = KernelPlacement(
            weights_onchip_fraction=take / w if w > 0 else 1.0, activations_onchip=acts_fit,
            model_input_bytes=max(float(sg.input_bytes) - edge_in.get(n, 0.0), 0.0),
            writes_model_output=n not in producers)
    return Placement(store=store.name, store_capacity_bytes=capacity, stream_level=main.name,
                     weights_bytes=weights, peak_activation_bytes=peak_activations, weights_onchip_bytes=cached,
                     activations_onchip=acts_fit, fits_on_chip=weights + peak_activations <= capacity,
                     kernels=kernels)


def placed_bytes(sg: Subgraph, scale: float, p: KernelPlacement) -> tuple[float, float]:
    """(main-level bytes, on-chip bytes) of one kernel at the precision (module docstring)."""
    ext = float(sg.external_bytes) * scale
    main = float(sg.weight_bytes) * scale * (1.0 - p.weights_onchip_fraction)
    if p.activations_onchip:
        main += p.model_input_bytes * scale + (float(sg.output_bytes) * scale if p.writes_model_output else 0.0)
    else:
        main += (float(sg.input_bytes) + float(sg.output_bytes)) * scale
    main = min(main, ext)
    return main, ext - main


def placed_memory(hw: HardwareSpec, sg: Subgraph, scale: float, p: KernelPlacement) -> dict[str, Any]:
    """Bytes, bandwidths, path times and energy overrides for `common.finish` of a placed kernel."""
    store, _ = onchip_store(hw)
    main = hw.dram
    main_b, chip_b = placed_bytes(sg, scale, p)
    main_bw = float(main.bandwidth_bytes_per_s or 0.0)
    out: dict[str, Any] = {"bytes": {main.name: main_b}, "bandwidth": {main.name: main_bw}, "paths": {},
                           "pj": {}, "assumptions": [], "main_bytes": main_b, "onchip_bytes": chip_b,
                           "serving": store.name if main_b <= 0 else main.name}
    if chip_b <= 0:
        return out
    out["bytes"][store.name] = chip_b
    if store.bandwidth_bytes_per_s:
        out["bandwidth"][store.name] = float(store.bandwidth_bytes_per_s)
    else:
        out["paths"][f"{store.name}+{main.name}"] = (chip_b + main_b) / main_bw if main_bw else 0.0
        out["assumptions"].append(f"{store.name} bandwidth not published: assumed no faster than {main.name}")
    if not store.energy_pj_per_byte:
        out["pj"][store.name] = hw.pj_per_byte(main)
        out["assumptions"].append(f"{store.name} energy per byte not published: {main.name}'s used")
    return out


def streamed_bytes(kernels, stream_level: str) -> float:
    """Bytes the main level serves per forward pass: the sum over the mapped kernels (`common.finish`
    records each kernel's bytes per level)."""
    return float(sum(k.details.get("level_bytes", {}).get(stream_level, 0.0) for k in kernels))


def scratchpad_memory(sg: Subgraph, ops, hw: HardwareSpec, precision: str,
                      placement: KernelPlacement | None) -> dict[str, Any]:
    """The memory side of a TPU / KPU kernel: placed by `place_model` when the schedule gave a placement
    and the chip has a store; otherwise the single-kernel view, served by the fastest level with a known
    bandwidth that holds the working set (`common.serving_level`)."""
    from perfgraph.engine.common import scaled_bytes, serving_level

    ws, scale = scaled_bytes(sg, ops, precision)
    if placement is not None and onchip_store(hw) is not None:
        out = placed_memory(hw, sg, scale, placement)
        out["scale"] = scale
        return out
    level, bw = serving_level(hw, ws, 1.0)
    return {"bytes": {level.name: ws}, "bandwidth": {level.name: bw}, "paths": {}, "pj": {}, "assumptions": [],
            "serving": level.name, "scale": scale}


def memory_details(mem: dict[str, Any]) -> dict[str, Any]:
    """The memory entries a TPU / KPU kernel records in its details."""
    d = {"serving_level": mem["serving"], "bytes_scale": mem["scale"]}
    if "main_bytes" in mem:
        d.update(main_bytes=mem["main_bytes"], onchip_bytes=mem["onchip_bytes"])
    if mem["assumptions"]:
        d["assumptions"] = list(mem["assumptions"])
    return d
