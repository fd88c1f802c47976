"""The plain data every stage passes to the next: an op graph and its partition into subgraphs (kernels).

Nothing here imports torch: ingest produces these objects, and the stores, queries and engine consume them.
Field names follow the graph schema in `shared/design.md`, so a dataclass turns into a node's properties
with `dataclasses.asdict` and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERFGRAPH_VERSION = "0.1.0"


@dataclass
class Op:
    """One ATen op as it executed.

    `kind` is one of: conv, matmul, attention (the MAC ops), elementwise, norm, reduction, pool,
    data (copies, concatenation, indexing), view (metadata only: zero bytes, zero FLOPs), creation,
    detection (torchvision's roi_align and nms, each with its own formula), other (no formula),
    collective (an all-reduce, all-gather or send that `llm_parallel` inserts: 0 FLOPs, its bytes, and
    `groups` = the chips taking part).
    `costed` is False when no formula covers a non-trivial op: such ops are named in every report,
    never silently counted as zero.
    """

    uid: str
    model_id: str
    index: int
    name: str
    target: str
    kind: str
    macs: int = 0
    flops: int = 0
    bytes_read: int = 0  # activation inputs (not weights)
    bytes_written: int = 0  # outputs
    weight_bytes: int = 0  # parameters and buffers read
    output_shape: list[int] = field(default_factory=list)
    dtype: str = ""
    module_path: str = ""
    parallelism_batch: int = 1
    parallelism_channels: int = 1
    parallelism_spatial: int = 1
    costed: bool = True
    groups: int = 1  # convolution groups (channels for a depthwise conv); chips of a collective; else 1
    # Values read and written: ids into OpGraph.values. Kept for partitioning; not stored as properties.
    inputs: list[int] = field(default_factory=list, repr=False)
    outputs: list[int] = field(default_factory=list, repr=False)

    @property
    def bytes_total(self) -> int:
        return self.bytes_read + self.bytes_written + self.weight_bytes


@dataclass
class Value:
    """A tensor value (SSA: an in-place op makes a new value). `producer` is an op index, or -1 for a
    model input, a weight (parameter or buffer) or a constant."""

    vid: int
    nbytes: int
    producer: int = -1
    is_weight: bool = False
    is_model_input: bool = False
    is_model_output: bool = False


@dataclass
class Subgraph:
    """A fused kernel: a set of ops that a runtime would launch as one."""

    uid: str
    model_id: str
    index: int
    pattern: str
    op_indices: list[int]
    macs: int = 0
    flops: int = 0
    external_bytes: int = 0  # what crosses the boundary: inputs + outputs + weights
    input_bytes: int = 0
    output_bytes: int = 0
    weight_bytes: int = 0
    intensity: float = 0.0  # flops / external_bytes
    parallelism_batch: int = 1
    parallelism_channels: int = 1
    parallelism_spatial: int = 1
    anchor_kind: str = ""  # kind of the op that dominates the kernel (conv, matmul, elementwise, ...)
    uncosted_ops: int = 0
    stage: int = -1  # set by the stage query
    on_critical_path: bool = False  # on the FLOP-weighted critical path


@dataclass
class ModelInfo:
    id: str
    name: str
    source: str
    batch: int
    input_shape: list[int]
    dtype: str
    params: int = 0
    macs: int = 0
    flops: int = 0
    ops: int = 0
    subgraphs: int = 0
    depth: int = 0
    tracer: str = ""
    ingested_at: str = ""
    perfgraph_version: str = PERFGRAPH_VERSION
    published_macs: int | None = None  # from the weight metadata, where there is any
    published_params: int | None = None
    assumptions: list[str] = field(default_factory=list)  # conventions the counts rest on, printed with them


@dataclass
class ModelGraph:
    """Everything ingest knows about one model: ops with their data edges, and the subgraph partition."""

    info: ModelInfo
    ops: list[Op]
    values: list[Value]
    op_edges: list[tuple[int, int, int]]  # (src op index, dst op index, bytes)
    subgraphs: list[Subgraph] = field(default_factory=list)
    subgraph_edges: list[tuple[int, int, int]] = field(default_factory=list)  # (src, dst, bytes)

    @property
    def uncosted(self) -> list[Op]:
        return [op for op in self.ops if not op.costed]

    def totals(self) -> dict[str, int]:
        external = sum(s.external_bytes for s in self.subgraphs)
        flops = sum(s.flops for s in self.subgraphs)
        return {"macs": self.info.macs, "flops": flops, "external_bytes": external}
