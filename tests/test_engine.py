"""Mapping engine: hand-computed cases per hardware kind, energy sums, model-level schedules, sweeps.

Expected numbers are computed here by hand from the spec values and the documented rules, not by calling
the code under test.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from perfgraph.engine.mapping import map_subgraph
from perfgraph.engine.model_mapping import map_model
from perfgraph.pipeline import batch_sweep, saturation_batch
from perfgraph.graph import ModelGraph, ModelInfo
from perfgraph.hardware.spec import PrecisionNotSupportedError, get

from engine_cases import _isolated_user_dirs, op, subgraph  # noqa: F401 - the fixture, by name


# ---------------------------------------------------------------------------------------------------- GPU


def test_h100_gemm_4096_fp16_waves_and_utilisation():
    n = 4096
    mm = op(0, "matmul", macs=n ** 3, flops=2 * n ** 3, bytes_read=2 * n * n * 2, bytes_written=n * n * 2,
            shape=(n, n), dtype="torch.float16")
    sg = subgraph(0, [mm], input_bytes=2 * n * n * 2, output_bytes=n * n * 2)
    km = map_subgraph(sg, [mm], get("h100-sxm"), "fp16")

    # Tiles: 4096/128 = 32 per dim -> 32 x 32 = 1024 thread blocks of 128 x 128.
    assert km.details["tiles_m"] == 32 and km.details["tiles_n"] == 32 and km.details["blocks"] == 1024
    # Blocks per SM: min(32 max blocks, 2048 threads / 256, 65536 regs / (256 x 128) = 2,
    #                    233472 B smem / (3 stages x (128x32 + 32x128) x 2 B = 49152 B) = 4) = 2
    assert km.details["blocks_per_sm"] == 2
    # Waves over 132 SMs x 2 = 264 slots: ceil(1024 / 264) = 4; wave efficiency = 1024 / (4 x 264) = 0.9697.
    # Utilisation also carries the measured large-GEMM ceiling of the spec (achievable_fraction.fp16 =
    # 0.803: BF16 MAMF 794.5 of 989 TFLOPS on H100 SXM, same dense rate for FP16).
    assert km.details["waves"] == 4
    assert km.details["achievable_fraction"] == 0.803
    util = 1024 / (4 * 132 * 2) * 0.803
    assert km.utilization == pytest.approx(util)  # 0.7787
    assert km.details["padding_waste"] == 0.0 and km.details["split_k"] == 1
    assert km.units_allocated == 132
    # Times: ideal compute = 2 n^3 / 989.4 TFLOP/s; effective = ideal / util; DRAM = 3 n^2 x 2 B / 3.35 TB/s.
    # Every byte also crosses the L2 -> SM path: 132 SMs x 40.2 B/clk x 1.83 GHz = 9.711 TB/s (cold kernel:
    # nothing is L2-resident, so the L2 serves no bytes of its own).
    ideal = 2 * n ** 3 / 989.4e12
    mem = 3 * n * n * 2 / 3.35e12
    # the L2 -> SM path carries A and the output once and B (the weights) once per row of tiles (32):
    # 34 n^2 x 2 B (engine.gpu_tiles.panel_traffic)
    path = (1 + 32 + 1) * n * n * 2 / (132 * 40.2 * 1.83e9)
    assert km.compute_time_s == pytest.approx(ideal)
    assert km.compute_time_effective_s == pytest.approx(ideal / util)
    assert km.memory_time_s["HBM3"] == pytest.approx(mem)
    assert km.memory_time_s["L2->SM"] == pytest.approx(path)
    # + the exposed memory latency of one launch: fill from DRAM (371.7 ns, the spec's dram_latency_ns) and
    # drain into the L2 (151.3 ns, l2_latency_ns) -- 0.3 % of this kernel
    exposed = 371.7e-9 + 151.3e-9
    assert km.latency_exposed_s == pytest.approx(exposed)
    assert km.latency_s == pytest.approx(ideal / util + exposed + 5e-6)  # 178 us of compute vs 30 us of DRAM
    assert km.bound == "compute"
    # Energy: pJ/FLOP(fp16) = (700 - 175 - 3.35e12 x 31.2e-12) / 989.4e12 x 1e12
    pj = (700 - 175 - 3.35e12 * 31.2e-12) / 989.4e12 * 1e12
    e_compute = 2 * n ** 3 * pj * 1e-12
    e_memory = 3 * n * n * 2 * 31.2e-12
    e_static = 175 * (ideal / util + exposed + 5e-6)
    assert km.energy_compute_j == pytest.approx(e_compute)
    assert km.energy_memory_j == pytest.approx(e_memory)
    assert km.energy_static_j == pytest.approx(e_static)
    assert km.energy_j == pytest.approx(e_compute + e_memory + e_static)


def _streaming_kernel(blocks: int, nbytes: int):
    """An elementwise kernel with `blocks` x 256 threads that reads `nbytes` (e.g. a broadcast gather)."""
    n = blocks * 256
    k = op(0, "elementwise", flops=n, bytes_read=nbytes, bytes_written=4 * n, shape=(n,))
    return subgraph(0, [k], input_bytes=nbytes, output_bytes=4 * n), k


def test_few_sms_get_their_l2_path_bandwidth_not_a_linear_share_of_dram():
    h100 = get("h100-sxm")
    per_sm = 40.2 * 1.83e9  # l2_bytes_per_clk_per_sm x boost clock = 73.57 GB/s per SM
    nbytes = 64 * 2 ** 20
    # 20 blocks of 256 threads -> 20 SMs.  min(3.35 TB/s, 20 x 73.57 GB/s = 1.471 TB/s): the SMs' load
    # path binds (the old linear share would have given 3.35 TB/s x 20/132 = 0.508 TB/s).
    sg, k = _streaming_kernel(20, nbytes)
    km = map_subgraph(sg, [k], h100, "fp32")
    total = nbytes + 4 * 20 * 256
    assert km.units_allocated == 20
    assert km.memory_time_s["HBM3"] == pytest.approx(total / 3.35e12)
    assert km.memory_time_s["L2->SM"] == pytest.approx(total / (20 * per_sm))
    exposed = 371.7e-9 + 151.3e-9  # DRAM fill + L2 drain (h100-sxm.yaml dram_latency_ns, l2_latency_ns)
    assert km.latency_s == pytest.approx(total / (20 * per_sm) + exposed + 5e-6)  # 45.6 us + latency + launch
    assert km.bound == "memory"
    # 100 blocks -> 100 SMs: 100 x 73.57 GB/s = 7.36 TB/s > 3.35 TB/s, so DRAM binds: about a third of
    # the 132 SMs already saturate HBM (3.35e12 / 73.57e9 = 46 SMs).
    sg, k = _streaming_kernel(100, nbytes)
    km = map_subgraph(sg, [k], h100, "fp32")
    total = nbytes + 4 * 100 * 256
    assert km.units_allocated == 100
    assert km.latency_s == pytest.approx(total / 3.35e12 + exposed + 5e-6)
    # the same 20-SM kernel on a spec without the per-SM figure keeps the old linear share of DRAM
    legacy = h100.with_overrides({"compute_units": {"gpu": {"l2_bytes_per_clk_per_sm": 0}}}, source="unit test")
    sg, k = _streaming_kernel(20, nbytes)
    km = map_subgraph(sg, [k], legacy, "fp32")
    assert km.memory_time_s == {"HBM3": pytest.approx((nbytes + 4 * 20 * 256) / (3.35e12 * 20 / 132))}


def _chain(mb: int):
    """sg0 (reads a 4 MiB model input, writes `mb` MiB) -> sg1 (reads it, writes `mb` MiB, the model output);
    fp32, one thread per output element."""
    size = mb * 2 ** 20
    n = size // 4
    ops = [op(0, "elementwise", flops=n, bytes_read=4 * 2 ** 20, bytes_written=size, shape=(n,)),
           op(1, "elementwise", flops=n, bytes_read=size, bytes_written=size, shape=(n,))]
    sgs = [subgraph(0, [ops[0]], input_bytes=4 * 2 ** 20, output_bytes=size),
           subgraph(1, [ops[1]], input_bytes=size, output_bytes=size)]
    info = ModelInfo(id=f"chain{mb}", name="chain", source="test", batch=1, input_shape=[n], dtype="float32")
    return ModelGraph(info=info, ops=ops, values=[], op_edges=[(0, 1, size)], subgraphs=sgs,
                      subgraph_edges=[(0, 1, size)])


def test_l2_residency_between_consecutive_kernels():
    h100 = get("h100-sxm")  # 50 MiB L2
    mib = 2 ** 20
    path_bw = 132 * 40.2 * 1.83e9  # both kernels have >= 132 blocks: every SM, 9.711 TB/s
    # 8 MiB activation: sg1 finds it in the L2 (reuse distance 0 + 8 MiB <= 50 MiB), and since its only
    # consumer hit it, sg0's write never reaches DRAM.
    mm = map_model(_chain(8), h100, "fp32")
    k0, k1 = mm.kernels
    assert k0.details["residency"] == {"input_bytes": 0.0, "output_resident": True}
    assert k1.details["residency"] == {"input_bytes": 8 * mib, "output_resident": False}  # model output
    # sg0: DRAM = the 4 MiB model input; L2 = its 8 MiB output.  sg1: DRAM = its 8 MiB output; L2 = input.
    assert k0.memory_time_s["HBM3"] == pytest.approx(4 * mib / 3.35e12)
    assert k0.memory_time_s["L2->SM"] == pytest.approx(12 * mib / path_bw)
    assert k1.memory_time_s["HBM3"] == pytest.approx(8 * mib / 3.35e12)
    assert k1.memory_time_s["L2->SM"] == pytest.approx(16 * mib / path_bw)
    # sg1 reads only L2-resident data: its fill is an L2 hit (151.3 ns), its drain too (151.3 ns)
    assert k1.details["exposed_latency"] == {"fill_s": pytest.approx(151.3e-9), "drain_s": pytest.approx(151.3e-9),
                                             "total_s": pytest.approx(302.6e-9)}
    assert k1.latency_s == pytest.approx(8 * mib / 3.35e12 + 302.6e-9 + 5e-6)  # 2.5 us of DRAM + latency + launch
    # sg0 reads the model input from DRAM: DRAM fill (371.7 ns) + L2 drain
    assert k0.latency_exposed_s == pytest.approx(371.7e-9 + 151.3e-9)
    # energy: only the DRAM bytes pay HBM energy (the L2 level has no pJ/B in the spec)
    assert k1.energy_memory_j == pytest.approx(8 * mib * 31.2e-12)
    # 64 MiB activation > 50 MiB L2: never resident, both kernels stream everything from DRAM
    mm = map_model(_chain(64), h100, "fp32")
    k0, k1 = mm.kernels
    assert k1.details["residency"] == {"input_bytes": 0.0, "output_resident": False}
    assert k0.memory_time_s["HBM3"] == pytest.approx(68 * mib / 3.35e12)
    assert k1.memory_time_s["HBM3"] == pytest.approx(128 * mib / 3.35e12)
    # a kernel mapped on its own is cold: the 8 MiB chain's sg1 alone streams 16 MiB from DRAM
    g = _chain(8)
    km = map_subgraph(g.subgraphs[1], g.ops, h100, "fp32")
    assert km.memory_time_s["HBM3"] == pytest.approx(16 * mib / 3.35e12)


def _linear(m, n_out, k_in, esize=2, dtype="torch.float16"):
    """A linear layer of M rows, K_in -> N_out, as one kernel (weights counted as weight bytes)."""
    lin = op(0, "matmul", macs=m * n_out * k_in, flops=2 * m * n_out * k_in, bytes_read=esize * m * k_in,
             bytes_written=esize * m * n_out, weight_bytes=esize * n_out * k_in, shape=(m, n_out), dtype=dtype)
    sg = subgraph(0, [lin], input_bytes=esize * m * k_in, output_bytes=esize * m * n_out,
                  weight_bytes=esize * n_out * k_in)
    return sg, lin


def test_split_k_partials_stay_in_l2():
    # linear 4096 -> 1024 over M = 16 rows in fp16 on an H100, split 16 ways along K
    from perfgraph.engine.gpu import map_gemm_split
    from perfgraph.engine.common import gemm_shape

    m, n_out, k_in = 16, 1024, 4096
    sg, lin = _linear(m, n_out, k_in)
    km = map_gemm_split(sg, [lin], get("h100-sxm"), "fp16", "fp16", gemm_shape(lin), 16)
    # tiles: M = 16 -> one 64-row tile, N -> 1024 / 128 = 8 tiles: 8 blocks x 16 splits = 128 blocks on
    # ceil(128 / 2) = 64 SMs
    assert km.details["split_k"] == 16 and km.details["blocks"] == 128 and km.units_allocated == 64
    # partial sums: 16 x 16 x 1024 x 4 B = 1 MiB buffer (fits the 50 MiB L2 with the kernel's 8 MiB);
    # traffic 2 x 15 x 16 x 1024 x 4 B = 1.875 MiB, all served by the L2
    partial = 2 * 15 * m * 1024 * 4
    ext = 2 * m * k_in + 2 * m * n_out + 2 * n_out * k_in
    assert km.details["split_k_bytes"] == partial and km.details["l2_bytes"] == partial
    assert km.memory_time_s["HBM3"] == pytest.approx(ext / 3.35e12)
    # L2 -> SM path: 64 SMs x 73.57 GB/s = 4.708 TB/s, carrying weights + activations + partials
    assert km.memory_time_s["L2->SM"] == pytest.approx((ext + partial) / (64 * 40.2 * 1.83e9))


def test_split_k_only_when_it_is_faster():
    from perfgraph.engine.gpu import map_gemm_split
    from perfgraph.engine.common import gemm_shape

    h100 = get("h100-sxm")
    # M = 16, K = 4096 -> N = 1024 (fp16): 8 blocks on 4 of 132 SMs.  Unsplit, the 8.4 MB of weights cross
    # 4 SMs' L2 -> SM paths: 8.54e6 B / (4 x 73.57 GB/s) = 29 us; split 16 ways, 64 SMs move them in
    # 1.8 us for a second 5 us launch -- the split wins.
    sg, lin = _linear(16, 1024, 4096)
    km = map_subgraph(sg, [lin], h100, "fp16")
    unsplit = map_gemm_split(sg, [lin], h100, "fp16", "fp16", gemm_shape(lin), 1)
    ext = 2 * 16 * 4096 + 2 * 16 * 1024 + 2 * 1024 * 4096
    assert unsplit.memory_time_s["L2->SM"] == pytest.approx(ext / (4 * 40.2 * 1.83e9))  # 29.0 us
    assert km.details["split_k"] > 1
    assert km.latency_s < unsplit.latency_s - 10e-6
    # the choice is the fastest of every tile x split x reduction scheme tried
    from perfgraph.engine.gpu_tiles import split_k_candidates, tiles_to_try

    shape = gemm_shape(lin)
    tried = [map_gemm_split(sg, [lin], h100, "fp16", "fp16", shape, s, None, t, r)
             for t in tiles_to_try(h100, "fp16", shape) for s in split_k_candidates(h100, "fp16", shape, t)
             for r in ("kernel", "inplace")]
    assert len(tried) > 16 and km.latency_s == min(t.latency_s for t in tried)
    # a grid that fills the chip (4096^3: 1024 blocks >= 264 slots) is never split, and keeps its 128 x 128 tile
    n = 4096
    big, lin = _linear(n, n, n)
    km = map_subgraph(big, [lin], h100, "fp16")
    assert km.details["split_k"] == 1 and km.details["split_k_considered"] == [1]
    assert km.details["tile"][:2] == [128, 128]


def test_gemv_is_a_memory_bound_streaming_kernel():
    # ResNet-18's classifier at batch 1 on an H100 (fp16): M = 1, K = 512, N = 1000 -- a GEMV
    h100 = get("h100-sxm")
    sg, lin = _linear(1, 1000, 512)
    km = map_subgraph(sg, [lin], h100, "fp16")
    assert km.details["rule"] == "gpu.skinny" and km.kernel == "gemm"
    # one thread per 16 B of the 512 x 1000 fp16 weights: 64000 threads = 250 blocks of 256 -> all 132 SMs
    assert km.details["threads"] == 64000 and km.details["blocks"] == 250 and km.units_allocated == 132
    ext = 2 * 512 + 2 * 1000 + 2 * 512 * 1000  # 1,027,024 B
    assert km.memory_time_s["HBM3"] == pytest.approx(ext / 3.35e12)  # 0.307 us
    # compute on the CUDA cores: 1.024 MFLOP / (133.8 TFLOP/s x wave efficiency 250 / (132 x 8)) = 32 ns
    assert km.compute_time_effective_s == pytest.approx(2 * 512 * 1000 / (133.8e12 * 250 / 1056))
    # steady state bound by memory; the 5 us launch outweighs both, so the kernel is overhead-bound and
    # reports no utilisation
    assert km.memory_time_max_s > km.compute_time_effective_s
    assert km.bound == "overhead" and km.compute_utilization is None
    # fill from DRAM + drain into L2 + one launch: 0.307 + 0.523 + 5 us, not a padded 64-row tile
    assert km.latency_s == pytest.approx(ext / 3.35e12 + (371.7 + 151.3) * 1e-9 + 5e-6)


def test_large_elementwise_on_gpu_is_memory_bound():
    n = 64 * 2 ** 20  # 64 Mi fp32 elements: read 256 MiB, write 256 MiB
    relu = op(0, "elementwise", flops=n, bytes_read=4 * n, bytes_written=4 * n, shape=(n,))
    sg = subgraph(0, [relu], input_bytes=4 * n, output_bytes=4 * n)
    km = map_subgraph(sg, [relu], get("h100-sxm"), "fp32")
    nbytes = 8 * n
    # every SM busy (262144 blocks of 256 threads) -> full bandwidth
    assert km.units_allocated == 132
    assert km.memory_time_s["HBM3"] == pytest.approx(nbytes / 3.35e12)
    assert km.bound == "memory"
    exposed = 371.7e-9 + 151.3e-9  # DRAM fill + L2 drain, negligible next to 160 us of streaming
    assert km.latency_s == pytest.approx(nbytes / 3.35e12 + exposed + 5e-6)
    # waves: blocks = n / 256 = 262144; slots = 132 x min(32, 2048/256 = 8) = 1056; ceil -> 249 waves
    assert km.details["waves"] == 249
    assert km.utilization == pytest.approx(262144 / (249 * 1056))
    # energy sum: fp32 pJ/FLOP = (700 - 175 - 104.52) / 66.9e12 x 1e12; 31.2 pJ/B; static 175 W x latency
    pj = (700 - 175 - 3.35e12 * 31.2e-12) / 66.9e12 * 1e12
    expected = n * pj * 1e-12 + nbytes * 31.2e-12 + 175 * (nbytes / 3.35e12 + exposed + 5e-6)
    assert km.energy_j == pytest.approx(expected)


def test_tiny_elementwise_on_gpu_is_overhead_bound():
    add = op(0, "elementwise", flops=256, bytes_read=2048, bytes_written=1024, shape=(256,))
    km = map_subgraph(subgraph(0, [add], input_bytes=2048, output_bytes=1024), [add], get("a100"), "fp32")
    assert km.bound == "overhead" and km.units_allocated == 1


# ---------------------------------------------------------------------------------------------------- CPU


def test_tiny_elementwise_on_cpu_is_overhead_bound():
    n = 1000
    add = op(0, "elementwise", flops=n, bytes_read=8 * n, bytes_written=4 * n, shape=(n,))
    sg = subgraph(0, [add], input_bytes=8 * n, output_bytes=4 * n)
    km = map_subgraph(sg, [add], get("xeon-8480"), "fp32")
    # 1000 elements < PyTorch's 32768-element grain -> 1 core of 56
    assert km.units_allocated == 1 and km.utilization == pytest.approx(1 / 56)
    # 12 kB working set fits the 48 KB L1D of that core: 14.336 TB/s x 1/56 = 256 GB/s
    assert km.details["serving_level"] == "L1D"
    mem = 12000 / (14.336e12 / 56)  # 46.9 ns
    compute = n / (7.168e12 / 56)  # 7.8 ns on one core
    assert km.memory_time_s["L1D"] == pytest.approx(mem)
    assert km.compute_time_effective_s == pytest.approx(compute)
    assert km.overhead_s == 5e-6
    assert km.bound == "overhead"
    assert km.latency_s == pytest.approx(5e-6 + mem)
    # energy: 1000 x pJ(fp32) + 12000 B x 1.25 pJ (L1) + 87.5 W static x latency
    pj = (350 - 87.5 - 307.2e9 * 120e-12) / 7.168e12 * 1e12
    assert km.energy_j == pytest.approx(n * pj * 1e-12 + 12000 * 1.25e-12 + 87.5 * (5e-6 + mem))


def test_small_linear_on_cpu_uses_few_cores():
    # batch-1 linear 512 -> 1000: M = 1, N = 1000, K = 512; 64 x 64 output blocks -> ceil(1000/64) = 16
    lin = op(0, "matmul", macs=512 * 1000, flops=2 * 512 * 1000, bytes_read=2048, bytes_written=4000,
             weight_bytes=512 * 1000 * 4, shape=(1, 1000))
    sg = subgraph(0, [lin], input_bytes=2048, output_bytes=4000, weight_bytes=512 * 1000 * 4)
    km = map_subgraph(sg, [lin], get("xeon-8480"), "fp32")
    assert km.units_allocated == 16
    # 16 of 56 cores busy; AVX-512: 16 fp32 lanes along N -> 1000 / 1008
    assert km.utilization == pytest.approx(16 / 56 * 1000 / 1008)


# ---------------------------------------------------------------------------------------------------- TPU


def test_depthwise_conv_on_tpu_v4_pads_badly():
    # depthwise 3x3, 32 channels, 112 x 112, stride 1, bf16: M = 112 x 112 = 12544, C_out = 32, K = 9
    c, h = 32, 112
    m = h * h
    macs = m * c * 9
    dw = op(0, "conv", macs=macs, flops=2 * macs, bytes_read=c * m * 2, bytes_written=c * m * 2,
            weight_bytes=c * 9 * 2, shape=(1, c, h, h), dtype="torch.bfloat16")
    sg = subgraph(0, [dw], input_bytes=c * m * 2, output_bytes=c * m * 2, weight_bytes=c * 9 * 2)
    km = map_subgraph(sg, [dw], get("tpu-v4"), "bf16")
    g = km.details["gemm"]
    assert g["depthwise"] and g["groups"] == 32 and g["K"] == 9 and g["N"] == 1 and g["M"] == m
    # 128 x 128 MXU: floor(128 / 9) = 14 channels block-diagonally per weight tile -> ceil(32 / 14) = 3 tiles
    assert km.details["groups_per_tile"] == 14 and km.details["weight_tiles"] == 3
    # useful MACs per row: 32 ch x 9 = 288 of 3 tiles x 128 x 128 = 49152 cells
    waste = 1 - 288 / 49152  # 99.4 %
    assert km.details["padding_waste"] == pytest.approx(waste)
    # row blocks 3 x 12544 / 8 = 4704 spread over 8 MXUs: 588 waves, no quantisation loss
    assert km.details["waves"] == 588
    assert km.utilization == pytest.approx(288 / 49152)
    assert km.compute_time_effective_s == pytest.approx(2 * macs / (275e12 * 288 / 49152))
    # the same layer as a dense 32 -> 32 3x3 conv (K = 288) wastes far less
    dense = op(1, "conv", macs=m * 32 * 288, flops=2 * m * 32 * 288, bytes_read=c * m * 2,
               bytes_written=c * m * 2, weight_bytes=32 * 288 * 2, shape=(1, 32, h, h), dtype="torch.bfloat16")
    kd = map_subgraph(subgraph(1, [dense], input_bytes=c * m * 2, output_bytes=c * m * 2), [dense], get("tpu-v4"), "bf16")
    # K 288 -> 3 x 128 rows, N 32 -> 128 columns: 288 x 32 / (384 x 128) = 0.1875
    assert kd.details["padding_waste"] == pytest.approx(1 - 288 * 32 / (384 * 128))
    assert kd.utilization > 30 * km.utilization


def test_depthwise_conv_on_gpu_is_a_direct_kernel():
    # the same depthwise layer on an H100 (fp32): one thread per output element, bandwidth-bound
    c, h = 32, 112
    m = h * h
    macs = m * c * 9
    dw = op(0, "conv", macs=macs, flops=2 * macs, bytes_read=c * m * 4, bytes_written=c * m * 4,
            weight_bytes=c * 9 * 4, shape=(1, c, h, h))
    sg = subgraph(0, [dw], input_bytes=c * m * 4, output_bytes=c * m * 4, weight_bytes=c * 9 * 4)
    km = map_subgraph(sg, [dw], get("h100-sxm"), "fp32")
    assert km.kernel == "vector" and km.details["gemm"]["depthwise"]
    assert km.details["threads"] == c * m  # 401408 outputs -> 1568 blocks of 256 over 132 x 8 slots
    assert km.details["waves"] == 2 and km.utilization == pytest.approx(1568 / (2 * 1056))
    assert km.memory_time_s["HBM3"] == pytest.approx((2 * c * m * 4 + c * 9 * 4) / 3.35e12)


def test_tpu_fp32_runs_as_bf16():
    n = 1024
    mm = op(0, "matmul", macs=n ** 3, flops=2 * n ** 3, shape=(n, n))
    km = map_subgraph(subgraph(0, [mm], input_bytes=8 * n * n, output_bytes=4 * n * n), [mm], get("tpu-v5e"), "fp32")
    assert km.precision == "fp32" and km.precision_used == "bf16"
    assert km.utilization == pytest.approx(1.0)  # 1024 is a multiple of 128 and of 8


# ---------------------------------------------------------------------------------------------------- KPU


def test_kpu_t256_gemm_tiles():
    n = 512
    mm = op(0, "matmul", macs=n ** 3, flops=2 * n ** 3, shape=(n, n), dtype="torch.bfloat16")
    km = map_subgraph(subgraph(0, [mm], input_bytes=4 * n * n, output_bytes=2 * n * n), [mm], get("kpu-t256"), "bf16")
    # 20 x 20 PE array per tile: ceil(512/20) = 26 -> 676 output blocks over 256 tiles: 3 waves
    assert km.details["blocks"] == 676 and km.details["waves"] == 3
    wave_eff = 676 / (3 * 256)
    pad_eff = 512 * 512 / (520 * 520)
    pipe_eff = 512 / (512 + 20 + 20)
    assert km.utilization == pytest.approx(wave_eff * pad_eff * pipe_eff)
    peak = 256 * 400 * 1 * 1.4e9
    assert km.compute_time_effective_s == pytest.approx(2 * n ** 3 / peak / (wave_eff * pad_eff * pipe_eff))


def test_unsupported_precision_is_a_clear_error():
    mm = op(0, "matmul", macs=8, flops=16, shape=(2, 2))
    with pytest.raises(PrecisionNotSupportedError, match="unknown precision 'fp8'"):
        map_subgraph(subgraph(0, [mm], input_bytes=16, output_bytes=16), [mm], get("h100-sxm"), "fp8")


# ------------------------------------------------------------------------------------------------ model


def diamond(batch=1):
    """sg0 -> {sg1 (GEMM), sg2 (elementwise)} -> sg3; outputs 100/200/300/50 bytes (x batch)."""
    b = batch
    ops = [
        op(0, "elementwise", flops=25 * b, bytes_read=100 * b, bytes_written=100 * b, shape=(b, 25)),
        op(1, "matmul", macs=b * 1024 * 1024, flops=2 * b * 1024 * 1024, bytes_read=4096 * b,
           bytes_written=200 * b, weight_bytes=1000, shape=(b * 1024, 1024)),
        op(2, "elementwise", flops=75 * b * 1000, bytes_read=100 * b, bytes_written=300 * b, shape=(b, 75000)),
        op(3, "elementwise", flops=12 * b, bytes_read=500 * b, bytes_written=50 * b, shape=(b, 12)),
    ]
    sgs = [
        subgraph(0, [ops[0]], input_bytes=100 * b, output_bytes=100 * b),
        subgraph(1, [ops[1]], input_bytes=100 * b, output_bytes=200 * b, weight_bytes=1000),
        subgraph(2, [ops[2]], input_bytes=100 * b, output_bytes=300 * b),
        subgraph(3, [ops[3]], input_bytes=500 * b, output_bytes=50 * b),
    ]
    info = ModelInfo(id="diamond", name="diamond", source="test", batch=b, input_shape=[b, 25], dtype="float32")
    return ModelGraph(info=info, ops=ops, values=[], op_edges=[(0, 1, 100 * b), (0, 2, 100 * b), (1, 3, 200 * b), (2, 3, 300 * b)],
                      subgraphs=sgs, subgraph_edges=[(0, 1, 100 * b), (0, 2, 100 * b), (1, 3, 200 * b), (2, 3, 300 * b)])


@pytest.mark.parametrize("hw_name", ["h100-sxm", "xeon-8480", "tpu-v4", "kpu-t64"])
def test_model_sequential_ge_concurrent_ge_critical_path(hw_name):
    hw = get(hw_name)
    mm = map_model(diamond(), hw, "fp32")
    lat = {k.subgraph_index: k.latency_s for k in mm.kernels}
    assert mm.stages == {0: 0, 1: 1, 2: 1, 3: 2}
    assert mm.latency_sequential_s == pytest.approx(sum(lat.values()))
    # critical path: sg0 -> the slower branch -> sg3
    assert mm.latency_critical_path_s == pytest.approx(lat[0] + max(lat[1], lat[2]) + lat[3])
    assert mm.critical_path == [0, 1 if lat[1] >= lat[2] else 2, 3]
    # stage 1 holds both branches: max(longest, sum f x compute, sum memory, sum overhead)
    k1, k2 = mm.kernels[1], mm.kernels[2]
    stage1 = max(lat[1], lat[2],
                 k1.units_allocated / k1.units_total * k1.compute_time_effective_s
                 + k2.units_allocated / k2.units_total * k2.compute_time_effective_s,
                 k1.memory_time_max_s + k2.memory_time_max_s, k1.overhead_s + k2.overhead_s)
    assert mm.latency_concurrent_s == pytest.approx(lat[0] + stage1 + lat[3])
    assert mm.latency_sequential_s >= mm.latency_concurrent_s >= mm.latency_critical_path_s
    assert mm.latency_sequential_s > mm.latency_concurrent_s  # the branches overlap
    assert mm.throughput_per_s == pytest.approx(1 / mm.latency_sequential_s)
    assert mm.energy_per_batch_j == pytest.approx(sum(k.energy_j for k in mm.kernels))


def test_model_peak_memory_and_batch():
    mm = map_model(diamond(batch=4), get("h100-sxm"), "fp32")
    # schedule 0, 1, 2, 3; outputs live producer..last consumer:
    #   out0 [0, 2], out1 [1, 3], out2 [2, 3], out3 [3, 3]; sizes x batch 4: 400, 800, 1200, 200
    #   live: t0 400, t1 1200, t2 2400, t3 2200 -> peak 2400; weights 1000
    assert mm.peak_activation_bytes == 2400
    assert mm.weights_bytes == 1000
    assert mm.peak_memory_bytes == 3400
    assert mm.fits_in_memory
    assert mm.batch == 4
    assert mm.throughput_per_s == pytest.approx(4 / mm.latency_sequential_s)
    assert mm.energy_per_sample_j == pytest.approx(mm.energy_per_batch_j / 4)
    # fp16 halves the bytes (traced in fp32)
    assert map_model(diamond(batch=4), get("h100-sxm"), "fp16").peak_memory_bytes == 1700


def test_explicit_stages_are_used():
    # all four in one stage: concurrency-aware time is then one stage, still >= the longest kernel
    mm = map_model(diamond(), get("h100-sxm"), "fp32", stages={0: 0, 1: 0, 2: 0, 3: 0})
    assert mm.latency_concurrent_s >= max(k.latency_s for k in mm.kernels)
    assert mm.latency_concurrent_s <= mm.latency_sequential_s


# ------------------------------------------------------------------------------------------------ sweep


def test_saturation_batch_definition():
    rows = [{"batch": 1, "throughput_per_s": 100.0}, {"batch": 2, "throughput_per_s": 190.0},
            {"batch": 4, "throughput_per_s": 350.0}, {"batch": 8, "throughput_per_s": 400.0},
            {"batch": 16, "throughput_per_s": 410.0}]
    # best 410 -> 80 % = 328; first batch at or above: 4
    assert saturation_batch(rows) == 4
    assert saturation_batch(rows, threshold=0.95) == 8
    rows[-1]["fits_in_memory"] = False  # batch 16 does not fit: best is 400 -> 320 -> still 4
    assert saturation_batch(rows) == 4


def test_batch_sweep_rows():
    hw = get("t4")
    rows = batch_sweep(diamond, hw, "fp16", [1, 2, 4, 8])
    assert [r["batch"] for r in rows] == [1, 2, 4, 8]
    thr = [r["throughput_per_s"] for r in rows]
    assert all(b >= a for a, b in zip(thr, thr[1:]))  # bigger batches amortise launches
    sat = saturation_batch(diamond, hw, "fp16", [1, 2, 4, 8])
    best = max(thr)
    assert sat == min(r["batch"] for r in rows if r["throughput_per_s"] >= 0.8 * best)
    assert all(r["latency_s"] >= r["latency_concurrent_s"] >= r["latency_critical_path_s"] for r in rows)


def test_engine_does_not_import_torch():
    code = ("import sys; import perfgraph.engine.mapping, perfgraph.engine.model_mapping, perfgraph.engine.saturation, "
            "perfgraph.hardware.spec, perfgraph.hardware.local; "
            "from perfgraph.hardware.spec import get; get('h100'); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_an_in_place_update_leaves_only_its_slice_in_l2():
    """A KV-cache update (`index_copy_`) writes one token's slice into a buffer its consumer (attention) reads
    whole: the edge carries the whole buffer, the producer's output is the slice.  Only the slice is an L2 hit;
    the rest of the buffer streams from DRAM, whether or not the buffer would fit the L2."""
    h100 = get("h100-sxm")  # 50 MiB L2
    mib = 2 ** 20
    for buffer_mib in (16, 64):
        size = buffer_mib * mib
        ops = [op(0, "elementwise", flops=mib // 4, bytes_read=mib, bytes_written=mib, shape=(mib // 4,)),
               op(1, "elementwise", flops=size // 4, bytes_read=size, bytes_written=mib, shape=(size // 4,))]
        sgs = [subgraph(0, [ops[0]], input_bytes=mib, output_bytes=mib),
               subgraph(1, [ops[1]], input_bytes=size, output_bytes=mib)]
        info = ModelInfo(id=f"kv{buffer_mib}", name="kv", source="test", batch=1, input_shape=[1], dtype="float32")
        g = ModelGraph(info=info, ops=ops, values=[], op_edges=[(0, 1, size)], subgraphs=sgs,
                       subgraph_edges=[(0, 1, size)])
        k0, k1 = map_model(g, h100, "fp32").kernels
        assert k1.details["residency"]["input_bytes"] == mib, buffer_mib
        assert k1.details["dram_bytes"] == size - mib + mib  # the unwritten buffer + the model output
