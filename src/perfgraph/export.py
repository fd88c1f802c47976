"""Export a model's op graph or kernel (subgraph) graph: GraphML, JSON, Mermaid or Graphviz dot.

* GraphML (`networkx.write_graphml`): node and edge properties as in the graph schema (shared/design.md),
  list values (shapes, op indices) as JSON strings since GraphML attributes are scalars; the model's
  properties are graph attributes. Opens in Gephi, yEd, Cytoscape, and networkx (`read_graphml`).
* JSON (`networkx.node_link_data`, edges under "edges"): the same properties, lists kept as lists.
* Mermaid (`flowchart TD`) and dot (`digraph`): drawings for small graphs, the critical path in red.
  Refused above `MAX_DRAWN_NODES` nodes unless `force` (nobody reads a 2,000-node flowchart).

Node ids: an op's or subgraph's `uid` (e.g. `resnet18:b1:3x224x224:fp32/sg4`) in GraphML and JSON;
`sg4` / `op17` in drawings. Edges: FEEDS with the bytes that flow along them.
"""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import networkx as nx

from perfgraph.graph import ModelGraph, Op, Subgraph

FORMATS = ("graphml", "json", "mermaid", "dot")
LEVELS = ("subgraphs", "ops")
MAX_DRAWN_NODES = 300

# Properties per the schema: everything on the dataclasses except the partitioner's bookkeeping.
OP_PROPERTIES = [f.name for f in dataclasses.fields(Op) if f.name not in ("inputs", "outputs")]
SUBGRAPH_PROPERTIES = [f.name for f in dataclasses.fields(Subgraph)]


class ExportError(ValueError):
    """An export that cannot be made (too large to draw, unknown format); one line."""


def to_networkx(mg: ModelGraph, level: str = "subgraphs") -> nx.DiGraph:
    """The op graph (`level="ops"`) or kernel graph (`"subgraphs"`) with schema properties."""
    if level not in LEVELS:
        raise ExportError(f"unknown level {level!r}; choose {' or '.join(LEVELS)}")
    info = {k: v for k, v in dataclasses.asdict(mg.info).items() if v is not None}
    g = nx.DiGraph(level=level, **{f"model_{k}": v for k, v in info.items()})  # model_id, model_name, ...
    if level == "subgraphs":
        for sg in mg.subgraphs:
            g.add_node(sg.uid, label="Subgraph", **{k: getattr(sg, k) for k in SUBGRAPH_PROPERTIES})
        uid = {sg.index: sg.uid for sg in mg.subgraphs}
        for s, d, b in mg.subgraph_edges:
            g.add_edge(uid[s], uid[d], type="FEEDS", bytes=b)
    else:
        sg_of = {i: sg.index for sg in mg.subgraphs for i in sg.op_indices}
        for op in mg.ops:
            g.add_node(op.uid, label="Op", subgraph=sg_of.get(op.index, -1),
                       **{k: getattr(op, k) for k in OP_PROPERTIES})
        uid = {op.index: op.uid for op in mg.ops}
        for s, d, b in mg.op_edges:
            g.add_edge(uid[s], uid[d], type="FEEDS", bytes=b)
    return g


def _scalar(v: Any) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return v


def to_graphml(mg: ModelGraph, level: str = "subgraphs") -> str:
    g = to_networkx(mg, level)
    h = nx.DiGraph(**{k: _scalar(v) for k, v in g.graph.items()})
    for n, data in g.nodes(data=True):
        h.add_node(n, **{k: _scalar(v) for k, v in data.items() if v is not None})
    for u, v, data in g.edges(data=True):
        h.add_edge(u, v, **{k: _scalar(x) for k, x in data.items() if x is not None})
    buf = io.BytesIO()
    nx.write_graphml(h, buf, encoding="utf-8", prettyprint=True)
    return buf.getvalue().decode("utf-8")


def to_json(mg: ModelGraph, level: str = "subgraphs") -> str:
    data = nx.node_link_data(to_networkx(mg, level), edges="edges")
    return json.dumps(data, indent=1)


def _check_size(n: int, what: str, force: bool) -> None:
    if n > MAX_DRAWN_NODES and not force:
        raise ExportError(f"{n} {what} is too many to draw (limit {MAX_DRAWN_NODES}); use --level subgraphs, "
                          "--format graphml or json, or --force")


def _human(n: float) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.3g} {prefix}"
    return f"{n:.0f} "


def _short_pattern(pattern: str, limit: int = 48) -> str:
    return pattern if len(pattern) <= limit else pattern[: limit - 1] + "…"


def _drawing_items(mg: ModelGraph, level: str, force: bool):
    """(node id, label, on critical path) per node and (src id, dst id, on critical path) per edge."""
    cp = [sg.index for sg in sorted(mg.subgraphs, key=lambda s: s.stage) if sg.on_critical_path]
    if level == "subgraphs":
        _check_size(len(mg.subgraphs), "subgraphs", force)
        nodes = [(f"sg{sg.index}", f"#{sg.index} {_short_pattern(sg.pattern)}\\n"
                  f"stage {sg.stage}, {_human(sg.flops)}FLOP, {_human(sg.external_bytes)}B", sg.on_critical_path)
                 for sg in mg.subgraphs]
        cp_edges = set(zip(cp, cp[1:]))
        edges = [(f"sg{s}", f"sg{d}", (s, d) in cp_edges) for s, d, _ in mg.subgraph_edges]
    else:
        _check_size(len(mg.ops), "ops", force)
        on_cp_sg = set(cp)
        sg_of = {i: sg.index for sg in mg.subgraphs for i in sg.op_indices}
        nodes = [(f"op{op.index}", f"{op.name}\\n{op.kind}, {_human(op.flops)}FLOP", sg_of.get(op.index) in on_cp_sg)
                 for op in mg.ops]
        edges = [(f"op{s}", f"op{d}", sg_of.get(s) in on_cp_sg and sg_of.get(d) in on_cp_sg)
                 for s, d, _ in mg.op_edges]
    return nodes, edges


def to_mermaid(mg: ModelGraph, level: str = "subgraphs", force: bool = False) -> str:
    nodes, edges = _drawing_items(mg, level, force)
    lines = ["flowchart TD", f"  %% {mg.info.id}: {level}; red = critical path by FLOPs"]
    for nid, label, _ in nodes:
        text = label.replace('"', "'").replace("\\n", "<br/>")
        lines.append(f'  {nid}["{text}"]')
    crit_links = []
    for k, (s, d, crit) in enumerate(edges):
        lines.append(f"  {s} --> {d}")
        if crit:
            crit_links.append(str(k))
    lines.append("  classDef critical fill:#fdecec,stroke:#d62728,stroke-width:2px")
    crit_nodes = [nid for nid, _, crit in nodes if crit]
    if crit_nodes:
        lines.append(f"  class {','.join(crit_nodes)} critical")
    if crit_links:
        lines.append(f"  linkStyle {','.join(crit_links)} stroke:#d62728,stroke-width:2px")
    return "\n".join(lines) + "\n"


def to_dot(mg: ModelGraph, level: str = "subgraphs", force: bool = False) -> str:
    nodes, edges = _drawing_items(mg, level, force)
    title = mg.info.id.replace('"', "'")
    lines = [f'digraph "{title}" {{', "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", fontname="Helvetica", fontsize=10];',
             '  edge [color="#9a9a9a"];', f'  label="{title} ({level}); red = critical path by FLOPs"; labelloc=t;']
    for nid, label, crit in nodes:
        text = label.replace('"', "'")
        style = ', color="#d62728", fillcolor="#fdecec", penwidth=2' if crit else ""
        lines.append(f'  {nid} [label="{text}"{style}];')
    crit_style = ' [color="#d62728", penwidth=2]'
    for s, d, crit in edges:
        lines.append(f"  {s} -> {d}{crit_style if crit else ''};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export(mg: ModelGraph, fmt: str, level: str = "subgraphs", force: bool = False) -> str:
    """The graph as text in `fmt` (graphml | json | mermaid | dot)."""
    if fmt == "graphml":
        return to_graphml(mg, level)
    if fmt == "json":
        return to_json(mg, level)
    if fmt == "mermaid":
        return to_mermaid(mg, level, force)
    if fmt == "dot":
        return to_dot(mg, level, force)
    raise ExportError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
