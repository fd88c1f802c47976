"""Fuse an op graph into the kernels a runtime would launch (subgraphs), and cost each kernel.

The rule, applied in execution order:
- A MAC op (conv, matmul, attention) and a data-movement op (cat, copy, index, pad) start a new kernel.
- Elementwise, norm, reduction and pooling ops fuse into the kernel of one producer when that producer is
  the kernel's current tail, its output has no other consumer (not a fork), and the kernel is still open.
  That covers conv/matmul epilogues (bias, norm, activation, residual add) and elementwise chains.
- A join (an op with several producers, e.g. a residual add) fuses into the oldest eligible producer's
  kernel -- the main path, started first in execution order -- and its other inputs (the shortcut branch)
  become kernel-to-kernel edges, so a downsample branch stays free to run beside the main path. A fork
  ends a chain.
- A reduction or pooling op closes its kernel: nothing fuses after it.
- Kernels are numbered in a topological order, execution order breaking ties: every kernel-to-kernel edge
  goes from a lower index to a higher one.
- Views are free: they follow their producer's chain. Free leaf ops (views of weights, `empty`, scalars)
  join the kernel of their first consumer.

Why this stays acyclic: only a kernel's tail output leaves it, and a kernel accepts a new op only while its
tail has that op as its single consumer, so an open kernel has no outgoing edges yet. An edge into it
can never close a cycle. Edges look through free ops to the kernel that computed the data, so a view
adopted by one consumer's kernel does not make that kernel a false producer for other consumers.
"""

from __future__ import annotations

import copy
from collections import Counter

from perfgraph.graph import ModelGraph, Op, Subgraph

ANCHOR_KINDS = {"conv", "matmul", "attention"}
STARTS_KERNEL = ANCHOR_KINDS | {"data", "detection", "other", "collective"}
FUSABLE = {"elementwise", "norm", "reduction", "pool", "view"}
CLOSES_KERNEL = {"reduction", "pool", "collective"}  # a collective is a kernel alone
FREE_KINDS = {"view", "creation"}


def partition(mg: ModelGraph, fuse: bool = True) -> ModelGraph:
    """A new graph: `mg`'s ops and values (shared, not copied) with its subgraphs and subgraph edges.
    Deterministic: same op graph, same subgraphs. `mg` itself is not changed.

    ``fuse=False`` is PyTorch eager execution: every op that is not free (views, creation) is a kernel of
    its own; free ops still join their producer's or consumer's kernel, since they launch nothing."""
    mg = copy.copy(mg)
    mg.info = copy.copy(mg.info)
    ops, values = mg.ops, mg.values
    consumers: dict[int, list[int]] = {}
    for op in ops:
        for v in op.inputs:
            consumers.setdefault(v, []).append(op.index)

    def producers(op: Op) -> list[int]:
        return [values[v].producer for v in op.inputs if values[v].producer >= 0 and not values[v].is_weight]

    def is_free_leaf(op: Op) -> bool:
        return op.kind in FREE_KINDS and not producers(op)

    group_of: list[int] = [-1] * len(ops)
    members: list[list[int]] = []
    tail: list[int] = []  # last op of each kernel
    closed: list[bool] = []
    pending_free: list[int] = []  # free leaf ops waiting for their first consumer

    def new_group(i: int) -> int:
        members.append([i])
        tail.append(i)
        closed.append(ops[i].kind in CLOSES_KERNEL)
        group_of[i] = len(members) - 1
        return group_of[i]

    def fork_free_tail(p: int, i: int) -> bool:
        """True when op p's outputs are read by op i alone (and are no model output)."""
        for v in ops[p].outputs:
            readers = consumers.get(v, [])
            if values[v].is_model_output or any(r != i for r in readers):
                return False
        return True

    for op in ops:
        i = op.index
        if is_free_leaf(op):
            pending_free.append(i)
            continue
        g = -1
        joins = op.kind in FUSABLE | {"creation"} if fuse else op.kind in FREE_KINDS
        if op.kind not in STARTS_KERNEL and joins:
            candidates = sorted({group_of[p] for p in producers(op)
                                 if group_of[p] >= 0 and tail[group_of[p]] == p and not closed[group_of[p]]
                                 and fork_free_tail(p, i)})
            if candidates:
                g = candidates[0]
                members[g].append(i)
                tail[g] = i
                group_of[i] = g
                closed[g] = op.kind in CLOSES_KERNEL
        if g < 0:
            if op.kind == "view":
                # A view that cannot follow its producer's chain waits for its first consumer.
                pending_free.append(i)
                continue
            g = new_group(i)
        # Free leaf ops this op reads join its kernel.
        for v in op.inputs:
            p = values[v].producer
            if p >= 0 and group_of[p] < 0:
                _adopt(p, g, group_of, members, ops, values)
    # Free leaf ops nobody reads (e.g. `empty` outputs of a batch norm) join the next op's kernel.
    for i in pending_free:
        if group_of[i] < 0:
            later = next((group_of[j] for j in range(i + 1, len(ops)) if group_of[j] >= 0), -1)
            earlier = next((group_of[j] for j in range(i - 1, -1, -1) if group_of[j] >= 0), -1)
            target = later if later >= 0 else earlier
            if target < 0:
                target = new_group(i)
            else:
                members[target].append(i)
                group_of[i] = target
    # Number kernels in a topological order that follows execution order wherever it can (the kernel whose
    # first op runs earliest goes first among those ready): a kernel's predecessors all have lower indices,
    # which lets the stores compute stages and critical paths in one pass over the index order.
    edges = _subgraph_edges(mg, group_of)
    order = _topological_kernel_order(edges, members)
    renumber = {old: new for new, old in enumerate(order)}
    group_of = [renumber[g] for g in group_of]
    members = [sorted(members[g]) for g in order]
    # Values some kernel other than the producer's reads: these are written out to memory.
    leaves = {v for op in ops for v in op.inputs if values[v].producer >= 0 and not values[v].is_weight
              and group_of[values[v].producer] != group_of[op.index]}
    mg.subgraphs = [_cost_subgraph(mg, k, m, leaves) for k, m in enumerate(members)]
    mg.subgraph_edges = sorted((renumber[s], renumber[d], b) for s, d, b in edges)
    mg.info.subgraphs = len(mg.subgraphs)
    return mg


def _topological_kernel_order(edges: list[tuple[int, int, int]], members: list[list[int]]) -> list[int]:
    """Kernels in topological order of their data edges, ties going to the kernel whose first op runs first.
    (Numbering by first op alone is not topological: a residual add fuses into the main path's kernel,
    which starts before the shortcut branch that feeds it.)"""
    import networkx as nx

    first = [min(m) for m in members]
    dag = nx.DiGraph()
    dag.add_nodes_from(range(len(members)))
    dag.add_edges_from((s, d) for s, d, _ in edges)
    return list(nx.lexicographical_topological_sort(dag, key=lambda g: first[g]))


def _adopt(p: int, g: int, group_of: list[int], members: list[list[int]], ops: list[Op], values) -> None:
    """Put free leaf op p (and free leaf ops it reads, e.g. a view of a view) into kernel g."""
    group_of[p] = g
    members[g].append(p)
    for v in ops[p].inputs:
        q = values[v].producer
        if q >= 0 and group_of[q] < 0:
            _adopt(q, g, group_of, members, ops, values)


def _cost_subgraph(mg: ModelGraph, index: int, member_ops: list[int], leaves: set[int]) -> Subgraph:
    ops, values = mg.ops, mg.values
    inside = set(member_ops)
    read_in: dict[int, int] = {}  # external value -> bytes charged
    read_w: dict[int, int] = {}
    for i in member_ops:
        for v in ops[i].inputs:
            if values[v].producer in inside:
                continue
            charge = values[v].nbytes
            if ops[i].kind == "view" and ops[i].outputs:
                # Through a view the kernel touches only what the view exposes (a slice, a token).
                charge = min(charge, values[ops[i].outputs[0]].nbytes)
            target = read_w if values[v].is_weight else read_in
            target[v] = max(target.get(v, 0), charge)
    written = {v for i in member_ops for v in ops[i].outputs if v in leaves or values[v].is_model_output}
    # Nor read more than its ops read: a chain of views (split, then slice) or a view no op reads exposes
    # less than the buffer it was taken from, and only what the ops read crosses the boundary.
    input_bytes = min(sum(read_in.values()), sum(ops[i].bytes_read for i in member_ops))
    # Weights likewise: an op may read only part of a weight (the experts a MoE token is routed to).
    weight_bytes = min(sum(read_w.values()), sum(ops[i].weight_bytes for i in member_ops))
    # A kernel cannot write more than its ops write: a view leaving the kernel can expose a larger buffer
    # that an in-place op wrote only a slice of (swin's attention mask, filled through slices).
    output_bytes = min(sum(values[v].nbytes for v in written), sum(ops[i].bytes_written for i in member_ops))
    external = input_bytes + weight_bytes + output_bytes
    macs = sum(ops[i].macs for i in member_ops)
    flops = sum(ops[i].flops for i in member_ops)
    costly = [ops[i] for i in member_ops if ops[i].kind not in FREE_KINDS] or [ops[i] for i in member_ops]
    anchor = max(costly, key=lambda o: (o.flops, o.bytes_total, -o.index))
    return Subgraph(
        uid=f"{mg.info.id}/sg{index}", model_id=mg.info.id, index=index, pattern=_pattern(costly),
        op_indices=list(member_ops), macs=macs, flops=flops, external_bytes=external, input_bytes=input_bytes,
        output_bytes=output_bytes, weight_bytes=weight_bytes,
        intensity=flops / external if external else 0.0,
        parallelism_batch=anchor.parallelism_batch, parallelism_channels=anchor.parallelism_channels,
        parallelism_spatial=anchor.parallelism_spatial, anchor_kind=anchor.kind,
        uncosted_ops=sum(1 for i in member_ops if not ops[i].costed),
    )


def _pattern(costly: list[Op]) -> str:
    """e.g. `convolution+native_batch_norm+relu_`: the kernel's ops in order, repeats collapsed."""
    names: list[str] = []
    for op in costly:
        short = op.target.split(".")[1] if op.target.count(".") >= 2 else op.target
        if not names or names[-1] != short:
            names.append(short)
    if len(names) > 6:
        names = names[:5] + [f"...({len(names) - 5} more)"]
    return "+".join(names)


def _source_group(mg: ModelGraph, v: int, group_of: list[int]) -> int:
    """The kernel that computed value v's data: a free op (view, creation) adopted by some consumer's
    kernel only relabels data, so look through it to the op that produced the data (-1: a constant)."""
    p = mg.values[v].producer
    while p >= 0 and mg.ops[p].kind in FREE_KINDS:
        sources = [u for u in mg.ops[p].inputs if mg.values[u].producer >= 0 and not mg.values[u].is_weight]
        if not sources:
            return -1
        p = mg.values[sources[0]].producer
    return group_of[p] if p >= 0 else -1


def _subgraph_edges(mg: ModelGraph, group_of: list[int]) -> list[tuple[int, int, int]]:
    """Kernel-to-kernel data edges, weighted by the distinct bytes crossing (weights are no edges)."""
    crossing: dict[tuple[int, int], set[int]] = {}
    for op in mg.ops:
        dst = group_of[op.index]
        for v in op.inputs:
            value = mg.values[v]
            if value.producer < 0 or value.is_weight:
                continue
            src = _source_group(mg, v, group_of)
            if src >= 0 and src != dst:
                crossing.setdefault((src, dst), set()).add(v)
    return sorted((s, d, sum(mg.values[v].nbytes for v in vs)) for (s, d), vs in crossing.items())


def pattern_histogram(mg: ModelGraph) -> Counter:
    return Counter(s.pattern for s in mg.subgraphs)
