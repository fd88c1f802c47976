"""`perfgraph.ingest.partition.partition` on small op graphs built by hand (no torch, no model).

Each graph is written op by op with the bytes of every value, so the kernels, their edges, their external
bytes and intensities can be worked out by hand (README, "Fusion into kernels" and "Costing").
"""

from __future__ import annotations

import networkx as nx
import pytest

from perfgraph.graph import ModelGraph, ModelInfo, Op, Value
from perfgraph.ingest.partition import partition


class GraphBuilder:
    """Values and ops in execution order, charged the way the tracer charges them: an op reads its
    activation inputs and weights and writes its output; a view moves nothing; a view of weights is a weight."""

    def __init__(self):
        self.ops: list[Op] = []
        self.values: list[Value] = []

    def _value(self, nbytes: int, producer: int = -1, **flags: bool) -> int:
        self.values.append(Value(len(self.values), nbytes, producer, **flags))
        return len(self.values) - 1

    def input(self, nbytes: int) -> int:
        return self._value(nbytes, is_model_input=True)

    def weight(self, nbytes: int) -> int:
        return self._value(nbytes, is_weight=True)

    def op(self, name: str, kind: str, *inputs: int, out: int | None = None, flops: int = 0, macs: int = 0) -> int:
        """Append op `name` reading `inputs`; returns the id of its output value (`out` bytes; a view's
        output has its input's size)."""
        if out is None:
            out = self.values[inputs[0]].nbytes
        index = len(self.ops)
        weights = [v for v in inputs if self.values[v].is_weight]
        acts = [v for v in inputs if not self.values[v].is_weight]
        free = kind == "view"
        output = self._value(out, index, is_weight=free and bool(inputs) and not acts)
        self.ops.append(Op(
            uid=f"m/op{index}", model_id="m", index=index, name=f"{name}_{index}", target=f"aten.{name}.default",
            kind=kind, macs=macs, flops=flops,
            bytes_read=0 if free else sum(self.values[v].nbytes for v in acts),
            weight_bytes=0 if free else sum(self.values[v].nbytes for v in weights),
            bytes_written=0 if free else out, inputs=list(inputs), outputs=[output]))
        return output

    def output(self, *vids: int) -> None:
        for v in vids:
            self.values[v].is_model_output = True

    def graph(self) -> ModelGraph:
        edges: dict[tuple[int, int], int] = {}
        for op in self.ops:
            for v in op.inputs:
                p = self.values[v].producer
                if p >= 0:
                    edges[(p, op.index)] = edges.get((p, op.index), 0) + self.values[v].nbytes
        info = ModelInfo(id="m", name="m", source="test", batch=1, input_shape=[1], dtype="fp32",
                         macs=sum(o.macs for o in self.ops), flops=sum(o.flops for o in self.ops), ops=len(self.ops))
        return ModelGraph(info=info, ops=self.ops, values=self.values,
                          op_edges=[(s, d, b) for (s, d), b in edges.items()])


def check_partition(mg: ModelGraph) -> ModelGraph:
    """The invariants every partition keeps, whatever the graph."""
    # Every op in exactly one kernel.
    placed = sorted(i for s in mg.subgraphs for i in s.op_indices)
    assert placed == list(range(len(mg.ops)))
    assert [s.index for s in mg.subgraphs] == list(range(len(mg.subgraphs)))
    # Numbered in a topological order: every edge goes from a lower index to a higher one; hence acyclic.
    assert all(s < d and b > 0 for s, d, b in mg.subgraph_edges)
    dag = nx.DiGraph((s, d) for s, d, _ in mg.subgraph_edges)
    assert nx.is_directed_acyclic_graph(dag)
    for s in mg.subgraphs:
        assert s.external_bytes == s.input_bytes + s.weight_bytes + s.output_bytes
        assert s.intensity == pytest.approx(s.flops / s.external_bytes)
    assert mg.info.subgraphs == len(mg.subgraphs)
    return mg


def kernels(mg: ModelGraph) -> list[list[int]]:
    return [sorted(s.op_indices) for s in mg.subgraphs]


def bytes_of(mg: ModelGraph) -> list[tuple[int, int, int]]:
    """(input, weight, output) bytes per kernel."""
    return [(s.input_bytes, s.weight_bytes, s.output_bytes) for s in mg.subgraphs]


# ---- fusion rules --------------------------------------------------------------------------------
def conv_bn_relu() -> GraphBuilder:
    g = GraphBuilder()
    x = g.input(1000)
    c = g.op("convolution", "conv", x, g.weight(200), out=2000, macs=500, flops=1000)
    b = g.op("native_batch_norm", "norm", c, g.weight(64), out=2000, flops=400)
    g.output(g.op("relu", "elementwise", b, out=2000, flops=100))
    return g


def test_conv_bn_relu_is_one_kernel_whose_intermediates_stay_on_chip():
    mg = check_partition(partition(conv_bn_relu().graph()))
    assert kernels(mg) == [[0, 1, 2]] and mg.subgraph_edges == []
    (k,) = mg.subgraphs
    assert (k.pattern, k.anchor_kind) == ("convolution+native_batch_norm+relu", "conv")
    # in: x 1000; weights: 200 + 64 = 264; out: the relu's 2000 (a model output). The conv and bn outputs
    # (2000 each) never leave: 3264, against the ops' own 1000+200+2000 + 2000+64+2000 + 2000+2000 = 11264.
    assert (k.input_bytes, k.weight_bytes, k.output_bytes, k.external_bytes) == (1000, 264, 2000, 3264)
    assert sum(op.bytes_total for op in mg.ops) == 11264
    # FLOPs 1000 + 400 + 100 = 1500, MACs 500; intensity 1500 / 3264.
    assert (k.macs, k.flops) == (500, 1500)
    assert k.intensity == pytest.approx(1500 / 3264)


def test_elementwise_chain_is_one_kernel():
    g = GraphBuilder()
    x = g.input(400)
    m = g.op("mul", "elementwise", x, out=400, flops=100)
    a = g.op("add", "elementwise", m, out=400, flops=100)
    g.output(g.op("relu", "elementwise", a, out=400, flops=100))
    mg = check_partition(partition(g.graph()))
    assert kernels(mg) == [[0, 1, 2]]
    # 400 in + 400 out = 800 bytes; 300 FLOPs -> intensity 0.375.
    assert (mg.subgraphs[0].external_bytes, mg.subgraphs[0].flops) == (800, 300)
    assert mg.subgraphs[0].intensity == pytest.approx(0.375)


@pytest.mark.parametrize("name, kind", [("sum", "reduction"), ("max_pool2d_with_indices", "pool")])
def test_reduction_or_pool_closes_its_kernel(name, kind):
    g = GraphBuilder()
    x = g.input(400)
    r = g.op("relu", "elementwise", x, out=400, flops=100)
    s = g.op(name, kind, r, out=4, flops=100)
    g.output(g.op("mul", "elementwise", s, out=4, flops=1))
    mg = check_partition(partition(g.graph()))
    assert kernels(mg) == [[0, 1], [2]]
    # The reduced 4 bytes leave kernel 0 for kernel 1: k0 400 in + 4 out, k1 4 in + 4 out.
    assert mg.subgraph_edges == [(0, 1, 4)]
    assert bytes_of(mg) == [(400, 0, 4), (4, 0, 4)]


@pytest.mark.parametrize("name, kind", [("mm", "matmul"), ("convolution", "conv"), ("cat", "data"),
                                        ("cumprod", "other")])
def test_mac_data_and_uncosted_ops_start_a_kernel(name, kind):
    g = GraphBuilder()
    x = g.input(400)
    r = g.op("relu", "elementwise", x, out=400, flops=100)
    g.output(g.op(name, kind, r, out=400, flops=10))
    mg = check_partition(partition(g.graph()))
    assert kernels(mg) == [[0], [1]] and mg.subgraph_edges == [(0, 1, 400)]
    assert [s.uncosted_ops for s in mg.subgraphs] == [0, 0]  # the builder's ops are all costed


def test_uncosted_op_is_counted_in_its_kernel():
    mg = conv_bn_relu().graph()
    mg.ops[2].costed = False
    assert [s.uncosted_ops for s in partition(mg).subgraphs] == [1]


# ---- joins and forks ------------------------------------------------------------------------------
def resnet_block_with_downsample() -> GraphBuilder:
    """conv1-bn1-relu -> conv2-bn2 -> add(., downsample(x)) -> relu, in torchvision's execution order."""
    g = GraphBuilder()
    x = g.input(800)
    c1 = g.op("convolution", "conv", x, g.weight(100), out=400, macs=1000, flops=2000)  # op 0
    b1 = g.op("native_batch_norm", "norm", c1, g.weight(8), out=400, flops=400)  # 1
    r = g.op("relu", "elementwise", b1, out=400, flops=100)  # 2
    c2 = g.op("convolution", "conv", r, g.weight(100), out=400, macs=1000, flops=2000)  # 3
    b2 = g.op("native_batch_norm", "norm", c2, g.weight(8), out=400, flops=400)  # 4
    cd = g.op("convolution", "conv", x, g.weight(50), out=400, macs=500, flops=1000)  # 5: downsample
    bd = g.op("native_batch_norm", "norm", cd, g.weight(8), out=400, flops=400)  # 6
    a = g.op("add", "elementwise", b2, bd, out=400, flops=100)  # 7
    g.output(g.op("relu", "elementwise", a, out=400, flops=100))  # 8
    return g


def test_residual_join_fuses_into_the_main_path_and_the_shortcut_is_an_edge():
    mg = check_partition(partition(resnet_block_with_downsample().graph()))
    # Kernels in topological order: conv1 block (ops 0-2) and the downsample (5-6) have no kernel
    # predecessor; conv2+bn2+add+relu (3, 4, 7, 8) needs both, so it is numbered last although its first op
    # runs before the downsample's.
    assert kernels(mg) == [[0, 1, 2], [5, 6], [3, 4, 7, 8]]
    assert [s.pattern for s in mg.subgraphs] == [
        "convolution+native_batch_norm+relu", "convolution+native_batch_norm",
        "convolution+native_batch_norm+add+relu"]
    assert mg.subgraph_edges == [(0, 2, 400), (1, 2, 400)]
    # k0: x 800 in, weights 100 + 8, relu 400 out. k1: x 800 in, weights 50 + 8, bn 400 out.
    # k2: relu 400 + downsample 400 in, weights 100 + 8, 400 out (the model output).
    assert bytes_of(mg) == [(800, 108, 400), (800, 58, 400), (800, 108, 400)]
    # FLOPs: k0 2000+400+100 = 2500; k1 1000+400 = 1400; k2 2000+400+100+100 = 2600.
    assert [(s.macs, s.flops) for s in mg.subgraphs] == [(1000, 2500), (500, 1400), (1000, 2600)]
    assert [s.intensity for s in mg.subgraphs] == pytest.approx([2500 / 1308, 1400 / 1258, 2600 / 1308])
    # The model's intensity is total FLOPs / total external bytes: 6500 / 3874, not a mean of ratios.
    assert mg.totals() == {"macs": 2500, "flops": 6500, "external_bytes": 3874}


def test_identity_shortcut_is_one_edge_counted_once():
    g = GraphBuilder()
    x = g.input(400)
    r = g.op("relu", "elementwise", x, out=400, flops=100)  # read by conv and by the add: a fork
    c = g.op("convolution", "conv", r, g.weight(100), out=400, macs=1000, flops=2000)
    g.output(g.op("add", "elementwise", c, r, out=400, flops=100))
    mg = check_partition(partition(g.graph()))
    assert kernels(mg) == [[0], [1, 2]]
    # r crosses once (400 bytes), although two ops of kernel 1 read it.
    assert mg.subgraph_edges == [(0, 1, 400)]
    assert bytes_of(mg) == [(400, 0, 400), (400, 100, 400)]


def test_fork_ends_a_chain():
    g = GraphBuilder()
    x = g.input(400)
    r = g.op("relu", "elementwise", x, out=400, flops=100)
    g.output(g.op("neg", "elementwise", r, out=400, flops=100), g.op("exp", "elementwise", r, out=400, flops=100))
    mg = check_partition(partition(g.graph()))
    assert kernels(mg) == [[0], [1], [2]]
    assert mg.subgraph_edges == [(0, 1, 400), (0, 2, 400)]
    # relu's output is written once and read by each branch.
    assert bytes_of(mg) == [(400, 0, 400), (400, 0, 400), (400, 0, 400)]


def test_a_model_output_read_again_ends_the_chain():
    g = GraphBuilder()
    x = g.input(400)
    r = g.op("relu", "elementwise", x, out=400, flops=100)
    g.output(r, g.op("neg", "elementwise", r, out=400, flops=100))
    mg = check_partition(partition(g.graph()))
    assert kernels(mg) == [[0], [1]] and mg.subgraph_edges == [(0, 1, 400)]


# ---- free ops: views and creation ----------------------------------------------------------------
def linear_with_views() -> GraphBuilder:
    """t(w) -> addmm(bias, x, w^T) -> view -> add(., zeros): the view and creation ops launch nothing."""
    g = GraphBuilder()
    x = g.input(256)
    wt = g.op("t", "view", g.weight(512))  # 0: a view of a weight is a weight
    y = g.op("addmm", "matmul", g.weight(8), x, wt, out=16, macs=128, flops=256)  # 1
    v = g.op("view", "view", y)  # 2
    z = g.op("zeros", "creation", out=16)  # 3
    g.output(g.op("add", "elementwise", v, z, out=16, flops=4))  # 4
    return g


def test_views_and_creation_join_without_launching():
    mg = check_partition(partition(linear_with_views().graph()))
    assert kernels(mg) == [[0, 1, 2, 3, 4]]
    assert mg.subgraphs[0].pattern == "addmm+add"  # free ops are not part of the pattern
    # in: x 256; weights: bias 8 + w 512 (read through its view); out: 16. The view moves nothing, the
    # zeros are made on chip: 256 + 520 + 16 = 792; FLOPs 256 + 4 = 260.
    assert bytes_of(mg) == [(256, 520, 16)]
    assert (mg.subgraphs[0].flops, mg.subgraphs[0].external_bytes) == (260, 792)


def test_eager_gives_one_kernel_per_op_that_is_not_free():
    mg = check_partition(partition(linear_with_views().graph(), fuse=False))
    # addmm (with the weight view it reads and the view of its output) and add (with the zeros it reads).
    assert kernels(mg) == [[0, 1, 2], [3, 4]]
    assert mg.subgraph_edges == [(0, 1, 16)]
    # The addmm's 16 bytes now leave its kernel: k0 256 + 520 + 16, k1 16 in + 16 out.
    assert bytes_of(mg) == [(256, 520, 16), (16, 0, 16)]


def test_eager_residual_block_is_one_kernel_per_op():
    mg = check_partition(partition(resnet_block_with_downsample().graph(), fuse=False))
    # 9 ops, none free: 9 kernels of one op each; a topological order that follows execution order.
    assert kernels(mg) == [[i] for i in range(9)]
    # Every intermediate crosses a boundary: op 2 (relu) reads 400 in and writes 400 out.
    assert bytes_of(mg)[2] == (400, 0, 400)
    # Fused, the block moves 3874 bytes; eager, every op's own read + weights + written:
    # conv1 800+100+400 = 1300, bn1 400+8+400 = 808, relu 800, conv2 400+100+400 = 900, bn2 808,
    # downsample conv 800+50+400 = 1250, bn 808, add 800+400 = 1200, relu 800 -> 8674.
    assert sum(s.external_bytes for s in mg.subgraphs) == sum(op.bytes_total for op in mg.ops) == 8674


def test_partition_is_deterministic():
    first = partition(resnet_block_with_downsample().graph())
    again = partition(resnet_block_with_downsample().graph())
    assert first.subgraphs == again.subgraphs and first.subgraph_edges == again.subgraph_edges
