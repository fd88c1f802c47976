"""The pipeline: a model spec becomes a kernel graph, the graph becomes one mapping row per chip.

    ModelSpec ──analyze──▶ ModelGraph ──map_onto(chips, precisions, runtime)──▶ [MappingRow]
                               └── batch_sweep(spec, chip, ...) ──▶ [MappingRow] ──saturation──▶ dict

Every entry point -- the CLI, `perfgraph.analyze`, sweeps, validation, the benchmarks -- calls these, so a
model is described, validated, traced and mapped in one way, and a mapping is reported under one key
vocabulary (`MappingRow`): the same names in the CLI's JSON and CSV, the API, sweeps, reports and the Neo4j
overlay. Nothing here imports torch: tracing happens in `ingest` (via `analysis.trace_graph`), only when
the graph cache does not hold the spec.

Examples:
    >>> spec = ModelSpec("resnet18", batch=8, dtype="bf16")
    >>> graph = analyze(spec)                                         # doctest: +SKIP
    >>> rows = map_onto([graph], ["h100", "tpu-v4"], ["bf16"])       # doctest: +SKIP
    >>> rows[0].latency_s, rows[0].as_dict()["energy_per_inference_j"]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from perfgraph.engine.mapping_row import ROW_FIELDS, MappingRow, kernel_graph
from perfgraph.graph import ModelGraph
from perfgraph.ingest.model_source import ModelSourceError
from perfgraph.ingest.sources import parse_params, parse_shape
from perfgraph.vocab import Dtype, Precision, Runtime, Tracer, parse

if TYPE_CHECKING:
    from perfgraph.engine.model_mapping import ModelMapping
    from perfgraph.engine.runtime import PrecisionRules
    from perfgraph.hardware.spec import HardwareSpec

SATURATION_THRESHOLD = 0.8  # a batch saturates a chip at 80 % of the best throughput seen over the sweep
DEFAULT_SWEEP = (1, 2, 4, 8, 16, 32, 64, 128, 256)


# -- the model ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSpec:
    """What to analyse: the seven things that decide a model's graph, validated once, here.

    `input_shape` takes a sequence or the CLI's text (`1,3,224,224`); `params` a mapping, `name=value`
    strings (the CLI's `-p`) or pairs. Stored normalised: a tuple shape, `(name, value)` string pairs in the
    order given, enum members for dtype and tracer -- so a spec is hashable and compares by value.

    Raises:
        ModelSourceError: an empty model, a batch that is not a positive integer, a bad shape or parameter.
        ValueError: an unknown dtype or tracer (the message lists the known ones).

    Examples:
        >>> ModelSpec("synthetic:mlp", params=["width=64"], input_shape="2,64").params_dict
        {'width': '64'}
        >>> ModelSpec("resnet18", batch=0)
        Traceback (most recent call last):
        ...
        perfgraph.ingest.model_source.ModelSourceError: batch must be a positive integer, got 0
    """

    model: str
    batch: int | None = None
    dtype: Dtype = Dtype.FP32
    input_shape: tuple[int, ...] | None = None
    params: tuple[tuple[str, str], ...] = ()
    weights: str | None = None
    tracer: Tracer = Tracer.AUTO

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ModelSourceError(f"a model spec is a non-empty string, got {self.model!r}")
        if self.batch is not None and (isinstance(self.batch, bool) or not isinstance(self.batch, int)
                                       or self.batch < 1):
            raise ModelSourceError(f"batch must be a positive integer, got {self.batch!r}")
        shape = self.input_shape
        if isinstance(shape, str):
            shape = parse_shape(shape)
        if shape is not None:
            shape = tuple(int(d) for d in shape)
            if not shape or any(d < 1 for d in shape):
                raise ModelSourceError(f"input shape must be positive integers, got {list(shape)}")
        object.__setattr__(self, "model", self.model.strip())
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "params", _param_pairs(self.params))
        object.__setattr__(self, "dtype", parse(Dtype, self.dtype, "dtype"))
        object.__setattr__(self, "tracer", parse(Tracer, self.tracer, "tracer"))

    @property
    def params_dict(self) -> dict[str, str]:
        return dict(self.params)

    @property
    def tracers(self) -> tuple[str, ...] | None:
        """The tracers to try in order; None: the default order (meta, then real)."""
        return None if self.tracer is Tracer.AUTO else (self.tracer.value,)

    def at_batch(self, batch: int | None) -> "ModelSpec":
        """This spec at another batch size (None: the default, the input shape's first dimension or 1)."""
        return dataclasses.replace(self, batch=batch)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): the key of a sweep point or a cache entry."""
        return {"model": self.model, "batch": self.batch, "dtype": self.dtype.value,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "params": self.params_dict, "weights": self.weights, "tracer": self.tracer.value}


def _param_pairs(params: Any) -> tuple[tuple[str, str], ...]:
    if not params:
        return ()
    if isinstance(params, Mapping):
        return tuple((str(k), str(v)) for k, v in params.items())
    items = list(params)
    if all(isinstance(p, str) for p in items):
        return tuple(parse_params(items).items())
    return tuple((str(k), str(v)) for k, v in items)


def analyze(spec: ModelSpec, *, cache: bool = True) -> ModelGraph:
    """Trace, fuse and cost `spec`; stages and the FLOP critical path are set on the graph's subgraphs.

    The graph comes from the on-disk graph cache (`graph_cache`, torch not imported) when this spec was
    analysed before by the same perfgraph and torch versions, unless `cache` is False, `--no-cache` was
    given or PERFGRAPH_NO_CACHE is set.

    Raises:
        ModelSourceError: the spec names nothing buildable, or the model rejects its options.
    """
    from perfgraph.analysis import trace_graph
    from perfgraph.graph_cache import cached_analyze

    return cached_analyze(trace_graph, spec.model, batch=spec.batch, dtype=spec.dtype.value,
                          input_shape=None if spec.input_shape is None else list(spec.input_shape),
                          params=spec.params_dict, weights=spec.weights, tracers=spec.tracers, use_cache=cache)


def analyze_module(module: Any, *, input_shape: Sequence[int] | None, batch: int | None = None,
                   dtype: str | Dtype = Dtype.FP32, tracer: str | Tracer = Tracer.AUTO,
                   name: str | None = None) -> ModelGraph:
    """`analyze` for an `nn.Module` instance the caller built (never modified; `ingest.module_source`).

    Raises:
        TypeError: not an nn.Module. ModelSourceError: no or a bad input shape. ValueError: a bad dtype or tracer.
    """
    from perfgraph.analysis import annotate_stages
    from perfgraph.ingest.module_source import trace_module
    from perfgraph.ingest.partition import partition

    tracer = parse(Tracer, tracer, "tracer")
    mg = trace_module(module, batch=batch, dtype=parse(Dtype, dtype, "dtype").value,
                      input_shape=None if input_shape is None else [int(d) for d in input_shape],
                      tracers=None if tracer is Tracer.AUTO else (tracer.value,), name=name)
    return annotate_stages(partition(mg))


def summarize(graph: ModelGraph, top: int = 5) -> dict[str, Any]:
    """The model's cost summary: the dict `perfgraph analyze --json` prints."""
    from perfgraph.analysis import summarize as _summarize

    return _summarize(graph, top=top)


# -- chips ----------------------------------------------------------------------------------------------
def chips(names: "str | Iterable[str | HardwareSpec] | None") -> list["HardwareSpec"]:
    """Chips by id, alias or name (`"h100,tpu-v4"`, a list, or specs), each once, in the order given.

    Raises:
        LookupError: an unknown chip (`hardware.spec.get`'s one-line message names the known ones).
    """
    from perfgraph.hardware.spec import HardwareSpec, get

    if names is None:
        return []
    items = [names] if isinstance(names, (str, HardwareSpec)) else list(names)
    out: dict[str, HardwareSpec] = {}
    for item in items:
        parts = [item] if isinstance(item, HardwareSpec) else [c.strip() for c in str(item).split(",") if c.strip()]
        for part in parts:
            hw = part if isinstance(part, HardwareSpec) else get(part)
            out.setdefault(hw.id, hw)
    return list(out.values())


def precisions(names: "str | Iterable[str] | None", dtype: str | Dtype = Dtype.FP32) -> list[str]:
    """`"bf16,int8"` or a list -> validated precision names, each once; None -> the traced dtype.

    Raises:
        ValueError: an unknown precision (the message lists the known ones).
    """
    if names is None:
        return [parse(Dtype, dtype, "dtype").value]
    items = names.split(",") if isinstance(names, str) else list(names)
    out = [parse(Precision, p, "precision").value for p in items if str(p).strip()]
    if not out:
        raise ValueError("no precision given; choose from " + ", ".join(p.value for p in Precision))
    return list(dict.fromkeys(out))


def map_model(graph: ModelGraph, hw: "HardwareSpec", precision: str, *, runtime: str | Runtime = Runtime.EAGER,
              rules: "PrecisionRules | None" = None) -> "ModelMapping":
    """`graph` mapped onto `hw`, with this machine's calibration profile for the `local` chip."""
    from perfgraph.engine.calibrated import profile_for
    from perfgraph.engine.model_mapping import map_model as _map

    staged = all(sg.stage >= 0 for sg in graph.subgraphs)  # a hand-built graph may have none yet
    stages = {sg.index: sg.stage for sg in graph.subgraphs} if staged else None
    return _map(graph, hw, precision, stages=stages, runtime=parse(Runtime, runtime, "runtime").value, rules=rules,
                profile=profile_for(hw))


def map_onto(graphs: ModelGraph | Sequence[ModelGraph], chip_names: Any, precision_names: Any = None, *,
             runtime: str | Runtime = Runtime.EAGER, rules: "PrecisionRules | None" = None,
             kernels: bool = False) -> list[MappingRow]:
    """One `MappingRow` per chip x precision x graph, in that nesting order (chips in the order given).

    precision_names: as `precisions` (None: the first graph's traced dtype). runtime: eager (what a PyTorch user
    runs, the default), compiled or graph; TPUs and KPUs always run compiled and their rows say so.

    Raises:
        LookupError: an unknown chip. ValueError: an unknown precision or runtime.
    """
    graph_list = [graphs] if isinstance(graphs, ModelGraph) else list(graphs)
    hw_list = chips(chip_names)
    runtime = parse(Runtime, runtime, "runtime")
    rows = []
    for hw in hw_list:
        for p in precisions(precision_names, graph_list[0].info.dtype if graph_list else Dtype.FP32):
            for graph in graph_list:
                mm = map_model(graph, hw, p, runtime=runtime, rules=rules)
                rows.append(MappingRow.of(mm, hw, graph, kernels=kernels))
    return rows


def query(name: str, graphs: Sequence[ModelGraph], model_id: str | None = None, overlay: Any = None,
          **params: Any) -> list[dict[str, Any]]:
    """The named query `name` on the embedded store (`queries.named`): the overlay queries read `overlay`,
    or, when none is given, one mapped here for the chips their parameters name (`named.overlay_request`).

    Raises:
        ValueError, LookupError: a bad parameter, an unknown query, chip or model.
    """
    from perfgraph.queries import named

    if overlay is None:
        request = named.overlay_request(name, list(graphs), model_id, params)
        if request.chips:
            from perfgraph.engine.overlay import Overlay

            overlay = Overlay(runtime=request.runtime)
            for hw in chips(request.chips):
                for graph in request.graphs:
                    overlay.add(graph, hw, request.precision or graph.info.dtype or "fp32")
    return named.run_embedded(name, list(graphs), model_id, overlay=overlay, **params)


# -- batch sweeps ---------------------------------------------------------------------------------------
def batch_sweep(spec: "ModelSpec | Callable[[int], ModelGraph]", chip: Any, precision: str | None = None,
                batches: Iterable[int] = DEFAULT_SWEEP, *, runtime: str | Runtime = Runtime.EAGER,
                rules: "PrecisionRules | None" = None, cache: bool = True) -> list[MappingRow]:
    """The model traced at each batch and mapped onto one chip: one row per batch, in the order given.

    spec: a `ModelSpec` (traced at each batch through `analyze`) or a function batch -> `ModelGraph`.
    """
    build = spec if callable(spec) else (lambda b: analyze(spec.at_batch(b), cache=cache))
    graphs = [build(int(b)) for b in batches]
    return map_onto(graphs, chip, precision, runtime=runtime, rules=rules)


def saturation_batch(rows_or_spec: "Sequence[Mapping[str, Any]] | ModelSpec | Callable[[int], ModelGraph]",
                     chip: Any = None, precision: str | None = None, batches: Iterable[int] | None = None, *,
                     threshold: float = SATURATION_THRESHOLD, metric: str = "throughput",
                     runtime: str | Runtime = Runtime.EAGER) -> int | None:
    """The smallest batch within `threshold` of the best `metric` (`engine.saturation`), from the rows of
    `batch_sweep`, or from `(spec, chip, precision, batches)` swept first.

    Raises:
        ValueError: a sweep without its chip and batches, or an unknown metric.
    """
    from perfgraph.engine.saturation import saturation_batch as _saturation_batch

    rows = rows_or_spec
    if isinstance(rows_or_spec, ModelSpec) or callable(rows_or_spec):
        if chip is None or batches is None:
            raise ValueError("saturation_batch(spec, chip, precision, batches) needs the chip and the batches")
        rows = batch_sweep(rows_or_spec, chip, precision, batches, runtime=runtime)
    return _saturation_batch(rows, threshold=threshold, metric=metric)


def saturation(rows: Sequence[MappingRow | Mapping[str, Any]],
               threshold: float = SATURATION_THRESHOLD) -> dict[str, Any]:
    """For one chip and precision over a batch sweep: the saturation batch by throughput and by utilisation
    (`engine.saturation.saturation_batch`: the smallest batch within `threshold` of the best seen), the best
    throughput and its batch, and the smallest batch at which every GEMM kernel occupies all the chip's units.

    Raises:
        ValueError: no rows.
    """
    from perfgraph.engine.saturation import saturation_batch

    data = [r.as_dict() if isinstance(r, MappingRow) else dict(r) for r in rows]
    if not data:
        raise ValueError("a saturation summary needs the rows of a batch sweep; got none")
    usable = [r for r in data if r["fits_in_memory"]]
    best = max(usable, key=lambda r: r["throughput_per_s"], default=None)
    fill = next((r["batch"] for r in sorted(usable, key=lambda r: r["batch"])
                 if r["gemm_kernels"] and r["gemm_kernels_filling_chip"] == r["gemm_kernels"]), None)
    return {
        "hardware": data[0]["hardware"], "precision": data[0]["precision"], "threshold": threshold,
        "batches": [r["batch"] for r in data],
        "saturation_batch_throughput": saturation_batch(data, threshold=threshold, metric="throughput"),
        "saturation_batch_utilization": saturation_batch(data, threshold=threshold, metric="utilization"),
        "all_gemms_fill_chip_batch": fill,
        "best_throughput_per_s": best["throughput_per_s"] if best else None,
        "best_batch": best["batch"] if best else None,
    }


__all__ = ["ModelSpec", "analyze", "analyze_module", "summarize", "chips", "precisions", "MappingRow", "ROW_FIELDS", "map_model",
           "map_onto", "kernel_graph", "query", "batch_sweep", "saturation_batch", "saturation", "SATURATION_THRESHOLD", "DEFAULT_SWEEP",
           "Dtype", "Precision", "Runtime", "Tracer"]
