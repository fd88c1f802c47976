"""Machine probes of `perfgraph calibrate` beyond the tables: overheads, bandwidth, the fresh-page cost,
the anchor microbenchmarks, and what the machine and its torch are (devices, cache levels, bf16, the
native im2col conv path).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from typing import Any, Callable

from perfgraph.measure.cases import CaseBuilder
from perfgraph.measure.timing import Timer


def measure_overheads(torch, device: str, timer: Timer) -> dict[str, Any]:
    nn, F = torch.nn, torch.nn.functional

    class Bare(nn.Module):
        def forward(self, x):
            return x

    x = torch.randn(1, 4, 2, 2, device=device)
    w = torch.randn(4, 4, 1, 1, device=device)
    xl, wl, bl = torch.randn(1, 16, device=device), torch.randn(16, 16, device=device), torch.randn(16, device=device)
    t = lambda fn: best_of(timer, fn, 0.05).median_s  # noqa: E731
    bare = Bare()
    conv = nn.Conv2d(4, 4, 1, bias=False).to(device)
    bn = nn.BatchNorm2d(4).to(device).eval()
    lin = nn.Linear(16, 16).to(device)
    act = nn.ReLU(inplace=True)
    pool = nn.MaxPool2d(3, 2, 1)
    rm, rv = bn.running_mean, bn.running_var
    out: dict[str, Any] = {
        "dispatch_s": t(lambda: F.relu(x, inplace=True)),
        "dispatch_alloc_s": t(lambda: torch.add(x, x)),
        "view_s": t(lambda: x.view(-1)),
        "alloc_s": t(lambda: torch.empty(0, device=device)),
        "module_call_s": t(lambda: bare(x)),
    }
    pairs = {
        "conv": (lambda: conv(x), lambda: F.conv2d(x, conv.weight)),
        "norm": (lambda: bn(x), lambda: F.batch_norm(x, rm, rv, bn.weight, bn.bias, False, 0.1, 1e-5)),
        "linear": (lambda: lin(xl), lambda: F.linear(xl, wl, bl)),
        "act": (lambda: act(x), lambda: F.relu(x, inplace=True)),
        "pool": (lambda: pool(x), lambda: F.max_pool2d(x, 3, 2, 1)),
    }
    extra = {}
    for kind, (module_fn, functional_fn) in pairs.items():
        extra[kind] = max(t(module_fn) - t(functional_fn), 0.5 * out["module_call_s"])
    out["module_extra_s"] = extra
    return out


def best_of(timer: Timer, fn: Callable[[], Any], budget_s: float | None = None, rounds: int = 5):
    """The lowest of `rounds` medians, undisturbed ones preferred (interference only adds time): for
    the overhead and bandwidth figures, which feed every prediction."""
    best = None
    for _ in range(rounds):
        tm = timer.time(fn, budget_s=budget_s)
        if best is None or (best.disturbed and not tm.disturbed) or (
                tm.disturbed == best.disturbed and tm.median_s < best.median_s):
            best = tm
    return best


def measure_anchors(torch, device: str = "cpu", timer: Timer | None = None) -> dict[str, float]:
    """Three fixed microbenchmarks, timed at calibration and again by `validate`: their ratio tells how
    much the machine's speed has drifted (a shared host: other tenants' memory traffic, clocks).
    compute: a 3x3 conv 64 -> 64 on 56x56 (cold weights); memory: in-place relu on 4 M elements (16 MiB,
    rotating operands); dispatch: an in-place relu on one element."""
    timer = timer or Timer(device, budget_s=0.1)
    cb = CaseBuilder(torch, device, "fp32", pool_bytes=64 * 2 ** 20)
    out = {}
    with torch.inference_mode():
        out["compute"] = best_of(timer, cb.conv(1, 64, 56, 64, 3, 1, 1).setup()).median_s
        out["memory"] = best_of(timer, cb.elementwise("relu_", 2 ** 22).setup()).median_s
        x = torch.randn(1, device=device)
        out["dispatch"] = best_of(timer, lambda: torch.nn.functional.relu(x, inplace=True), 0.05).median_s
    return out


def measure_fresh_pages(torch, timer: Timer, quick: bool = False) -> dict[str, float]:
    """Allocations above the C allocator's mmap threshold (glibc: dynamic, at most 32 MiB on 64-bit)
    get fresh pages from the kernel on every call, and the first write to each page faults.  Measured as
    `torch.empty(n).fill_(1)` minus `x.fill_(1)` on an existing tensor, over sizes on both sides of the
    threshold: `fresh_page_threshold_bytes` (midway between the last cheap and the first expensive size;
    0 when no cliff was found) and `fresh_page_s_per_byte` (the extra cost per byte above it, net of the
    extra below it)."""
    mib = 2 ** 20
    sizes = [16 * mib, 48 * mib] if quick else [8 * mib, 16 * mib, 30 * mib, 31.5 * mib, 32.5 * mib, 34 * mib,
                                               48 * mib, 64 * mib]
    extra = []
    for size in sizes:
        n = int(size) // 4
        x = torch.empty(n)
        fill = best_of(timer, lambda: x.fill_(1.0), rounds=2).median_s
        fresh = best_of(timer, lambda: torch.empty(n).fill_(1.0), rounds=2).median_s
        extra.append((n * 4, max(fresh - fill, 0.0) / (n * 4)))
        del x
    base = min(e for _, e in extra)
    top = max(e for _, e in extra)
    # the cliff: the first size costing more than half the largest extra (below it the extra is small
    # and noisy, above it ten times larger); none when nothing stands out
    cliff = next((i for i, (_, e) in enumerate(extra) if i > 0 and e > 0.5 * top), None)
    if cliff is None or top < 4 * max(base, 1e-12):
        return {"fresh_page_threshold_bytes": 0.0, "fresh_page_s_per_byte": 0.0}
    above = sorted(e - base for _, e in extra[cliff:])
    return {"fresh_page_threshold_bytes": float((extra[cliff - 1][0] + extra[cliff][0]) // 2),
            "fresh_page_s_per_byte": above[len(above) // 2]}


PAGE_BYTES = 4096  # the page a minor fault brings in (x86-64 and arm64 Linux defaults)


def minor_faults() -> int:
    """This process's minor page faults so far (every thread's); -1 where the OS does not say."""
    try:
        import resource
    except ImportError:  # not a Unix
        return -1
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure_conv_copies(torch, threshold_bytes: float) -> dict[str, float]:
    """How many input-sized and output-sized buffers a convolution allocates besides its output.

    oneDNN computes a convolution of a plain (NCHW) tensor in a blocked layout: PyTorch's CPU path
    reorders the input into a temporary and computes into a second one that is reordered into the
    returned tensor.  Above the allocator's mmap threshold every such buffer is fresh pages on every
    call, so the page faults of a convolution are ``input x conv_input_copies + output x (1 +
    conv_output_copies)``.  Counted as this process's minor faults per call (not timed) over two
    convolutions whose large side lies above `threshold_bytes`: a 3x3 one whose input is small (only its
    output side faults: output copies) and a depthwise 3x3 whose input and output are the same size (the
    rest is input copies).  Both come out as whole buffers; {} where the OS counts no faults or no
    threshold was found."""
    if threshold_bytes <= 0 or minor_faults() < 0:
        return {}
    import torch.nn.functional as F  # noqa: N812

    big_c, small_c = 48, 8  # an MBConv block's expansion and depthwise convolutions
    side = 16
    while big_c * side * side * 4 <= 1.25 * threshold_bytes:
        side += 16
    small = torch.randn(1, small_c, side, side)
    x = torch.randn(1, big_c, side, side)
    w_up, w_dw = torch.randn(big_c, small_c, 3, 3), torch.randn(big_c, 1, 3, 3)  # 3x3: oneDNN at any thread count
    big = float(x.numel() * 4)

    def per_call(fn) -> float:
        for _ in range(2):
            fn()
        f0 = minor_faults()
        for _ in range(3):
            fn()
        return (minor_faults() - f0) * PAGE_BYTES / 3

    with torch.inference_mode():
        out_side = per_call(lambda: F.conv2d(small, w_up, None, 1, 1)) / big - 1.0
        both = per_call(lambda: F.conv2d(x, w_dw, None, 1, 1, 1, big_c)) / big - 1.0
    out_copies = float(max(round(out_side), 0))
    return {"conv_input_copies": float(max(round(both - out_copies), 0)), "conv_output_copies": out_copies}


def count_conv_copies_fresh(threshold_bytes: float, threads: int = 1, timeout_s: float = 300.0) -> dict[str, float]:
    """`measure_conv_copies` in a fresh Python process, as a model run starts: a process that has run the
    calibration's grid holds free heap chunks large enough to serve those buffers without new pages, and
    then counts none.  {} when the child fails (its error is not the calibration's)."""
    code = ("import json, torch; from perfgraph.measure.probes import measure_conv_copies; "
            f"torch.set_num_threads({int(threads)}); "
            f"print(json.dumps(measure_conv_copies(torch, {float(threshold_bytes)!r})))")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s)
        return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
    except (subprocess.SubprocessError, OSError, ValueError, IndexError):
        return {}


def measure_bandwidth(torch, device: str, timer: Timer, size: int, which: str):
    """(bytes/s, timing) of copy (dst.copy_(src): working set 2 n x 4 B) or add (c = a + b: 3 n x 4 B)."""
    parts = 2 if which == "copy" else 3
    n = max(size // (4 * parts), 256)
    a = torch.randn(n, device=device)
    b = torch.empty_like(a)
    if which == "copy":
        fn = lambda: b.copy_(a)  # noqa: E731
    else:
        c = torch.randn(n, device=device)
        fn = lambda: torch.add(a, c, out=b)  # noqa: E731
    tm = best_of(timer, fn)
    return parts * n * 4 / tm.median_s, tm


def bf16_supported(torch) -> tuple[bool, str]:
    from perfgraph.hardware.local import cpu_flags

    flags, _, _ = cpu_flags()
    native = {"avx512_bf16", "amx_bf16", "bf16"} & flags
    try:
        mkldnn_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - older torch
        mkldnn_bf16 = False
    if native:
        return True, f"cpu flags {', '.join(sorted(native))}"
    return False, ("no avx512_bf16 / amx_bf16 flag" + (" (oneDNN would emulate bf16 on avx512)" if mkldnn_bf16 else ""))


def device_info(torch, device: str, threads: int) -> dict[str, Any]:
    info: dict[str, Any] = {"kind": device, "torch": torch.__version__, "host": platform.node(),
                            "python": platform.python_version()}
    if device == "cuda":
        idx = torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        info.update(name=torch.cuda.get_device_name(idx), threads=None, sms=props.multi_processor_count,
                    memory_bytes=props.total_memory, capability=f"{props.major}.{props.minor}",
                    cuda=torch.version.cuda)
        return info
    from perfgraph.hardware.local import cpu_flags, detect_cores

    flags, model, _ = cpu_flags()
    cores, logical, _ = detect_cores()
    info.update(name=model, threads=threads, cores=cores, logical_cpus=logical, machine=platform.machine(),
                simd=sorted(f for f in flags if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "fma", "asimd",
                                                       "sve")),
                mkldnn=bool(torch.backends.mkldnn.is_available()),
                parallel=torch.__config__.parallel_info().splitlines()[-1].strip())
    return info


def memory_levels(torch, device: str) -> list[dict[str, Any]]:
    if device == "cuda":
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        levels = []
        l2 = getattr(props, "L2_cache_size", 0)
        if l2:
            levels.append({"name": "L2", "kind": "cache", "capacity_bytes": int(l2)})
        levels.append({"name": "DRAM", "kind": "dram", "capacity_bytes": int(props.total_memory)})
        return levels
    from perfgraph.hardware.local import local_spec_dict

    spec = local_spec_dict()
    cores = spec["compute_units"]["count"]
    out = []
    for lv in spec["memory"]:
        cap = lv["capacity_bytes"] * (cores if lv.get("scope") == "per_unit" else 1)
        out.append({"name": lv["name"], "kind": lv["kind"], "capacity_bytes": int(cap)})
    return out


IM2COL_MAX_INPUT = 20480  # torch 2.x: ConvParams::use_mkldnn, "for some case, native is faster"


def detect_im2col_path(torch) -> int:
    """Does this torch run small batch-1 convs on its native im2col path (`_slow_conv2d_forward`)
    instead of oneDNN?  Returns the input-size limit of that path (checked on both sides of it), or 0."""
    F = torch.nn.functional

    def kernel_of(c: int, h: int) -> str:
        x, w = torch.randn(1, c, h, h), torch.randn(c, c, 3, 3)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            F.conv2d(x, w, None, 1, 1)
        names = {e.key for e in prof.key_averages()}
        return "native" if any("slow_conv2d" in n or "thnn_conv2d" in n for n in names) else "other"

    saved = None
    try:
        saved = os.dup(2)  # the profiler's C++ side prints start/stop lines on stderr: silence them
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        saved = None
    try:
        below = kernel_of(20, 32)  # 20480 elements
        above = kernel_of(21, 32)  # 21504
    except Exception:  # noqa: BLE001 - no profiler: assume the documented torch 2.x rule
        return IM2COL_MAX_INPUT
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    return IM2COL_MAX_INPUT if below == "native" and above != "native" else 0
