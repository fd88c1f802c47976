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
    (:Model)-[:MAPPED_TO {the scalar fields of engine.mapping_row.MappingRow: batch, precision, runtime,
                          tier, expected_error, latency_s, latency_concurrent_s, latency_critical_path_s,
                          throughput_per_s, throughput_concurrent_per_s, energy_per_batch_j,
                          energy_per_inference_j, utilization, peak_memory_bytes, fits_in_memory, flops,
                          kernels, memory_bound_kernels, bound_by}]->(:Hardware)

Nothing here imports torch or the Neo4j driver: the store is passed in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from perfgraph.engine.common import KernelMapping
from perfgraph.engine.mapping_row import MappingRow
from perfgraph.engine.model_mapping import ModelMapping, map_model
from perfgraph.graph import ModelGraph
from perfgraph.hardware.spec import HardwareSpec

Key = tuple[str, str, int, str]  # (model id, hardware id, batch, precision)


@dataclass
class Overlay:
    """Mapping results keyed by (model id, hardware id, batch, precision), all under one runtime."""

    entries: dict[Key, ModelMapping] = field(default_factory=dict)
    hardware: dict[str, HardwareSpec] = field(default_factory=dict)
    models: dict[str, ModelGraph] = field(default_factory=dict)
    runtime: str = "compiled"  # engine.runtime: what every entry is mapped under (TPU/KPU: always compiled)
    rules: Any = None  # engine.runtime.PrecisionRules (None: PyTorch's defaults)

    def add(self, mg: ModelGraph, hw: HardwareSpec, precision: str) -> ModelMapping:
        """Map `mg` onto `hw` at `precision` (and at the batch `mg` was traced at) under the overlay's
        runtime; replaces an entry with the same key."""
        mm = map_model(mg, hw, precision, runtime=self.runtime, rules=self.rules)
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
    """One row per stored (fused) kernel: the subgraph's uid and the relationship's properties.  An eager
    mapping has one kernel per op; its kernels are summed onto the fused kernel that holds their op
    (`overlay_kernels`), so the overlay hangs off the subgraphs the store has."""
    extra = {"batch": int(mm.batch), "runtime": mm.runtime, "tier": mm.tier}
    return [{"uid": k.subgraph_uid, "index": k.subgraph_index, "props": {**k.properties(), **extra}}
            for k in sorted(overlay_kernels(mm), key=lambda k: k.subgraph_index)]


def overlay_kernels(mm: ModelMapping) -> list[KernelMapping]:
    """The kernels of `mm` per stored (fused) subgraph.  For eager mappings, each fused subgraph gets the
    sum of its ops' shares of the eager timeline (latency), energies and times; its bound is the bound
    that took the most of that time."""
    if not mm.fused_subgraph_of:
        return list(mm.kernels)
    groups: dict[int, list[KernelMapping]] = {}
    for k in mm.kernels:
        groups.setdefault(mm.fused_subgraph_of.get(k.subgraph_index, -1), []).append(k)
    prefix = mm.kernels[0].subgraph_uid.rsplit("/sg", 1)[0] if mm.kernels else mm.model_id
    out = []
    for index, ks in sorted(groups.items()):
        if index < 0:
            continue
        share = [float(k.details.get("timeline_s", k.latency_s)) for k in ks]
        by_bound: dict[str, float] = {}
        for k, t in zip(ks, share):
            by_bound[k.bound] = by_bound.get(k.bound, 0.0) + t
        out.append(dataclasses.replace(
            ks[0], subgraph_index=index, subgraph_uid=f"{prefix}/sg{index}", flops=sum(k.flops for k in ks),
            bytes=sum(k.bytes for k in ks), units_allocated=max(k.units_allocated for k in ks),
            utilization=max(k.utilization for k in ks), compute_time_s=sum(k.compute_time_s for k in ks),
            compute_time_effective_s=sum(k.compute_time_effective_s for k in ks),
            memory_time_s={"total": sum(k.memory_time_max_s for k in ks)},
            overhead_s=sum(k.overhead_s for k in ks), latency_s=sum(share),
            energy_j=sum(k.energy_j for k in ks), energy_compute_j=sum(k.energy_compute_j for k in ks),
            energy_memory_j=sum(k.energy_memory_j for k in ks), energy_static_j=sum(k.energy_static_j for k in ks),
            bound=max(by_bound, key=lambda b: (by_bound[b], b)), details={"eager_kernels": len(ks)}))
    return out


def model_row(mm: ModelMapping, hw: HardwareSpec) -> dict[str, Any]:
    """The model-level relationship's properties: the `MappingRow` vocabulary, scalars only, no nulls."""
    return MappingRow.of(mm, hw).neo4j_properties()


def write_overlay(store, mm: ModelMapping, hw: HardwareSpec) -> dict[str, Any]:
    """Write one entry with `store.write_overlay` (one managed transaction; replaces the same key)."""
    return store.write_overlay(mm.model_id, hardware_properties(hw), int(mm.batch), mm.precision,
                               subgraph_rows(mm), model_row(mm, hw), runtime=mm.runtime)
