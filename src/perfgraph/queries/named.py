"""Named queries: each one a Cypher file (run on Neo4j) and its networkx twin (run in-process).

Both sides return the same rows -- lists of plain dicts, in the same order -- which the parity tests check
model by model. `run_embedded` takes the in-memory model graphs; `run_neo4j` takes a `Neo4jStore`.

Overlay queries (`memory_bound_share`, `bound_flip`, `best_chip`, `critical_path` with weight=latency) read
the mapping overlay (`perfgraph.engine.overlay`): on Neo4j the MAPPED_TO relationships that `perfgraph map`
wrote; embedded, the `Overlay` passed as `run_embedded(..., overlay=ov)` (none: nothing is mapped, as on
a Neo4j without MAPPED_TO). `pipeline.query` builds one on the spot for the chips named in the parameters
(hardware / a / b; `overlay_request` says which), at the model's traced batch and the `precision`
parameter (default: the model's dtype): this module reads an overlay and never maps.  Chip parameters take
ids, aliases or names, comma-separated (`hardware=h100,tpu-v4`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from perfgraph.graph import ModelGraph
from perfgraph.queries.embedded import critical_path, stage_summary, stages
from perfgraph.vocab import Runtime, parse


@dataclass(frozen=True)
class NamedQuery:
    name: str
    help: str
    params: dict[str, str]  # parameter -> description
    per_model: bool  # takes --model
    embedded: Callable[..., list[dict[str, Any]]]
    neo4j: Callable[..., list[dict[str, Any]]]
    overlay: bool = False  # reads the mapping overlay: the embedded side gets `overlay=`


def _e_stages(mgs: list[ModelGraph], model_id: str) -> list[dict[str, Any]]:
    st = stages(_pick(mgs, model_id))
    return [{"index": i, "stage": st[i]} for i in sorted(st)]


def _e_depth(mgs, model_id):
    s = stage_summary(stages(_pick(mgs, model_id)))
    return [{"depth": s.depth, "widest_stage": s.widest_stage, "width": s.width}]


def _e_stage_widths(mgs, model_id):
    mg = _pick(mgs, model_id)
    st = stages(mg)
    rows: dict[int, dict[str, Any]] = {}
    for sg in mg.subgraphs:
        row = rows.setdefault(st[sg.index], {"stage": st[sg.index], "subgraphs": 0, "flops": 0})
        row["subgraphs"] += 1
        row["flops"] += sg.flops
    return [rows[k] for k in sorted(rows)]


def _e_critical_path(mgs, model_id, weight="flops", hardware=None, batch=None, precision=None, runtime=None,
                     overlay=None):
    mg = _pick(mgs, model_id)
    st = stages(mg)
    if weight == "latency":
        available = [k[1:] for k, _ in overlay.select(mg.info.id)] if overlay is not None else []
        hw, b, p = _latency_key(mg.info.id, hardware, batch, precision, available)
        mm = overlay.get(mg.info.id, hw, b, p)
        if _runtime(runtime) not in (None, mm.runtime):
            raise LookupError(f"no {runtime} overlay for {mg.info.id} on {hw}; map it with --runtime {runtime}")
        latency = {k.subgraph_index: k.latency_s for k in overlay_kernels(mm)}
        cp = critical_path(mg, "latency", node_weights=latency)
        return [{"index": i, "stage": st[i], "weight": latency[i]} for i in cp.path]
    _check_weight(weight)
    cp = critical_path(mg, weight)
    return [{"index": i, "stage": st[i], "weight": _weight_of(mg, i, weight)} for i in cp.path]


def _check_weight(weight: str) -> None:
    if weight not in ("flops", "bytes", "macs", "latency"):
        raise ValueError(f"unknown critical-path weight {weight!r}; choose flops, bytes, macs or latency")


def _weight_of(mg: ModelGraph, index: int, weight: str) -> float:
    sg = mg.subgraphs[index]
    return float({"flops": sg.flops, "bytes": sg.external_bytes, "macs": sg.macs}[weight])


def _e_top_intensity(mgs, model_id, n=10):
    mg = _pick(mgs, model_id)
    rows = sorted(mg.subgraphs, key=lambda s: (-s.intensity, s.index))[: int(n)]
    return [{"index": s.index, "pattern": s.pattern, "intensity": s.intensity, "flops": s.flops,
             "external_bytes": s.external_bytes} for s in rows]


RANK_KEYS = ("depth", "width", "macs", "flops", "params", "subgraphs", "ops")


def _e_rank_models(mgs, by="macs"):
    _check_rank(by)
    values = []
    for mg in mgs:
        if by in ("depth", "width"):
            summary = stage_summary(stages(mg))
            value = summary.depth if by == "depth" else summary.width
        else:
            value = getattr(mg.info, by)
        values.append({"model": mg.info.id, "name": mg.info.name, "value": value})
    return sorted(values, key=lambda r: (-r["value"], r["model"]))


def _check_rank(by: str) -> None:
    if by not in RANK_KEYS:
        raise ValueError(f"cannot rank by {by!r}; choose from {', '.join(RANK_KEYS)}")


def _pick(mgs: list[ModelGraph], model_id: str) -> ModelGraph:
    for mg in mgs:
        if model_id in (mg.info.id, mg.info.name):
            return mg
    raise LookupError(f"model {model_id!r} is not loaded")


# -- Neo4j sides -------------------------------------------------------------------------------------
def _n_simple(name: str):
    def run(store, model_id, **params):
        return store.query(name, model_id=model_id, **params)
    return run


def _n_critical_path(store, model_id, weight="flops", hardware=None, batch=None, precision=None, runtime=None):
    if weight == "latency":
        stored = store.overlays(model_id, with_runtime=True)
        rt = _runtime(runtime)
        available = [(r["hardware"], r["batch"], r["precision"]) for r in stored if rt in (None, r["runtime"])]
        hw, b, p = _latency_key(model_id, hardware, batch, precision, available)
        runtimes = sorted({r["runtime"] for r in stored if (r["hardware"], r["batch"], r["precision"]) == (hw, b, p)})
        if rt is None and len(runtimes) > 1:
            raise ValueError(f"overlays of {model_id} on {hw} under {len(runtimes)} runtimes; pick one with "
                             f"-p runtime= ({', '.join(runtimes)})")
        rt = rt or runtimes[0]
        cp = store.critical_path(model_id, "latency", hw, b, p, runtime=rt)
        if not cp.path:
            return []
        return store.query("critical_path_latency", model_id=model_id, path=cp.path, hardware=hw, batch=b,
                           precision=p, runtime=rt)
    _check_weight(weight)
    cp = store.critical_path(model_id, weight)
    if not cp.path:
        return []
    prop = {"flops": "flops", "bytes": "external_bytes", "macs": "macs"}[weight]
    rows = store.run_cypher(
        "UNWIND range(0, size($path) - 1) AS k "
        "MATCH (s:Subgraph {model_id: $model_id, index: $path[k]}) "
        "RETURN s.index AS index, s.stage AS stage, toFloat(s[$prop]) AS weight ORDER BY k",
        model_id=model_id, path=cp.path, prop=prop)
    return rows


def _n_top_intensity(store, model_id, n=10):
    return store.query("top_intensity", model_id=model_id, n=int(n))


def _n_rank_models(store, by="macs"):
    _check_rank(by)
    return store.query("rank_models", by=by)


# -- overlay queries (mapping results per hardware, batch, precision) -----------------------------------
def _hw_ids(value: Any) -> list[str] | None:
    """Chip ids from 'h100,tpu-v4' (ids, aliases or names) or a list; None when not given. A name no
    local spec knows is kept as it is (a chip stored in Neo4j from someone else's YAML)."""
    if value is None or value == "":
        return None
    from perfgraph.hardware.registry import get as get_hw
    from perfgraph.hardware.spec import UnknownHardwareError

    names = value.split(",") if isinstance(value, str) else list(value)
    ids = []
    for n in (str(x).strip() for x in names):
        if not n:
            continue
        try:
            ids.append(get_hw(n).id)
        except UnknownHardwareError:
            ids.append(n)
    return ids or None


def _batch(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"batch must be an integer, got {value!r}") from None


def _precision(value: Any) -> str | None:
    return str(value).strip().lower() if value not in (None, "") else None


def overlay_kernels(mm):
    """The mapping's kernels per stored subgraph (`ModelMapping.stored_kernels`)."""
    return mm.stored_kernels()


def _runtime(value: Any) -> str | None:
    """A runtime filter (eager | compiled | graph), or None for any."""
    if value in (None, ""):
        return None
    return parse(Runtime, value, "runtime").value


def _latency_key(model_id: str, hardware, batch, precision, available: list[tuple]) -> tuple[str, int, str]:
    """The one (hardware, batch, precision) overlay a latency critical path runs on: `hardware` is
    required; batch and precision may be left out when only one overlay of that chip matches."""
    hws = _hw_ids(hardware)
    if not hws or len(hws) != 1:
        raise ValueError("critical_path with weight=latency needs exactly one chip: -p hardware=NAME")
    b, p = _batch(batch), _precision(precision)
    match = sorted({(h, bb, pp) for h, bb, pp in available
                    if h == hws[0] and (b is None or bb == b) and (p is None or pp == p)})
    if not match:
        raise LookupError(f"no overlay for {model_id} on {hws[0]}"
                          + (f" at batch {b}" if b is not None else "") + (f", {p}" if p else "")
                          + "; map it first (perfgraph map MODEL --hardware ...)")
    if len(match) > 1:
        raise ValueError(f"{len(match)} overlays of {model_id} on {hws[0]}; pick one with -p batch=/-p precision= "
                         f"({', '.join(f'b{bb} {pp}' for _, bb, pp in match)})")
    return match[0]


def _e_memory_bound_share(mgs, model_id, hardware=None, batch=None, precision=None, runtime=None, overlay=None):
    mg = _pick(mgs, model_id)
    rows = []
    for (_, hw, b, p), mm in _select(overlay, mg.info.id, hardware, batch, precision, runtime):
        latency = memory = 0.0
        n = bound = 0
        for k in sorted(overlay_kernels(mm), key=lambda k: k.subgraph_index):  # index order, as the Cypher reduce
            n += 1
            latency += k.latency_s
            if k.bound == "memory":
                bound += 1
                memory += k.latency_s
        rows.append({"hardware": hw, "batch": b, "precision": p, "subgraphs": n, "memory_bound": bound,
                     "subgraph_share": bound / n, "latency_s": latency, "memory_bound_latency_s": memory,
                     "latency_share": memory / latency if latency > 0 else 0.0})
    return rows


def _n_memory_bound_share(store, model_id, hardware=None, batch=None, precision=None, runtime=None):
    return store.query("memory_bound_share", model_id=model_id, hardware=_hw_ids(hardware), batch=_batch(batch),
                       precision=_precision(precision), runtime=_runtime(runtime))


def _select(overlay, model_id, hardware, batch, precision, runtime):
    """Overlay entries matching the filters; `runtime` compares with what each entry ran under."""
    rt = _runtime(runtime)
    if overlay is None:
        return []
    return [(k, mm) for k, mm in overlay.select(model_id, _hw_ids(hardware), _batch(batch), _precision(precision))
            if rt is None or mm.runtime == rt]


def _e_bound_flip(mgs, model_id, a=None, b=None, batch=None, precision=None, runtime=None, overlay=None):
    mg = _pick(mgs, model_id)
    sa, sb = _hw_ids(a), _hw_ids(b)
    entries = _select(overlay, mg.info.id, None, batch, precision, runtime)
    rows = []
    for (_, ha, ba, pa), ma in entries:
        if sa is not None and ha not in sa:
            continue
        for (_, hb, bb, pb), mb in entries:
            if hb == ha or bb != ba or pb != pa or mb.runtime != ma.runtime or (sb is not None and hb not in sb):
                continue
            kb = {k.subgraph_index: k for k in overlay_kernels(mb)}
            for k in sorted(overlay_kernels(ma), key=lambda k: k.subgraph_index):
                other = kb.get(k.subgraph_index)
                if k.bound == "memory" and other is not None and other.bound == "compute":
                    sg = mg.subgraphs[k.subgraph_index]
                    rows.append({"memory_bound_on": ha, "compute_bound_on": hb, "batch": ba, "precision": pa,
                                 "index": sg.index, "pattern": sg.pattern, "intensity": sg.intensity,
                                 "latency_memory_bound_s": k.latency_s, "latency_compute_bound_s": other.latency_s})
    return sorted(rows, key=lambda r: (r["memory_bound_on"], r["compute_bound_on"], r["batch"], r["precision"],
                                       r["index"]))


def _n_bound_flip(store, model_id, a=None, b=None, batch=None, precision=None, runtime=None):
    return store.query("bound_flip", model_id=model_id, a=_hw_ids(a), b=_hw_ids(b), batch=_batch(batch),
                       precision=_precision(precision), runtime=_runtime(runtime))


def _e_best_chip(mgs, hardware=None, batch=None, precision=None, runtime=None, overlay=None):
    groups: dict[tuple, list[tuple[str, float, float]]] = {}
    for (model, hw, b, p), mm in _select(overlay, None, hardware, batch, precision, runtime):
        groups.setdefault((model, b, p), []).append((hw, mm.latency_sequential_s, mm.energy_per_sample_j))
    rows = []
    for (model, b, p), chips in sorted(groups.items()):
        fast = min(chips, key=lambda c: (c[1], c[0]))
        frugal = min(chips, key=lambda c: (c[2], c[0]))
        rows.append({"model": model, "batch": b, "precision": p, "chips": len(chips), "fastest": fast[0],
                     "latency_s": fast[1], "most_efficient": frugal[0], "energy_per_inference_j": frugal[2]})
    return rows


def _n_best_chip(store, hardware=None, batch=None, precision=None, runtime=None):
    return store.query("best_chip", hardware=_hw_ids(hardware), batch=_batch(batch), precision=_precision(precision),
                       runtime=_runtime(runtime))


def _e_phase_compare(mgs, source=None, hardware=None, batch=None, precision=None, runtime=None, overlay=None):
    from perfgraph.phase_link import phase_link

    links = {mg.info.id: phase_link(mg.info) for mg in mgs}
    rows = []
    for (model, hw, b, p), mm in _select(overlay, None, hardware, batch, precision, runtime):
        link = links.get(model)
        if link is None or (source not in (None, "") and source not in (link["source"], link["source_name"])):
            continue
        rows.append({"source": link["source"], "phase": link["phase"], "batch": link["batch"],
                     "context": link["context"], "hardware": hw, "precision": p, "runtime": mm.runtime,
                     "latency_s": mm.latency_sequential_s, "model": model})
    return sorted(rows, key=lambda r: (r["source"], r["phase"], r["batch"], r["context"], r["hardware"],
                                       r["precision"], r["runtime"]))


def _n_phase_compare(store, source=None, hardware=None, batch=None, precision=None, runtime=None):
    return store.query("phase_compare", source=source or None, hardware=_hw_ids(hardware), batch=_batch(batch),
                       precision=_precision(precision), runtime=_runtime(runtime))


@dataclass(frozen=True)
class OverlayRequest:
    """What an on-the-spot embedded overlay maps: `chips` x `graphs` at their traced batch, each at
    `precision` (None: the graph's dtype), under `runtime`."""

    graphs: list[ModelGraph]
    chips: list[str]
    precision: str | None
    runtime: str


def overlay_request(name: str, mgs: list[ModelGraph], model_id: str | None, params: dict[str, Any]) -> OverlayRequest:
    """The overlay query `name` needs when none was passed: the chips named in its parameters (hardware, a,
    b) x the models (the one named, else all); no chips for a query that reads no overlay."""
    q = get(name)
    params = validate_params(q, params)
    names = [n for key in ("hardware", "a", "b") for n in (_hw_ids(params.get(key)) or [])] if q.overlay else []
    graphs = [_pick(mgs, model_id)] if model_id is not None and q.per_model and names else list(mgs)
    return OverlayRequest(graphs=graphs, chips=list(dict.fromkeys(names)), precision=_precision(params.get("precision")),
                          runtime=_runtime(params.get("runtime")) or "eager")  # the CLI's default, as `perfgraph map`


QUERIES: dict[str, NamedQuery] = {q.name: q for q in [
    NamedQuery("stages", "stage of every subgraph", {}, True, _e_stages, _n_simple("stages")),
    NamedQuery("depth", "number of stages, widest stage and its width", {}, True, _e_depth, _n_simple("depth")),
    NamedQuery("stage_widths", "subgraphs and FLOPs per stage (parallelism per stage)", {}, True,
               _e_stage_widths, _n_simple("stage_widths")),
    NamedQuery("critical_path", "heaviest path through the kernel DAG",
               {"weight": "flops | bytes | macs | latency (default flops)",
                "hardware": "chip, for weight=latency", "batch": "for weight=latency (default: the mapped one)",
                "precision": "for weight=latency (default: the mapped one)",
                "runtime": "for weight=latency: eager | compiled | graph (default: the mapped one)"}, True,
               _e_critical_path,
               _n_critical_path, overlay=True),
    NamedQuery("top_intensity", "subgraphs with the highest FLOP/byte", {"n": "rows (default 10)"}, True,
               _e_top_intensity, _n_top_intensity),
    NamedQuery("rank_models", "all models ranked by a property",
               {"by": "depth | width | macs | flops | params | subgraphs | ops (default macs)"}, False,
               _e_rank_models, _n_rank_models),
    NamedQuery("memory_bound_share", "per mapped chip, batch, precision: share of kernels and of latency "
               "that is memory-bound", {"hardware": "chips (default: all mapped)", "batch": "filter",
                                        "precision": "filter", "runtime": "filter"}, True,
               _e_memory_bound_share, _n_memory_bound_share, overlay=True),
    NamedQuery("bound_flip", "kernels memory-bound on chip a but compute-bound on chip b (same batch, precision)",
               {"a": "chips where memory-bound (default: any)", "b": "chips where compute-bound (default: any)",
                "batch": "filter", "precision": "filter", "runtime": "filter"}, True, _e_bound_flip, _n_bound_flip,
               overlay=True),
    NamedQuery("best_chip", "per model, batch, precision: fastest chip and lowest-energy chip among those mapped",
               {"hardware": "chips to choose from (default: all mapped)", "batch": "filter",
                "precision": "filter", "runtime": "filter"}, False, _e_best_chip, _n_best_chip, overlay=True),
    NamedQuery("phase_compare", "per source model, phase (prefill / decode), batch, context and chip: the phase's "
               "latency from the overlay (`perfgraph llm ingest --hardware`)",
               {"source": "source model id or name (default: all)", "hardware": "chips (default: all mapped)",
                "batch": "filter", "precision": "filter", "runtime": "filter"}, False, _e_phase_compare,
               _n_phase_compare, overlay=True),
]}


def get(name: str) -> NamedQuery:
    try:
        return QUERIES[name]
    except KeyError:
        raise LookupError(f"no query named {name!r}; choose from {', '.join(sorted(QUERIES))}") from None


def run_embedded(name: str, mgs: list[ModelGraph], model_id: str | None = None, overlay=None,
                 **params: Any) -> list[dict[str, Any]]:
    """`overlay`: the mapping overlay (`perfgraph.engine.overlay.Overlay`) the overlay queries read; None:
    nothing mapped (`pipeline.query` maps the chips the parameters name first)."""
    q = get(name)
    params = validate_params(q, params)
    if q.overlay:
        params = {**params, "overlay": overlay}
    if q.per_model:
        if model_id is None:
            raise ValueError(f"query {name!r} needs --model")
        return q.embedded(mgs, model_id, **params)
    return q.embedded(mgs, **params)


def run_neo4j(name: str, store, model_id: str | None = None, **params: Any) -> list[dict[str, Any]]:
    q = get(name)
    params = validate_params(q, params)
    if q.per_model:
        if model_id is None:
            raise ValueError(f"query {name!r} needs --model")
        return q.neo4j(store, model_id, **params)
    return q.neo4j(store, **params)


def validate_params(q: NamedQuery, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of query `q` checked and converted, the same for both stores (so that neither answers
    what the other rejects): unknown names, counts and batches that are not integers >= 1, choices
    outside their list. Returns a new dict; ValueError with one line on the first bad parameter."""
    unknown = set(params) - set(q.params)
    if unknown:
        allowed = ", ".join(q.params) or "none"
        raise ValueError(f"query {q.name!r} takes no parameter {', '.join(sorted(unknown))}; parameters: {allowed}")
    checks: dict[str, Callable[[str, Any], Any]] = {
        "n": _positive_int, "batch": _positive_int,
        "weight": lambda _, v: _check_weight(v) or v, "by": lambda _, v: _check_rank(v) or v}
    return {k: checks[k](k, v) if k in checks and v not in (None, "") else v for k, v in params.items()}


def _positive_int(name: str, value: Any) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"parameter {name} must be an integer >= 1, got {value!r}")
    return int(text)
