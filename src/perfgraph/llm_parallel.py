"""Tensor and pipeline parallelism of a traced LLM phase: the per-chip graph with its communication kernels.

    from perfgraph import llm, llm_parallel
    mg = llm.phase_graph("hf:llama-7b", "decode", batch=8, context=2048)
    pg = llm_parallel.parallelize(mg, tp=4, pp=2)       # one chip's share, with all-reduces and sends
    mm = llm.map_phase(pg.graph, "h100")                # collectives costed by the chip's interconnect
    llm_parallel.pipeline_time(llm_parallel.stage_times(mm, pg), micro_batches=4)

**Tensor parallel (TP) over N chips, the Megatron-LM way** (Shoeybi et al. 2019, section 3): in every
decoder layer the attention block is split by heads (Q/K/V column-parallel, the output projection
row-parallel) and the MLP by its intermediate features (up/gate column-parallel, down row-parallel); each
block ends with one all-reduce of its output (batch x tokens x hidden x bytes) -- 2 per layer in the
forward.  The token embedding is vocab-parallel (an all-reduce of its output) and the LM head
column-parallel over the vocabulary (an all-gather of the logits).  The graph is rewritten op by op: every
op inside a split block does 1/N of its FLOPs and MACs and reads 1/N of its weights; tensors that stay
inside a block (per-head activations, the KV cache) are 1/N the size; a block's output stays full size
(partial sums); norms, residual adds and everything else are replicated on every chip.  The heads, KV
heads and intermediate size must divide by N (KV heads are not replicated).

**Pipeline parallel (PP) over M stages**: the decoder layers are split into M contiguous groups of
(nearly) equal size; the ops before the first layer run on stage 0, those after the last on stage M-1.  At
each stage boundary one `send` kernel hands on the hidden state (batch x tokens x hidden x bytes, the
largest tensor crossing the boundary); the other crossing tensors (rotary tables, masks, positions) are
taken as recomputed on each stage and cost no link time.  With m micro-batches (each batch / m
sequences) and t_s the time of stage s for one micro-batch (its kernels, its send included)::

    time   = sum_s t_s + (m - 1) x max_s t_s         (GPipe: fill the pipeline, then one per bottleneck)
    bubble = 1 - m x sum_s t_s / (M x time)          ((M - 1) / (m + M - 1) for equal stages)

The communication kernels are ordinary kernels of the graph (anchor kind "collective", pattern
all_reduce / all_gather / send, 0 FLOPs, their bytes), so stages, critical paths and the Neo4j store see
them like any other.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from perfgraph.graph import ModelGraph, Op, Value

LAYER_RE = re.compile(r"(?:^|\.)(?:layers|layer|h|blocks)\.(\d+)(?:\.|$)")
ATTENTION_BLOCK = re.compile(r"^(self_)?(attn|attention)$")  # llama/mistral self_attn, gpt2 attn, falcon
MLP_BLOCK = re.compile(r"^(mlp|feed_forward|block_sparse_moe|ffn)$")
EMBEDDING_NAMES = ("embed_tokens", "wte", "word_embeddings")
HEAD_NAMES = ("lm_head",)


@dataclass
class ParallelGraph:
    """One chip's graph under TP x PP, and where each kernel runs in the pipeline."""

    graph: ModelGraph
    tp: int
    pp: int
    pipeline_stage: dict[int, int]  # subgraph index -> pipeline stage
    collectives: dict[str, int] = field(default_factory=dict)  # kind -> kernels
    notes: list[str] = field(default_factory=list)


def layer_of(path: str) -> int | None:
    m = LAYER_RE.search(path or "")
    return int(m.group(1)) if m else None


def block_of(path: str) -> tuple[str, str] | None:
    """(block, collective) when an op at module `path` sits in a tensor-parallel block, else None."""
    path = path or ""
    m = LAYER_RE.search(path)
    if m:
        seg = path[m.end():].split(".")[0]
        if ATTENTION_BLOCK.match(seg) or MLP_BLOCK.match(seg):
            return path[:m.end()] + seg, "all_reduce"
        return None
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part in EMBEDDING_NAMES:
            return ".".join(parts[:i + 1]), "all_reduce"
        if part in HEAD_NAMES:
            return ".".join(parts[:i + 1]), "all_gather"
    return None


def is_attention_block(block: str) -> bool:
    m = LAYER_RE.search(block)
    return bool(m) and bool(ATTENTION_BLOCK.match(block[m.end():]))


def check_degrees(arch: Any, tp: int, pp: int) -> None:
    """ValueError (one line) unless the architecture splits evenly `tp` ways and into `pp` stages."""
    if tp < 1 or pp < 1:
        raise ValueError(f"--tp and --pp must be >= 1, got tp={tp}, pp={pp}")
    bad = [f"{name} ({value})" for name, value in (("heads", arch.heads), ("KV heads", arch.kv_heads),
                                                  ("intermediate size", arch.intermediate)) if value % tp]
    if bad:
        raise ValueError(f"tensor parallel {tp} needs {', '.join(bad)} divisible by {tp}")
    if pp > arch.layers:
        raise ValueError(f"pipeline parallel {pp} needs at least {pp} layers; {arch.name} has {arch.layers}")


def parallelize(mg: ModelGraph, tp: int = 1, pp: int = 1) -> ParallelGraph:
    """One chip's share of `mg` under `tp`-way tensor and `pp`-way pipeline parallelism (module docstring),
    partitioned, with stages and the FLOP critical path set.  `mg` is not changed."""
    from perfgraph.analysis import annotate_stages
    from perfgraph.ingest.partition import partition

    tp, pp = int(tp), int(pp)
    if tp < 1 or pp < 1:
        raise ValueError(f"--tp and --pp must be >= 1, got tp={tp}, pp={pp}")
    ops = [replace(op, inputs=list(op.inputs), outputs=list(op.outputs), output_shape=list(op.output_shape))
           for op in mg.ops]
    values = [replace(v) for v in mg.values]
    notes: list[str] = []
    if tp > 1:
        ops, values = _tensor_parallel(ops, values, tp)
        notes.append(f"tensor parallel {tp} (Megatron): attention heads and MLP features split, 2 all-reduces per "
                     "layer, vocab-parallel embedding (all-reduce) and LM head (all-gather); norms and residual "
                     "adds replicated")
    stage_of_op = [0] * len(ops)
    if pp > 1:
        ops, values, stage_of_op = _pipeline_parallel(ops, values, pp)
        notes.append(f"pipeline parallel {pp}: layers split evenly, one send of the hidden state per boundary "
                     "(rotary tables and masks recomputed per stage)")
    suffix = ":".join(p for p in (f"tp={tp}" if tp > 1 else "", f"pp={pp}" if pp > 1 else "") if p)
    new_id = f"{mg.info.id}:{suffix}" if suffix else mg.info.id
    ops = _renumbered(ops, new_id)
    info = copy.copy(mg.info)
    info.id = new_id
    info.assumptions = list(mg.info.assumptions or []) + notes
    info.macs, info.flops, info.ops = sum(o.macs for o in ops), sum(o.flops for o in ops), len(ops)
    out = ModelGraph(info=info, ops=ops, values=values, op_edges=_op_edges(ops, values))
    out = annotate_stages(partition(out))
    pipeline = {sg.index: max(stage_of_op[i] for i in sg.op_indices) if sg.op_indices else 0
                for sg in out.subgraphs}
    counts: dict[str, int] = {}
    for sg in out.subgraphs:
        if sg.anchor_kind == "collective":
            counts[sg.pattern] = counts.get(sg.pattern, 0) + 1
    return ParallelGraph(graph=out, tp=tp, pp=pp, pipeline_stage=pipeline, collectives=counts, notes=notes)


# -- tensor parallel ------------------------------------------------------------------------------------
def _consumers(ops: list[Op]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for op in ops:
        for v in op.inputs:
            out.setdefault(v, []).append(op.index)
    return out


def _tensor_parallel(ops: list[Op], values: list[Value], n: int) -> tuple[list[Op], list[Value]]:
    blocks = [block_of(op.module_path) for op in ops]
    consumers = _consumers(ops)
    sharded: set[int] = set()  # values 1/n the size on each chip
    block_outputs: dict[str, list[int]] = {}
    collective_of: dict[str, str] = {}
    for v in values:
        readers = consumers.get(v.vid, [])
        if v.producer >= 0:
            block = blocks[v.producer]
            if block is None:
                continue
            if v.is_model_output or any(blocks[r] is None for r in readers):
                block_outputs.setdefault(block[0], []).append(v.vid)
                collective_of[block[0]] = block[1]
                if block[1] == "all_gather":
                    sharded.add(v.vid)  # column-parallel output, gathered after
            elif readers and all(blocks[r] == block for r in readers):
                sharded.add(v.vid)
        elif readers and all(blocks[r] is not None for r in readers):
            if (_feeds_split_op(v.vid, ops, consumers) if v.is_weight
                    else all(is_attention_block(blocks[r][0]) for r in readers)):
                sharded.add(v.vid)  # weights of split GEMMs and lookups; the KV cache (split by heads)
    old_nbytes = {v.vid: v.nbytes for v in values}
    full_shape = {op.index: list(op.output_shape) for op in ops}
    for vid in sharded:
        values[vid].nbytes = values[vid].nbytes // n
    for op in ops:
        if blocks[op.index] is not None:
            _shard_op(op, values, old_nbytes, sharded, n)
    return _insert_collectives(ops, values, block_outputs, collective_of, n, blocks, full_shape)


def _feeds_split_op(vid: int, ops: list[Op], consumers: dict[int, list[int]], depth: int = 3) -> bool:
    """True when a weight is read (through views) by a GEMM or an embedding lookup: the weights TP splits
    (small buffers a block reads, e.g. a scaling constant, stay whole)."""
    for r in consumers.get(vid, []):
        op = ops[r]
        if op.kind in ("matmul", "attention", "conv") or op.target.startswith("aten.embedding"):
            return True
        if op.kind == "view" and depth > 0 and any(_feeds_split_op(o, ops, consumers, depth - 1) for o in op.outputs):
            return True
    return False


def _rescaled(total: int, vids: list[int], values: list[Value], old_nbytes: dict[int, int]) -> int:
    before = sum(old_nbytes[v] for v in vids)
    return round(total * sum(values[v].nbytes for v in vids) / before) if before else total


def _shard_op(op: Op, values: list[Value], old_nbytes: dict[int, int], sharded: set[int], n: int) -> None:
    op.flops, op.macs = round(op.flops / n), round(op.macs / n)
    inputs = [v for v in op.inputs if not values[v].is_weight]
    weights = [v for v in op.inputs if values[v].is_weight]
    op.bytes_read = _rescaled(op.bytes_read, inputs, values, old_nbytes)
    op.weight_bytes = _rescaled(op.weight_bytes, weights, values, old_nbytes)
    op.bytes_written = _rescaled(op.bytes_written, op.outputs, values, old_nbytes)
    shape = op.output_shape
    if op.outputs and op.outputs[0] in sharded and shape:
        axis = 1 if op.kind == "attention" and len(shape) >= 3 else len(shape) - 1
        if shape[axis] % n == 0:  # heads (attention) or output features (column-parallel GEMM)
            shape[axis] //= n


def _collective_op(kind: str, block: str, inputs: list[int], outputs: list[int], nbytes: int, chips: int,
                   dtype: str, shape: list[int]) -> Op:
    return Op(uid="", model_id="", index=-1, name=kind, target=f"c10d.{kind}.default", kind="collective",
              bytes_read=nbytes if kind != "all_gather" else nbytes // chips, bytes_written=nbytes,
              output_shape=list(shape), dtype=dtype, module_path=block, groups=chips, inputs=inputs,
              outputs=outputs)


def _insert_collectives(ops, values, block_outputs, collective_of, n, blocks, full_shape):
    """One collective per block over the block's outputs, placed after their last producer."""
    after: dict[int, list[Op]] = {}
    for block, vids in block_outputs.items():
        kind = collective_of[block]
        new = []
        for vid in vids:
            v = values[vid]
            full = v.nbytes * n if kind == "all_gather" else v.nbytes
            values.append(Value(len(values), full, -1, is_model_output=v.is_model_output))
            v.is_model_output = False
            new.append(values[-1].vid)
        producer = max(values[v].producer for v in vids)
        first = ops[values[vids[0]].producer]
        comm = _collective_op(kind, block, list(vids), new, sum(values[v].nbytes for v in new), n,
                              first.dtype, full_shape[first.index])
        remap = dict(zip(vids, new))
        for op in ops:  # readers outside the block read the collective's result
            if blocks[op.index] is None:
                op.inputs = [remap.get(v, v) for v in op.inputs]
        after.setdefault(producer, []).append(comm)
    return _spliced(ops, values, after), values


def _spliced(ops: list[Op], values: list[Value], after: dict[int, list[Op]]) -> list[Op]:
    """`ops` with the new ops placed after the op they follow; indices and value producers renumbered."""
    order: list[Op] = []
    for op in ops:
        order.append(op)
        order += after.get(op.index, [])
    for i, op in enumerate(order):
        op.index = i
        for v in op.outputs:
            values[v].producer = i
    return order


# -- pipeline parallel ----------------------------------------------------------------------------------
def _pipeline_parallel(ops: list[Op], values: list[Value], pp: int):
    layers = [layer_of(op.module_path) for op in ops]
    n_layers = max((x for x in layers if x is not None), default=-1) + 1
    if n_layers < pp:
        raise ValueError(f"pipeline parallel {pp} needs at least {pp} layers; the graph has {n_layers}")
    stage: list[int] = []
    for op in ops:
        layer = layers[op.index]
        if layer is not None:
            stage.append(layer * pp // n_layers)
        else:
            preds = [stage[values[v].producer] for v in op.inputs
                     if values[v].producer >= 0 and not values[v].is_weight]
            stage.append(max(preds, default=0))
    for boundary in range(pp - 1):
        ops, stage = _insert_send(ops, values, stage, boundary)
    return ops, values, stage


def _insert_send(ops: list[Op], values: list[Value], stage: list[int], b: int):
    consumers = _consumers(ops)
    crossing = [v.vid for v in values if v.producer >= 0 and not v.is_weight and stage[v.producer] <= b
                and any(stage[r] > b for r in consumers.get(v.vid, []))]
    if not crossing:
        return ops, stage
    remap = {}
    for vid in crossing:
        values.append(Value(len(values), values[vid].nbytes, -1))
        remap[vid] = values[-1].vid
    for op in ops:
        if stage[op.index] > b:
            op.inputs = [remap.get(v, v) for v in op.inputs]
    hidden = max(crossing, key=lambda v: (values[v].nbytes, -v))
    src = ops[values[hidden].producer]
    message = values[hidden].nbytes
    send = Op(uid="", model_id="", index=-1, name="send", target="c10d.send.default", kind="collective",
              bytes_read=message, bytes_written=message, output_shape=list(src.output_shape), dtype=src.dtype,
              module_path=f"pipeline.stage{b}", groups=2, inputs=list(crossing), outputs=list(remap.values()))
    producer = max(values[v].producer for v in crossing)
    stage_by_op = {id(op): s for op, s in zip(ops, stage)}
    stage_by_op[id(send)] = b
    ops = _spliced(ops, values, {producer: [send]})
    return ops, [stage_by_op[id(op)] for op in ops]


# -- graph plumbing -------------------------------------------------------------------------------------
def _renumbered(ops: list[Op], model_id: str) -> list[Op]:
    for i, op in enumerate(ops):
        base = op.name.rsplit("_", 1)[0] if op.uid else op.name
        op.uid, op.model_id, op.index, op.name = f"{model_id}/op{i}", model_id, i, f"{base}_{i}"
    return ops


def _op_edges(ops: list[Op], values: list[Value]) -> list[tuple[int, int, int]]:
    edges: dict[tuple[int, int], int] = {}
    for op in ops:
        for v in op.inputs:
            p = values[v].producer
            if p >= 0 and p != op.index:
                edges[(p, op.index)] = edges.get((p, op.index), 0) + values[v].nbytes
    return [(s, d, b) for (s, d), b in edges.items()]


# -- timing ---------------------------------------------------------------------------------------------
def stage_times(mm: Any, pg: ParallelGraph) -> list[float]:
    """Each pipeline stage's time for one micro-batch: the sum of its kernels' latencies in `mm` (a mapping
    of `pg.graph`; an eager mapping's per-op kernels by their share of the timeline)."""
    times = [0.0] * pg.pp
    fused = getattr(mm, "fused_subgraph_of", None) or {}
    for k in mm.kernels:
        index = fused.get(k.subgraph_index, k.subgraph_index) if fused else k.subgraph_index
        t = k.details.get("timeline_s", k.latency_s) if fused else k.latency_s
        times[pg.pipeline_stage.get(index, 0)] += t
    return times


def pipeline_time(stage_times_s: Sequence[float], micro_batches: int = 1) -> tuple[float, float]:
    """(time of a batch of `micro_batches` micro-batches, bubble fraction) (module docstring)."""
    m = int(micro_batches)
    if m < 1:
        raise ValueError(f"micro-batches must be >= 1, got {micro_batches}")
    times = [float(t) for t in stage_times_s]
    if not times:
        return 0.0, 0.0
    total = sum(times) + (m - 1) * max(times)
    busy = m * sum(times)
    return total, (1 - busy / (len(times) * total)) if total > 0 else 0.0
