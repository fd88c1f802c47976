"""**Universal checks** (`universal_checks`) hold for any `ModelGraph` that ingest produces; a failure is a
bug in tracing, costing or partitioning (or a corrupted graph):

=================  ==========================================================================================
costed             every op is costed, or is uncosted (kind ``other``) and named in the summary's
                   ``uncosted_ops``; no costed conv/matmul/attention op with zero MACs (a silent zero);
                   each subgraph's ``uncosted_ops`` counts its uncosted ops
conservation       MACs and FLOPs: sum over ops == sum over subgraphs (per subgraph too) == the model's
bytes              each subgraph's external bytes <= the sum of its ops' bytes, and == inputs + outputs +
                   weights
dag                the subgraph graph is acyclic and its edges name existing subgraphs
stages             stage = 0 for a source, else 1 + the largest predecessor stage; depth = stages
intensity          each subgraph's intensity = FLOPs / external bytes; the model's = total FLOPs / total
                   external bytes (never a mean of ratios)
finite             no negative, NaN or infinite figure on the model, an op, a subgraph or an edge
partition          every op in exactly one subgraph; model op and subgraph counts match
=================  ==========================================================================================

Nothing here imports torch: checks run on the plain dataclasses of `perfgraph.graph`.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from perfgraph.checks.results import FAIL, MAC_KINDS, PASS, CheckResult
from perfgraph.graph import ModelGraph

UniversalCheck = Callable[[ModelGraph], tuple[bool, str, str, str]]  # -> (ok, measured, expected, detail)
UNIVERSAL: dict[str, UniversalCheck] = {}


def _universal(name: str) -> Callable[[UniversalCheck], UniversalCheck]:
    def deco(fn: UniversalCheck) -> UniversalCheck:
        UNIVERSAL[name] = fn
        return fn

    return deco


def _bad_number(x: Any) -> bool:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    return math.isnan(x) or math.isinf(x) or x < 0


def _si(x: float) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"{x / factor:.2f} {prefix}"
    return f"{x:g} "


def _op_owner(mg: ModelGraph) -> dict[int, list[int]]:
    owner: dict[int, list[int]] = {}
    for sg in mg.subgraphs:
        for i in sg.op_indices:
            owner.setdefault(i, []).append(sg.index)
    return owner


@_universal("partition")
def _check_partition(mg: ModelGraph) -> tuple[bool, str, str, str]:
    owner = _op_owner(mg)
    n = len(mg.ops)
    twice = sorted(i for i, sgs in owner.items() if len(sgs) > 1)
    missing = sorted(set(range(n)) - set(owner))
    stray = sorted(i for i in owner if not 0 <= i < n)
    problems = []
    if twice:
        problems.append(f"op {twice[0]} in subgraphs {owner[twice[0]]}" + (f" (+{len(twice) - 1} more)" if len(twice) > 1 else ""))
    if missing:
        problems.append(f"op {missing[0]} in no subgraph" + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""))
    if stray:
        problems.append(f"subgraph names op {stray[0]}, which does not exist")
    if mg.info.ops != n:
        problems.append(f"model says {mg.info.ops} ops, graph has {n}")
    if mg.info.subgraphs != len(mg.subgraphs):
        problems.append(f"model says {mg.info.subgraphs} subgraphs, graph has {len(mg.subgraphs)}")
    if sorted(sg.index for sg in mg.subgraphs) != list(range(len(mg.subgraphs))):
        problems.append("subgraph indices are not 0..n-1")
    measured = f"{n} ops, {len(mg.subgraphs)} subgraphs" + (f"; {len(twice)} ops in 2+, {len(missing)} in none"
                                                           if twice or missing else "")
    return not problems, measured, "each op in 1 subgraph", "; ".join(problems)


@_universal("costed")
def _check_costed(mg: ModelGraph) -> tuple[bool, str, str, str]:
    from perfgraph.analysis import summarize

    named = set(summarize(mg, top=0)["uncosted_ops"])
    uncosted = [op for op in mg.ops if not op.costed]
    problems = []
    for op in uncosted:
        if op.target not in named:
            problems.append(f"uncosted op {op.index} ({op.target}) not named in the summary")
            break
    for op in mg.ops:
        if op.costed and op.kind in MAC_KINDS and op.macs == 0 and math.prod(op.output_shape or [1]) > 0:
            problems.append(f"op {op.index} ({op.target}, {op.kind}) is costed with 0 MACs")
            break
        if op.costed and op.kind == "other":
            problems.append(f"op {op.index} ({op.target}) has kind 'other' (no rule) but is marked costed")
            break
    for sg in mg.subgraphs:
        count = sum(1 for i in sg.op_indices if 0 <= i < len(mg.ops) and not mg.ops[i].costed)
        if count != sg.uncosted_ops:
            problems.append(f"subgraph {sg.index} counts {sg.uncosted_ops} uncosted ops, holds {count}")
            break
    names = sorted({op.target for op in uncosted})
    measured = f"{len(mg.ops) - len(uncosted)}/{len(mg.ops)} costed" + (
        f"; uncosted, named: {', '.join(names[:4])}{' …' if len(names) > 4 else ''}" if names else "")
    return not problems, measured, "costed or named", "; ".join(problems)


@_universal("conservation")
def _check_conservation(mg: ModelGraph) -> tuple[bool, str, str, str]:
    op_macs = sum(op.macs for op in mg.ops)
    op_flops = sum(op.flops for op in mg.ops)
    sg_macs = sum(sg.macs for sg in mg.subgraphs)
    sg_flops = sum(sg.flops for sg in mg.subgraphs)
    problems = []
    if not op_macs == sg_macs == mg.info.macs:
        problems.append(f"MACs: ops {op_macs:,}, subgraphs {sg_macs:,}, model {mg.info.macs:,}")
    if not op_flops == sg_flops == mg.info.flops:
        problems.append(f"FLOPs: ops {op_flops:,}, subgraphs {sg_flops:,}, model {mg.info.flops:,}")
    if not problems:
        for sg in mg.subgraphs:
            ops = [mg.ops[i] for i in sg.op_indices if 0 <= i < len(mg.ops)]
            if sum(o.macs for o in ops) != sg.macs or sum(o.flops for o in ops) != sg.flops:
                problems.append(f"subgraph {sg.index} ({sg.pattern}): {sg.macs:,} MACs / {sg.flops:,} FLOPs, "
                                f"its ops {sum(o.macs for o in ops):,} / {sum(o.flops for o in ops):,}")
                break
    measured = f"{_si(op_macs)} MACs, {_si(op_flops)} FLOPs" if not problems else "not conserved"
    return not problems, measured, "ops = subgraphs = model", "; ".join(problems)


@_universal("bytes")
def _check_bytes(mg: ModelGraph) -> tuple[bool, str, str, str]:
    problems = []
    saved = 0
    for sg in mg.subgraphs:
        op_bytes = sum(mg.ops[i].bytes_total for i in sg.op_indices if 0 <= i < len(mg.ops))
        saved += op_bytes - sg.external_bytes
        if sg.external_bytes > op_bytes:
            problems.append(f"subgraph {sg.index} ({sg.pattern}): external {sg.external_bytes:,} B > its ops' "
                            f"{op_bytes:,} B")
        elif sg.external_bytes != sg.input_bytes + sg.output_bytes + sg.weight_bytes:
            problems.append(f"subgraph {sg.index}: external {sg.external_bytes:,} B != inputs + outputs + weights "
                            f"{sg.input_bytes + sg.output_bytes + sg.weight_bytes:,} B")
    measured = f"{_si(saved)}B kept on chip" if not problems else f"{len(problems)} subgraphs violate"
    return not problems, measured, "external ≤ its ops' bytes", "; ".join(problems[:1])


@_universal("dag")
def _check_dag(mg: ModelGraph) -> tuple[bool, str, str, str]:
    import networkx as nx

    nodes = {sg.index for sg in mg.subgraphs}
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    dangling = [(s, d) for s, d, _ in mg.subgraph_edges if s not in nodes or d not in nodes]
    g.add_edges_from((s, d) for s, d, _ in mg.subgraph_edges)
    problems = []
    if dangling:
        problems.append(f"edge {dangling[0]} names a subgraph that does not exist")
    if not nx.is_directed_acyclic_graph(g):
        cycle = nx.find_cycle(g)
        problems.append("cycle " + " -> ".join(str(u) for u, _ in cycle) + f" -> {cycle[0][0]}")
    measured = f"{g.number_of_nodes()} nodes, {len(mg.subgraph_edges)} edges" + (", cyclic" if problems else "")
    return not problems, measured, "acyclic", "; ".join(problems)


@_universal("stages")
def _check_stages(mg: ModelGraph) -> tuple[bool, str, str, str]:
    stage = {sg.index: sg.stage for sg in mg.subgraphs}
    preds: dict[int, list[int]] = {i: [] for i in stage}
    for s, d, _ in mg.subgraph_edges:
        if d in preds and s in stage:
            preds[d].append(s)
    problems = []
    for sg in mg.subgraphs:
        want = 1 + max(stage[p] for p in preds[sg.index]) if preds[sg.index] else 0
        if sg.stage != want:
            problems.append(f"subgraph {sg.index} has stage {sg.stage}, its predecessors give {want}")
            break
    depth = max(stage.values()) + 1 if stage else 0
    if not problems and mg.info.depth != depth:
        problems.append(f"model depth {mg.info.depth} != {depth} stages")
    return not problems, f"depth {depth}", "1 + max(pred stage)", "; ".join(problems)


@_universal("intensity")
def _check_intensity(mg: ModelGraph) -> tuple[bool, str, str, str]:
    from perfgraph.analysis import summarize

    problems = []
    for sg in mg.subgraphs:
        want = sg.flops / sg.external_bytes if sg.external_bytes else 0.0
        if not math.isclose(sg.intensity, want, rel_tol=1e-9, abs_tol=1e-12):
            problems.append(f"subgraph {sg.index}: intensity {sg.intensity:.6g}, FLOPs / external bytes = {want:.6g}")
            break
    external = sum(sg.external_bytes for sg in mg.subgraphs)
    flops = sum(sg.flops for sg in mg.subgraphs)
    model = flops / external if external else 0.0
    reported = summarize(mg, top=0)["intensity"]
    if not math.isclose(reported, model, rel_tol=1e-9, abs_tol=1e-12):
        problems.append(f"model intensity {reported:.6g} != total FLOPs / total external bytes {model:.6g}")
    return not problems, f"model {model:.2f} FLOP/B", "FLOPs / ext. bytes", "; ".join(problems)


@_universal("finite")
def _check_finite(mg: ModelGraph) -> tuple[bool, str, str, str]:
    checked = 0
    problems = []

    def scan(where: str, obj: Any, fields: tuple[str, ...]) -> None:
        nonlocal checked
        for f in fields:
            checked += 1
            if _bad_number(getattr(obj, f)) and not problems:
                problems.append(f"{where}.{f} = {getattr(obj, f)!r}")

    scan("model", mg.info, ("batch", "params", "macs", "flops", "ops", "subgraphs", "depth"))
    for op in mg.ops:
        scan(f"op {op.index}", op, ("macs", "flops", "bytes_read", "bytes_written", "weight_bytes",
                                    "parallelism_batch", "parallelism_channels", "parallelism_spatial"))
    for sg in mg.subgraphs:
        scan(f"subgraph {sg.index}", sg, ("macs", "flops", "external_bytes", "input_bytes", "output_bytes",
                                          "weight_bytes", "intensity", "parallelism_batch", "parallelism_channels",
                                          "parallelism_spatial"))
    for kind, edges in (("op edge", mg.op_edges), ("subgraph edge", mg.subgraph_edges)):
        for s, d, b in edges:
            checked += 1
            if _bad_number(b) and not problems:
                problems.append(f"{kind} {s}->{d} bytes = {b!r}")
    return not problems, f"{checked:,} figures", "≥ 0, not NaN or inf", "; ".join(problems)


def universal_checks(mg: ModelGraph) -> list[CheckResult]:
    """Run every universal check; a check that raises on a corrupted graph fails with the exception."""
    results = []
    for name, fn in UNIVERSAL.items():
        try:
            ok, measured, expected, detail = fn(mg)
        except Exception as exc:  # noqa: BLE001 - a corrupted graph may break a check's own arithmetic
            ok, measured, expected, detail = False, "check raised", "no error", f"{type(exc).__name__}: {exc}"
        results.append(CheckResult(name, PASS if ok else FAIL, measured, expected, detail=detail))
    return results
