"""The mapping overlay: mapping results per (model, hardware, batch, precision), for both stores.

A model graph is traced at one batch (its id says which: ``resnet18:b8:3x224x224:fp32``), so an overlay
entry for batch B always hangs off the model traced at batch B: ``Overlay.add(mg, hw, precision)`` maps
``mg`` at ``mg.info.batch``.  Adding an entry with the same (model, hardware, batch, precision) replaces
the old one -- on the embedded store and on Neo4j alike.

**Embedded.**  `Overlay` is a plain structure: ``entries[(model_id, hardware_id, batch, precision)]`` is the
`ModelMapping` (which holds one `KernelMapping` per subgraph), ``hardware[id]`` the chips' specs, and
``models[model_id]`` the graphs.  The networkx twins of the overlay queries (`perfgraph.queries.named`)
read it.

**Neo4j** (`write_overlay` -> `Neo4jStore.write_overlay`, one managed transaction per entry)::

    (:Hardware {id, name, kind, vendor, units, unit_type, tdp_w, memory_bandwidth_bytes_per_s,
                memory_capacity_bytes, status, peak_fp32, peak_bf16, ...})            MERGEd by id
    (:Subgraph)-[:MAPPED_TO {batch, precision, latency_s, energy_j, utilization, units, bound,
                             compute_time_s, memory_time_s, overhead_s, padding_waste}]->(:Hardware)
    (:Model)-[:MAPPED_TO {batch, precision, latency_s, latency_concurrent_s, critical_path_s, energy_j,
                          energy_per_sample_j, throughput, throughput_concurrent, peak_memory_bytes,
                          fits_in_memory, utilization, flops, kernels, memory_bound_kernels}]->(:Hardware)

Nothing here imports torch or the Neo4j driver: the store is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from perfgraph.engine.model_mapping import ModelMapping, map_model
from perfgraph.graph import ModelGraph
from perfgraph.hardware.spec import HardwareSpec

Key = tuple[str, str, int, str]  # (model id, hardware id, batch, precision)


@dataclass
class Overlay:
    """Mapping results keyed by (model id, hardware id, batch, precision)."""

    entries: dict[Key, ModelMapping] = field(default_factory=dict)
    hardware: dict[str, HardwareSpec] = field(default_factory=dict)
    models: dict[str, ModelGraph] = field(default_factory=dict)

    def add(self, mg: ModelGraph, hw: HardwareSpec, precision: str) -> ModelMapping:
        """Map `mg` onto `hw` at `precision` (and at the batch `mg` was traced at); replaces an entry
        with the same key."""
        mm = map_model(mg, hw, precision)
        self.put(mg, hw, mm)
        return mm

    def put(self, mg: ModelGraph, hw: HardwareSpec, mm: ModelMapping) -> None:
        self.entries[key_of(mm)] = mm
        self.hardware[hw.id] = hw
        self.models[mg.info.id] = mg

    def get(self, model_id: str, hardware: str, batch: int, precision: str) -> ModelMapping:
        key = (model_id, hardware, int(batch), precision.lower())
        try:
            return self.entries[key]
        except KeyError:
            raise LookupError(
                f"no overlay for {model_id} on {hardware} at batch {batch}, {precision}; "
                f"map it first (perfgraph map / Overlay.add)") from None

    def select(self, model_id: str | None = None, hardware: Iterable[str] | None = None,
               batch: int | None = None, precision: str | None = None) -> list[tuple[Key, ModelMapping]]:
        """Entries matching the filters (None: any), sorted by (model, hardware, batch, precision)."""
        hw = set(hardware) if hardware is not None else None
        out = [(k, mm) for k, mm in self.entries.items()
               if (model_id is None or k[0] == model_id) and (hw is None or k[1] in hw)
               and (batch is None or k[2] == int(batch)) and (precision is None or k[3] == precision.lower())]
        return sorted(out, key=lambda kv: kv[0])

    def __iter__(self) -> Iterator[tuple[Key, ModelMapping]]:
        return iter(self.select())

    def __len__(self) -> int:
        return len(self.entries)


def key_of(mm: ModelMapping) -> Key:
    return (mm.model_id, mm.hardware_id, int(mm.batch), mm.precision.lower())


def build_overlay(graphs: Iterable[ModelGraph], chips: Iterable[HardwareSpec], precisions: Iterable[str]) -> Overlay:
    """Every graph on every chip at every precision (each graph at the batch it was traced at)."""
    ov = Overlay()
    chips = list(chips)
    precisions = list(precisions)
    for mg in graphs:
        for hw in chips:
            for p in precisions:
                ov.add(mg, hw, p)
    return ov


# -- rows for Neo4j -----------------------------------------------------------------------------------
def hardware_properties(hw: HardwareSpec) -> dict[str, Any]:
    """Flat properties of the (:Hardware) node: the spec's `to_properties()` plus the vector peaks and
    launch overhead the mapping used."""
    props = hw.to_properties()
    for p, v in hw.vector_flops.items():
        props[f"vector_{p}"] = float(v)
    props["launch_overhead_s"] = hw.launch_overhead_s
    props["static_w"] = hw.static_w
    return {k: v for k, v in props.items() if v is not None}


def subgraph_rows(mm: ModelMapping) -> list[dict[str, Any]]:
    """One row per kernel: the subgraph's uid (unique-constraint lookup) and the relationship's properties."""
    return [{"uid": k.subgraph_uid, "index": k.subgraph_index, "props": {**k.properties(), "batch": int(mm.batch)}}
            for k in sorted(mm.kernels, key=lambda k: k.subgraph_index)]


def model_row(mm: ModelMapping) -> dict[str, Any]:
    return dict(mm.properties())


def write_overlay(store, mm: ModelMapping, hw: HardwareSpec) -> dict[str, Any]:
    """Write one entry with `store.write_overlay` (one managed transaction; replaces the same key)."""
    return store.write_overlay(mm.model_id, hardware_properties(hw), int(mm.batch), mm.precision,
                               subgraph_rows(mm), model_row(mm))


# -- what the comparison table and the CLI print -------------------------------------------------------
def comparison_row(mm: ModelMapping, hw: HardwareSpec) -> dict[str, Any]:
    """One chip x batch row of `perfgraph analyze --hardware`."""
    kernels = len(mm.kernels)
    mem = mm.bound_counts.get("memory", 0)
    return {
        "hardware": hw.id, "kind": hw.kind, "batch": mm.batch, "precision": mm.precision,
        "precision_used": hw.resolve_precision(mm.precision),
        "latency_s": mm.latency_sequential_s, "latency_concurrent_s": mm.latency_concurrent_s,
        "critical_path_s": mm.latency_critical_path_s,
        "throughput_per_s": mm.throughput_per_s, "throughput_concurrent_per_s": mm.throughput_concurrent_per_s,
        "energy_per_inference_j": mm.energy_per_sample_j, "utilization": mm.achieved_fraction_of_peak,
        "peak_memory_bytes": mm.peak_memory_bytes, "fits_in_memory": mm.fits_in_memory,
        "kernels": kernels, "memory_bound_kernels": mem,
        "memory_bound_share": mem / kernels if kernels else 0.0,
        "bound_counts": dict(sorted(mm.bound_counts.items())),
    }
