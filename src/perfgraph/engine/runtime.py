"""How a model is executed, which changes what is launched, who waits for whom, and at what precision.

Runtimes (`Runtime`):

* ``eager`` -- PyTorch eager, what a PyTorch user measures.  Every op that is not a view is a kernel of its
  own (no fusion: `eager_graph`).  The host dispatches ops one after another, each at the framework's per-op
  cost; the device runs them asynchronously (`two_queue`): an op starts on the device when the host has
  issued it and the device is free.  An op that synchronises (``.item()``, a data-dependent shape) stalls
  the host until the device has caught up.  A small model is host-bound, a large one device-bound, and the
  timeline says which.  On a CPU the host *is* the device: dispatch and compute add up.
* ``compiled`` -- torch.compile / Inductor-style fusion: the fused kernels of `ingest.partition`, each paying
  one launch on the chip's timeline (the chip spec's ``overhead.launch_s``).
* ``graph`` -- the fused kernels replayed as a CUDA graph or an inference engine (TensorRT): the host is out
  of the loop and the per-kernel cost is a graph-replayed kernel's fixed cost: the chip's measured
  ``graph_launch_s`` (`engine.model_mapping.graph_launch`) where its calibration section has one, else the
  GPU's gap between back-to-back kernels (`GRAPH_LAUNCH_S`, an estimate).

TPUs and KPUs are programmed through a whole-graph compiler (XLA, the KPU compiler): any runtime asked for
maps as ``compiled`` there, and the result says so (`effective_runtime`).

Precision rules (`PrecisionRules`), PyTorch's defaults on chips with TF32 tensor cores (Ampere and later):
fp32 convolutions run as TF32 (``torch.backends.cudnn.allow_tf32`` defaults to True) and fp32 matmuls stay
fp32 (``torch.get_float32_matmul_precision()`` defaults to ``"highest"``; ``"high"`` allows TF32,
``"medium"`` bf16).  Storage stays fp32 either way: only the compute rate changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from perfgraph.graph import ModelGraph, Op
from perfgraph.vocab import Runtime, choices, parse


RUNTIMES = choices(Runtime)
DEFAULT_RUNTIME = Runtime.EAGER
# Chips programmed through a whole-graph compiler: no eager mode and no host dispatch per op.
WHOLE_GRAPH_KINDS = ("TPU", "KPU")

GRAPH_LAUNCH_S = 1.0e-6
GRAPH_LAUNCH_SOURCE = (
    "estimate: GPU-side gap between back-to-back kernels of a replayed CUDA graph / inference engine, about "
    "1 us: NVIDIA Technical Blog 'Getting Started with CUDA Graphs' (2019) measures 3.8 us per 2.9 us kernel "
    "launched back to back in a stream and 3.4 us in a graph")

MATMUL_PRECISIONS = ("highest", "high", "medium")
# torch.set_float32_matmul_precision: what an fp32 matmul may compute in.
_MATMUL_COMPUTE = {"highest": "fp32", "high": "tf32", "medium": "bf16"}

# ATen ops whose result the host must read before it can go on (a value or a data-dependent shape).
SYNC_OPS = frozenset({
    "_local_scalar_dense", "item", "nonzero", "masked_select", "unique", "_unique", "_unique2",
    "unique_consecutive", "unique_dim", "is_nonzero", "equal", "allclose", "repeat_interleave",
})


@dataclass(frozen=True)
class PrecisionRules:
    """What an fp32 kernel computes in on a GPU (module docstring). The defaults are PyTorch's."""

    conv_tf32: bool = True
    matmul_precision: str = "highest"

    def __post_init__(self) -> None:
        if self.matmul_precision not in MATMUL_PRECISIONS:
            raise ValueError(f"unknown float32 matmul precision {self.matmul_precision!r}; "
                             f"choose from {', '.join(MATMUL_PRECISIONS)}")

    def compute_precision(self, anchor_kind: str, precision: str, hw) -> str:
        """The precision a kernel anchored by an op of `anchor_kind` computes in, when `precision` is asked.

        >>> rules = PrecisionRules()
        >>> class Chip: kind = "GPU"; peak_flops = {"fp32": 1.0, "tf32": 8.0}
        >>> rules.compute_precision("conv", "fp32", Chip), rules.compute_precision("matmul", "fp32", Chip)
        ('tf32', 'fp32')
        """
        if precision != "fp32" or hw.kind != "GPU":
            return precision
        if anchor_kind == "conv":
            wanted = "tf32" if self.conv_tf32 else "fp32"
        elif anchor_kind in ("matmul", "attention"):
            wanted = _MATMUL_COMPUTE[self.matmul_precision]
        else:
            return precision
        return wanted if wanted in hw.peak_flops else precision

    def describe(self) -> str:
        return (f"fp32 convolutions as {'TF32' if self.conv_tf32 else 'FP32'} (cudnn.allow_tf32="
                f"{self.conv_tf32}), fp32 matmuls at float32_matmul_precision={self.matmul_precision!r}")


DEFAULT_RULES = PrecisionRules()


def parse_runtime(value: "str | Runtime | None") -> Runtime:
    """'eager' | 'compiled' | 'graph' (case-insensitive) -> Runtime; None -> the default (eager).

    Raises:
        ValueError: an unknown name, with the known ones.
    """
    return DEFAULT_RUNTIME if value is None else parse(Runtime, value, "runtime")


def effective_runtime(runtime: "str | Runtime | None", hw) -> tuple[Runtime, str]:
    """The runtime a chip actually runs (`WHOLE_GRAPH_KINDS` are compiled), and a note when it differs."""
    rt = parse_runtime(runtime)
    if hw.kind in WHOLE_GRAPH_KINDS and rt is not Runtime.COMPILED:
        return Runtime.COMPILED, (f"{hw.kind}s run a whole-graph compiled program: runtime {rt.value!r} "
                                  "mapped as 'compiled'")
    if hw.kind == "CPU" and rt is Runtime.GRAPH:
        return Runtime.COMPILED, "a CPU has no graph replay: runtime 'graph' mapped as 'compiled'"
    return rt, ""


def is_sync(op: Op) -> bool:
    """True when the host waits for this op's result (`SYNC_OPS`)."""
    parts = op.target.split(".")
    name = parts[1] if len(parts) >= 2 and parts[0] == "aten" else parts[0]
    return name in SYNC_OPS


def eager_graph(mg: ModelGraph) -> ModelGraph:
    """The same op graph partitioned as eager PyTorch launches it: one kernel per op that is not free.
    Returns a new ModelGraph sharing the ops and values; `mg` is not changed."""
    from perfgraph.ingest.partition import partition

    return partition(mg, fuse=False)


@dataclass
class Timeline:
    """The two-queue schedule of one inference (see `two_queue`)."""

    total_s: float
    host_busy_s: float  # dispatching (plus, on a CPU, computing)
    device_busy_s: float
    device_idle_s: float  # device waiting for the host (on a CPU: the cores dispatching instead of computing)
    host_stall_s: float  # host waiting for the device at synchronising ops
    syncs: int
    finish_s: list[float] = field(default_factory=list, repr=False)  # each kernel's completion time
    dispatch_s: float = 0.0  # the host's issue work alone

    @property
    def bound(self) -> str:
        """'host' when the host's issue queue is at least as long as the device's work (the run cannot be
        shorter than either queue: the longer one sets it), else 'device'."""
        return "host" if self.dispatch_s >= self.device_busy_s else "device"

    def as_dict(self) -> dict:
        return {"total_s": self.total_s, "host_busy_s": self.host_busy_s, "device_busy_s": self.device_busy_s,
                "device_idle_s": self.device_idle_s, "host_stall_s": self.host_stall_s, "syncs": self.syncs,
                "bound": self.bound}


def two_queue(host_s: Sequence[float], device_s: Sequence[float], syncs: Sequence[bool] | None = None,
              serial: bool = False) -> Timeline:
    """Schedule kernels issued by a host onto an asynchronous device, in order.

    The host spends ``host_s[i]`` issuing kernel i; the kernel starts on the device when it has been issued
    and the device is free, and runs ``device_s[i]``; after a synchronising kernel (``syncs[i]``) the host
    waits until the device has finished it.  ``serial=True`` is a CPU, where the host computes the kernel
    itself (every kernel synchronises).  The run ends when both queues are done.

    Examples (hand-computed):

    >>> two_queue([1, 1, 1], [5, 5, 5]).total_s          # device-bound: 1 + 5 + 5 + 5
    16
    >>> two_queue([5, 5, 5], [1, 1, 1]).total_s          # host-bound: 5 + 5 + 5 + 1
    16
    >>> two_queue([1, 1, 1], [5, 5, 5], [False, True, False]).total_s   # host waits at t=11, issues at 12
    17
    >>> two_queue([1, 1], [5, 5], serial=True).total_s   # a CPU: everything adds up
    12
    """
    if len(host_s) != len(device_s):
        raise ValueError("host_s and device_s must have one entry per kernel")
    syncs = list(syncs) if syncs is not None else [False] * len(host_s)
    host = device_free = 0
    idle = stall = 0
    finish: list[float] = []
    for h, d, sync in zip(host_s, device_s, syncs):
        host = host + h
        start = max(host, device_free)
        idle += max(start - device_free, 0)
        device_free = start + d
        finish.append(device_free)
        if serial:
            host = device_free
        elif sync:
            stall += device_free - host
            host = device_free
    return Timeline(total_s=max(host, device_free), host_busy_s=sum(host_s) + (sum(device_s) if serial else 0),
                    device_busy_s=sum(device_s), device_idle_s=sum(host_s) if serial else idle, host_stall_s=stall,
                    syncs=sum(1 for s in syncs if s), finish_s=finish, dispatch_s=sum(host_s))
