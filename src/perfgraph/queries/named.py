"""Named queries: each one a Cypher file (run on Neo4j) and its networkx twin (run in-process).

Both sides return the same rows -- lists of plain dicts, in the same order -- which the parity tests check
model by model. `run_embedded` takes the in-memory model graphs; `run_neo4j` takes a `Neo4jStore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from perfgraph.graph import ModelGraph
from perfgraph.queries.embedded import critical_path, stage_summary, stages


@dataclass(frozen=True)
class NamedQuery:
    name: str
    help: str
    params: dict[str, str]  # parameter -> description
    per_model: bool  # takes --model
    embedded: Callable[..., list[dict[str, Any]]]
    neo4j: Callable[..., list[dict[str, Any]]]


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


def _e_critical_path(mgs, model_id, weight="flops"):
    mg = _pick(mgs, model_id)
    cp = critical_path(mg, weight)
    st = stages(mg)
    return [{"index": i, "stage": st[i], "weight": _weight_of(mg, i, weight)} for i in cp.path]


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


def _n_critical_path(store, model_id, weight="flops"):
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


QUERIES: dict[str, NamedQuery] = {q.name: q for q in [
    NamedQuery("stages", "stage of every subgraph", {}, True, _e_stages, _n_simple("stages")),
    NamedQuery("depth", "number of stages, widest stage and its width", {}, True, _e_depth, _n_simple("depth")),
    NamedQuery("stage_widths", "subgraphs and FLOPs per stage (parallelism per stage)", {}, True,
               _e_stage_widths, _n_simple("stage_widths")),
    NamedQuery("critical_path", "heaviest path through the kernel DAG",
               {"weight": "flops | bytes | macs (default flops)"}, True, _e_critical_path, _n_critical_path),
    NamedQuery("top_intensity", "subgraphs with the highest FLOP/byte", {"n": "rows (default 10)"}, True,
               _e_top_intensity, _n_top_intensity),
    NamedQuery("rank_models", "all models ranked by a property",
               {"by": "depth | width | macs | flops | params | subgraphs | ops (default macs)"}, False,
               _e_rank_models, _n_rank_models),
]}


def get(name: str) -> NamedQuery:
    try:
        return QUERIES[name]
    except KeyError:
        raise LookupError(f"no query named {name!r}; choose from {', '.join(sorted(QUERIES))}") from None


def run_embedded(name: str, mgs: list[ModelGraph], model_id: str | None = None, **params: Any) -> list[dict[str, Any]]:
    q = get(name)
    _check_params(q, params)
    if q.per_model:
        if model_id is None:
            raise ValueError(f"query {name!r} needs --model")
        return q.embedded(mgs, model_id, **params)
    return q.embedded(mgs, **params)


def run_neo4j(name: str, store, model_id: str | None = None, **params: Any) -> list[dict[str, Any]]:
    q = get(name)
    _check_params(q, params)
    if q.per_model:
        if model_id is None:
            raise ValueError(f"query {name!r} needs --model")
        return q.neo4j(store, model_id, **params)
    return q.neo4j(store, **params)


def _check_params(q: NamedQuery, params: dict[str, Any]) -> None:
    unknown = set(params) - set(q.params)
    if unknown:
        allowed = ", ".join(q.params) or "none"
        raise ValueError(f"query {q.name!r} takes no parameter {', '.join(sorted(unknown))}; parameters: {allowed}")
