"""The Python API: `perfgraph.analyze(...)` does what `perfgraph analyze` does and returns a `Report`.

    import perfgraph

    r = perfgraph.analyze("resnet18", batch=8, hardware=["h100-sxm", "tpu-v4"])
    r.summary()             # the dict `perfgraph analyze --json` prints
    r.to_dataframe()        # one row per subgraph (kernel), with latency/bound columns per chip
    r.ops_dataframe()       # one row per ATen op
    r.mapping("h100-sxm")   # engine.model_mapping.ModelMapping: latencies, energy, memory, per-kernel mappings
    r.graph                 # the ModelGraph (ops, subgraphs, edges)

    import torch.nn as nn
    net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 30 * 30, 10))
    perfgraph.analyze(net, input_shape=(1, 3, 32, 32))   # an nn.Module instance: input_shape is required

An `nn.Module` instance is never modified. The meta tracer (tried first, as for named models) runs on a
copy whose parameters and buffers are meta tensors: no data is copied and nothing is computed, so a model
of any size is fine. If the forward pass needs real values (data-dependent control flow), the real tracer
runs the module itself on CPU under `no_grad` (a deep copy when `dtype` differs from the module's), and
the module's train/eval flags are restored afterwards. Parameters on a GPU work with the meta tracer only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from perfgraph.graph import ModelGraph

if TYPE_CHECKING:  # pandas and torch are imported only when used
    import pandas as pd
    import torch

    from perfgraph.engine.model_mapping import ModelMapping
    from perfgraph.hardware.spec import HardwareSpec
    from perfgraph.pipeline import MappingRow, ModelSpec

__all__ = ["analyze", "Report"]


@dataclass
class Report:
    """One analysed model, optionally mapped onto chips. Built by `perfgraph.analyze`."""

    graph: ModelGraph
    precision: str
    mappings: dict[str, "ModelMapping"] = field(default_factory=dict)  # chip id -> mapping, in request order
    hardware: dict[str, "HardwareSpec"] = field(default_factory=dict, repr=False)

    # -- plain data -------------------------------------------------------------------------------------
    def summary(self, top: int = 5) -> dict[str, Any]:
        """The model's cost summary: exactly the dict `perfgraph analyze --json` prints."""
        from perfgraph.pipeline import summarize

        return summarize(self.graph, top=top)

    def rows(self) -> list["MappingRow"]:
        """One `pipeline.MappingRow` per chip, in request order: the rows `analyze --hardware --json` prints."""
        from perfgraph.pipeline import MappingRow

        return [MappingRow.of(m, self.hardware[chip], self.graph) for chip, m in self.mappings.items()]

    def hardware_summary(self) -> dict[str, dict[str, Any]]:
        """Per chip: its `MappingRow` as a dict (latencies, throughput, energy, memory, runtime, tier), plus
        the chip's `name`."""
        return {r.hardware: {**r.as_dict(), "name": self.hardware[r.hardware].name} for r in self.rows()}

    def mapping(self, chip: str) -> "ModelMapping":
        """The mapping onto one of the requested chips (by id, alias or name)."""
        if chip in self.mappings:
            return self.mappings[chip]
        from perfgraph.hardware.registry import get

        hw_id = get(chip).id
        if hw_id in self.mappings:
            return self.mappings[hw_id]
        raise LookupError(f"{chip!r} was not among the chips of this report ({', '.join(self.mappings) or 'none'})")

    @property
    def model_id(self) -> str:
        return self.graph.info.id

    # -- tables -----------------------------------------------------------------------------------------
    def subgraph_rows(self) -> list[dict[str, Any]]:
        """One dict per subgraph (kernel), plus `<chip>:latency_s`, `<chip>:bound`, `<chip>:utilization`
        for every mapped chip. What `to_dataframe` is built from (no pandas needed)."""
        rows = []
        from perfgraph.engine.overlay import overlay_kernels

        kernels = {chip: {k.subgraph_index: k for k in overlay_kernels(m)} for chip, m in self.mappings.items()}
        for sg in self.graph.subgraphs:
            row: dict[str, Any] = {
                "index": sg.index, "uid": sg.uid, "pattern": sg.pattern, "anchor_kind": sg.anchor_kind,
                "stage": sg.stage, "on_critical_path": sg.on_critical_path, "ops": len(sg.op_indices),
                "macs": sg.macs, "flops": sg.flops, "external_bytes": sg.external_bytes,
                "input_bytes": sg.input_bytes, "output_bytes": sg.output_bytes, "weight_bytes": sg.weight_bytes,
                "intensity": sg.intensity, "parallelism_batch": sg.parallelism_batch,
                "parallelism_channels": sg.parallelism_channels, "parallelism_spatial": sg.parallelism_spatial,
                "uncosted_ops": sg.uncosted_ops,
            }
            for chip, by_index in kernels.items():
                k = by_index.get(sg.index)
                row[f"{chip}:latency_s"] = k.latency_s if k else None
                row[f"{chip}:bound"] = k.bound if k else None
                row[f"{chip}:utilization"] = k.utilization if k else None
            rows.append(row)
        return rows

    def to_dataframe(self) -> "pd.DataFrame":
        """Subgraphs (kernels) as a pandas DataFrame indexed by subgraph index."""
        import pandas as pd

        return pd.DataFrame(self.subgraph_rows()).set_index("index", drop=False).rename_axis(None)

    def ops_dataframe(self) -> "pd.DataFrame":
        """ATen ops as a pandas DataFrame indexed by op index; `subgraph` is the kernel each op runs in."""
        import pandas as pd

        sg_of = {i: sg.index for sg in self.graph.subgraphs for i in sg.op_indices}
        rows = []
        for op in self.graph.ops:
            rows.append({
                "index": op.index, "uid": op.uid, "name": op.name, "target": op.target, "kind": op.kind,
                "subgraph": sg_of.get(op.index), "macs": op.macs, "flops": op.flops,
                "bytes_read": op.bytes_read, "bytes_written": op.bytes_written, "weight_bytes": op.weight_bytes,
                "output_shape": list(op.output_shape), "dtype": op.dtype, "module_path": op.module_path,
                "costed": op.costed,
            })
        return pd.DataFrame(rows).set_index("index", drop=False).rename_axis(None)

    def mapping_dataframe(self) -> "pd.DataFrame":
        """Long format: one row per (chip, subgraph) with the kernel mapping's times, energy and bound."""
        import pandas as pd

        from perfgraph.engine.overlay import overlay_kernels

        rows = []
        for chip, m in self.mappings.items():
            for k in overlay_kernels(m):  # per stored kernel, also for eager mappings (one kernel per op)
                rows.append({
                    "hardware": chip, "subgraph": k.subgraph_index, "precision": k.precision,
                    "precision_used": k.precision_used, "kernel": k.kernel, "flops": k.flops, "bytes": k.bytes,
                    "latency_s": k.latency_s, "compute_time_s": k.compute_time_s,
                    "compute_time_effective_s": k.compute_time_effective_s,
                    "memory_time_s": k.memory_time_max_s, "overhead_s": k.overhead_s,
                    "utilization": k.utilization, "units_allocated": k.units_allocated,
                    "units_total": k.units_total, "energy_j": k.energy_j, "bound": k.bound,
                    "stage": m.stages.get(k.subgraph_index),
                    "on_critical_path": k.subgraph_index in set(m.critical_path),
                })
        return pd.DataFrame(rows)

    # -- outputs ----------------------------------------------------------------------------------------
    def to_html(self, path: str | None = None) -> str:
        """The self-contained HTML report (see `perfgraph report`); written to `path` when given."""
        from perfgraph.report import render_html

        html = render_html(self)
        if path is not None:
            from pathlib import Path

            Path(path).write_text(html, encoding="utf-8")
        return html

    def __repr__(self) -> str:
        chips = f", hardware={list(self.mappings)}" if self.mappings else ""
        return f"Report({self.graph.info.id!r}, subgraphs={len(self.graph.subgraphs)}{chips})"


def analyze(model_or_name: "str | ModelSpec | torch.nn.Module", *, batch: int | None = None, dtype: str = "fp32",
            input_shape: Sequence[int] | None = None, params: dict[str, Any] | None = None,
            hardware: str | Iterable[str] | None = None, precision: str | None = None,
            weights: str | None = None, tracer: str = "auto", name: str | None = None,
            runtime: str = "eager", rules: Any = None, cache: bool = True) -> Report:
    """Trace a model, fuse it into kernels, cost it, and (with `hardware`) map it onto chips.

    model_or_name: a spec as on the command line (`"resnet18"`, `"hf:gpt2"`, `"synthetic:mlp"`,
        `"file.py:factory"`), a `pipeline.ModelSpec` (then batch, dtype, input_shape, params, weights and
        tracer come from it), or an `nn.Module` instance (then `input_shape` is required).
    batch: the batch size; default the first dimension of `input_shape`, else 1 (as `--batch`).
    dtype: fp32 | fp16 | bf16, the tensor dtype traced (as `--dtype`).
    input_shape: the primary input's shape, batch first (as `--input-shape`).
    params: model parameters (as `-p name=value`), e.g. `{"seq_len": 512}`.
    hardware: chip ids, aliases or names: `"h100-sxm"`, `["h100-sxm", "tpu-v4"]` or `"h100-sxm,tpu-v4"`.
    precision: fp32 | tf32 | fp16 | bf16 | int8 for the mapping; default `dtype`.
    tracer: auto (meta, then real) | meta | real.
    name: display name for an nn.Module (default: its class name).
    runtime: eager (default) | compiled | graph, how the model runs on the chips (`engine.runtime`; TPUs and
        KPUs always run compiled); rules: `engine.runtime.PrecisionRules` (default: PyTorch's, TF32 convs).
    cache: reuse the graph analysed before for the same spec and versions (`perfgraph.graph_cache`; a model
        spec, never an nn.Module); False traces again, as `--no-cache`.

    Raises:
        ModelSourceError, ValueError, KeyError: a bad spec, precision, runtime or chip -- before any tracing.
    """
    from perfgraph import pipeline
    from perfgraph.vocab import Dtype, Runtime, parse

    runtime = parse(Runtime, runtime, "runtime").value  # an unknown runtime fails before any tracing
    specs = pipeline.chips(hardware)  # unknown chips fail before any tracing
    if isinstance(model_or_name, pipeline.ModelSpec):
        spec = model_or_name
    elif isinstance(model_or_name, str):
        spec = pipeline.ModelSpec(model_or_name, batch=batch, dtype=dtype, input_shape=input_shape, params=params,
                                  weights=weights, tracer=tracer)
    else:
        spec = None
    report_dtype = spec.dtype.value if spec else parse(Dtype, dtype, "dtype").value
    mapping_precisions = pipeline.precisions(precision, report_dtype)  # an unknown precision fails here too
    if spec is not None:
        mg = pipeline.analyze(spec, cache=cache)
    else:
        mg = pipeline.analyze_module(model_or_name, batch=batch, dtype=report_dtype, input_shape=input_shape,
                                     tracer=tracer, name=name)

    report = Report(graph=mg, precision=mapping_precisions[0])
    for hw in specs:
        report.hardware[hw.id] = hw
        report.mappings[hw.id] = pipeline.map_model(mg, hw, report.precision, runtime=runtime, rules=rules)
    return report
