"""GPU exposed memory latency (engine.gpu, "Exposed memory latency"): hand-computed cases.

Each launch pays one load round trip before its first tile can be computed (DRAM when it reads anything
from DRAM, else the L2) and one store round trip into the L2 before it completes; a split-K reduction
launch pays its own.  Latencies are the spec's measured pointer-chase figures: A100 80GB 405.5 ns (DRAM)
and 149.6 ns (L2 hit), te42kyfo/gpu-benches cuda-latency/a100_80.txt.  Expected numbers are computed here
from those values and the documented rules, not by calling the code under test.
"""

from __future__ import annotations

import pytest

from perfgraph.engine.gpu_memory import exposed_latency
from perfgraph.engine.mapping import map_subgraph
from perfgraph.hardware.spec import get

from engine_cases import _isolated_user_dirs, op, subgraph  # noqa: F401 - the fixture, by name

A100_DRAM = 405.5e-9  # 571.8 cycles at 1.41 GHz
A100_L2 = 149.6e-9  # 211.0 cycles at 1.41 GHz


def _tiny_add():
    add = op(0, "elementwise", flops=256, bytes_read=2048, bytes_written=1024, shape=(256,))
    return subgraph(0, [add], input_bytes=2048, output_bytes=1024), add


def test_spec_latencies_are_the_measured_ones():
    a100 = get("a100")
    assert a100.unit_details["dram_latency_ns"] == 405.5
    assert a100.unit_details["l2_latency_ns"] == 149.6
    assert "cuda-latency/a100_80.txt" in a100.sources["compute_units.gpu.dram_latency_ns"]


def test_tiny_kernel_on_a100_is_latency_bound_at_the_new_minimum():
    sg, add = _tiny_add()
    compiled = get("a100").with_overrides({"overhead": {"launch_s": 0.0}}, source="unit test: no launch gap")
    km = map_subgraph(sg, [add], compiled, "fp32")
    # Steady state: 1 block of 256 threads on 1 SM.  L2 -> SM path of one SM = 35.5 B/clk x 1.41 GHz =
    # 50.06 GB/s -> 3072 B / 50.06 GB/s = 61.37 ns; compute = 256 FLOP / 19.5 TFLOP/s / (1 / 864 slots)
    # = 11.34 ns.  Exposed: the cold kernel reads from DRAM (405.5 ns) and drains its store into the L2
    # (149.6 ns) = 555.1 ns, nine times its steady-state time.
    path = 3072 / (35.5 * 1.41e9)
    assert km.memory_time_s["L2->SM"] == pytest.approx(path)
    assert km.compute_time_effective_s == pytest.approx(256 / 19.5e12 * 864)
    assert km.details["exposed_latency"] == {"fill_s": pytest.approx(A100_DRAM), "drain_s": pytest.approx(A100_L2),
                                             "total_s": pytest.approx(A100_DRAM + A100_L2)}
    assert km.latency_exposed_s == pytest.approx(555.1e-9)
    assert km.latency_s == pytest.approx(path + 555.1e-9)  # 616.5 ns: no A100 kernel that touches DRAM is shorter
    assert km.bound == "memory"  # waiting on memory latency
    # with the spec's eager 5 us launch the same kernel is launch-bound, and the latency still adds
    km = map_subgraph(sg, [add], get("a100"), "fp32")
    assert km.bound == "overhead"
    assert km.latency_s == pytest.approx(path + 555.1e-9 + 5e-6)


def test_big_gemm_is_unchanged_but_for_one_fill_and_drain():
    # 8192^3 int8 GEMM on an A100: 64 x 64 = 4096 blocks of 128 x 128; 2 blocks per SM (registers:
    # 65536 / (256 x 128)); 216 slots -> 19 waves, wave efficiency 4096 / (19 x 216); x the 0.869 ceiling.
    n = 8192
    mm = op(0, "matmul", macs=n ** 3, flops=2 * n ** 3, bytes_read=2 * n * n, bytes_written=n * n,
            shape=(n, n), dtype="torch.int8")
    sg = subgraph(0, [mm], input_bytes=2 * n * n, output_bytes=n * n)
    km = map_subgraph(sg, [mm], get("a100"), "int8")
    util = 4096 / (19 * 216) * 0.869
    compute = 2 * n ** 3 / 624e12 / util  # 2.03 ms
    assert km.utilization == pytest.approx(util)
    assert km.bound == "compute"
    assert km.latency_exposed_s == pytest.approx(A100_DRAM + A100_L2)
    assert km.latency_s == pytest.approx(compute + A100_DRAM + A100_L2 + 5e-6)
    assert km.latency_exposed_s / km.latency_s < 3e-4  # 0.03 %: the big-kernel prediction is unchanged


def test_split_k_reduction_launch_pays_its_own_round_trips():
    # linear 4096 -> 1024 over M = 16 rows in fp16 on an A100, split 16 ways along K (`map_gemm_split`;
    # `map_gemm` takes the fastest split): the 1 MiB of fp32 partials fit the 40 MB L2.  Exposed: DRAM
    # fill (the weights) + L2 drain, then the reduction launch: L2 fill (the partials) + L2 drain
    # = 405.5 + 3 x 149.6 = 854.3 ns.
    from perfgraph.engine.common import gemm_shape
    from perfgraph.engine.gpu import map_gemm_split

    m, k_in, n_out = 16, 4096, 1024
    lin = op(0, "matmul", macs=m * n_out * k_in, flops=2 * m * n_out * k_in, bytes_read=2 * m * k_in,
             bytes_written=2 * m * n_out, weight_bytes=2 * n_out * k_in, shape=(m, n_out), dtype="torch.float16")
    sg = subgraph(0, [lin], input_bytes=2 * m * k_in, output_bytes=2 * m * n_out, weight_bytes=2 * n_out * k_in)
    km = map_gemm_split(sg, [lin], get("a100"), "fp16", "fp16", gemm_shape(lin), 16)
    assert km.details["split_k"] == 16
    assert km.details["exposed_latency"]["reduction_s"] == pytest.approx(2 * A100_L2)
    assert km.latency_exposed_s == pytest.approx(854.3e-9)
    steady = max(km.compute_time_effective_s, max(km.memory_time_s.values()))
    # one 5 us launch + the reduction kernel enqueued back to back by the library (1 us device gap)
    assert km.latency_s == pytest.approx(steady + 854.3e-9 + 5e-6 + 1e-6)


def test_fill_comes_from_the_level_the_reads_come_from():
    # pure helper: DRAM reads -> DRAM fill; none -> L2 fill; partials that did not fit -> DRAM for the reduction
    a100 = get("a100")
    assert exposed_latency(a100, 1.0)["total_s"] == pytest.approx(A100_DRAM + A100_L2)
    assert exposed_latency(a100, 0.0)["total_s"] == pytest.approx(2 * A100_L2)
    spilled = exposed_latency(a100, 1.0, split_k=True, partials_in_l2=False)
    assert spilled["reduction_s"] == pytest.approx(A100_DRAM + A100_L2)


def test_spec_without_latencies_gets_no_latency_term():
    sg, add = _tiny_add()
    bare = get("a100").with_overrides({"compute_units": {"gpu": {"dram_latency_ns": 0, "l2_latency_ns": 0}}},
                                      source="unit test")
    km = map_subgraph(sg, [add], bare, "fp32")
    assert km.latency_exposed_s == 0.0
    assert km.latency_s == pytest.approx(3072 / (35.5 * 1.41e9) + 5e-6)
    # the legacy linear-share path (no per-SM figure) still pays the round trips: everything is DRAM
    legacy = get("a100").with_overrides({"compute_units": {"gpu": {"l2_bytes_per_clk_per_sm": 0}}}, source="unit test")
    km = map_subgraph(sg, [add], legacy, "fp32")
    assert km.latency_exposed_s == pytest.approx(A100_DRAM + A100_L2)


def test_non_gpu_kinds_are_untouched():
    sg, add = _tiny_add()
    for chip in ("xeon-8480", "tpu-v4", "kpu-t256"):
        assert map_subgraph(sg, [add], get(chip), "fp32").latency_exposed_s == 0.0
