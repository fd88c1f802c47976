"""Issue #18: on-chip capacity placement, the energy split, monotonic latency in batch, and `--kernels`.

Expected numbers are computed by hand from the chip YAMLs and the documented rules (engine.placement,
engine.explain, engine.gpu), not by calling the code under test.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from perfgraph.engine.model_mapping import map_model
from perfgraph.graph import ModelGraph, ModelInfo
from perfgraph.hardware.spec import get, load_all

from engine_cases import _isolated_user_dirs, op, subgraph  # noqa: F401 - the fixture, by name

EDGE_SRAM = 8388608  # edge-tpu.yaml: SRAM capacity_bytes
EDGE_LINK = 500.0e6  # edge-tpu.yaml: host-PCIe bandwidth (PCIe Gen2 x1)


def _two_layers(w0: int, w1: int) -> ModelGraph:
    """int8 model: sg0 (reads a 1000 B model input, weights w0, writes 1000 B) -> sg1 (weights w1, writes
    the 500 B model output)."""
    ops = [op(0, "matmul", macs=1000, flops=2000, bytes_read=1000, bytes_written=1000, weight_bytes=w0,
              shape=(1, 1000), dtype="torch.int8"),
           op(1, "matmul", macs=500, flops=1000, bytes_read=1000, bytes_written=500, weight_bytes=w1,
              shape=(1, 500), dtype="torch.int8")]
    sgs = [subgraph(0, [ops[0]], input_bytes=1000, output_bytes=1000, weight_bytes=w0),
           subgraph(1, [ops[1]], input_bytes=1000, output_bytes=500, weight_bytes=w1)]
    info = ModelInfo(id=f"two{w0}_{w1}", name="two", source="test", batch=1, input_shape=[1000], dtype="int8")
    return ModelGraph(info=info, ops=ops, values=[], op_edges=[(0, 1, 1000)], subgraphs=sgs,
                      subgraph_edges=[(0, 1, 1000)])


def test_a_model_that_fits_the_edge_tpu_streams_only_its_input_and_output():
    mm = map_model(_two_layers(2_000_000, 3_000_000), get("edge-tpu"), "int8")
    p = mm.placement
    # weights 5 MB + peak activations 1500 B (sg0's 1000 B output live with sg1's 500 B) <= 8 MiB SRAM
    assert p["weights_bytes"] == 5_000_000 and p["peak_activation_bytes"] == 1500
    assert p["fits_on_chip"] is True and p["store"] == "SRAM" and p["stream_level"] == "host-PCIe"
    # only the 1000 B input and the 500 B output cross the link
    assert p["streamed_bytes"] == 1500
    k0, k1 = mm.kernels
    assert k0.memory_time_s["host-PCIe"] == pytest.approx(1000 / EDGE_LINK)
    assert k1.memory_time_s["host-PCIe"] == pytest.approx(500 / EDGE_LINK)


def test_a_model_that_does_not_fit_streams_the_uncached_weights_over_the_link():
    mm = map_model(_two_layers(6_000_000, 4_000_000), get("edge-tpu"), "int8")
    p = mm.placement
    assert p["fits_on_chip"] is False
    # SRAM left for weights: 8388608 - 1500 = 8387108 B, filled in schedule order: sg0's 6 MB whole, then
    # 2387108 B of sg1's 4 MB -> 1612892 B of sg1's weights stream every inference
    assert p["weights_onchip_bytes"] == 8_387_108
    assert p["streamed_bytes"] == 1_612_892 + 1000 + 500
    k1 = mm.kernels[1]
    assert k1.details["main_bytes"] == 1_612_892 + 500
    assert k1.memory_time_s["host-PCIe"] == pytest.approx((1_612_892 + 500) / EDGE_LINK)  # 3.227 ms
    assert k1.bound == "memory"
    line = json.dumps(mm.placement)
    assert "host-PCIe" in line


def test_onchip_line_says_what_streams():
    from perfgraph.engine.explain import onchip_line

    mm = map_model(_two_layers(6_000_000, 4_000_000), get("edge-tpu"), "int8")
    assert onchip_line(mm.placement, 1) == ("fits on chip: no (10 MB > 8.389 MB SRAM), "
                                            "streams 1.614 MB per inference over host-PCIe")


def test_kpu_store_without_a_bandwidth_shares_the_dram_bandwidth():
    # KPU-T64: L3 = 64 tiles x 256 KiB = 16 MiB, no published bandwidth: on-chip bytes are costed at LPDDR5's
    # 64 GB/s together with the streamed ones (a path time), so the kernel is no faster than all-DRAM
    mm = map_model(_two_layers(2_000_000, 3_000_000), get("kpu-t64"), "int8")
    assert mm.placement["store"] == "L3" and mm.placement["store_capacity_bytes"] == 64 * 262144
    k0 = mm.kernels[0]
    total = 1000 + 1000 + 2_000_000
    assert k0.memory_time_s["L3+LPDDR5"] == pytest.approx(total / 64e9)
    assert any("not published" in a for a in k0.details["assumptions"])


@pytest.mark.parametrize("chip,precision", [("h100-sxm", "fp16"), ("edge-tpu", "int8"), ("kpu-t64", "int8"),
                                            ("xeon-8480", "fp32")])
def test_energy_split_sums_to_the_total(chip, precision):
    hw = get(chip)
    mm = map_model(_two_layers(6_000_000, 4_000_000), hw, precision)
    split = mm.energy_split
    assert split["compute_j"] + sum(split["memory_j"].values()) + split["static_j"] == \
        pytest.approx(mm.energy_per_batch_j, rel=1e-12)
    assert split["static_j"] == pytest.approx(hw.static_w * mm.latency_sequential_s)
    assert "static power:" in split["labels"]["static"]


def test_edge_tpu_energy_split_by_hand():
    # the fitting model on the Edge TPU: static 0.5 W (assumption: 25 % of the 2 W TDP) x latency; the
    # link moves 1500 B at 160 pJ/B (estimate), the SRAM the other 5,002,000 B at 1.25 pJ/B (estimate)
    mm = map_model(_two_layers(2_000_000, 3_000_000), get("edge-tpu"), "int8")
    split = mm.energy_split
    assert split["memory_j"]["host-PCIe"] == pytest.approx(1500 * 160e-12)
    assert split["memory_j"]["SRAM"] == pytest.approx((1000 + 2_000_000 + 1000 + 3_000_000) * 1.25e-12)
    assert split["static_j"] == pytest.approx(0.5 * mm.latency_sequential_s)
    assert split["labels"]["static"] == "static power: assumption, 25% of TDP (0.5 W of 2 W)"
    assert split["labels"]["memory host-PCIe"] == "estimate, 160 pJ/B"


def test_utilisation_is_reported_only_for_compute_bound_kernels():
    mm = map_model(_two_layers(6_000_000, 4_000_000), get("edge-tpu"), "int8")
    for k in mm.kernels:
        assert 0.0 <= k.utilization <= 1.0
        assert (k.compute_utilization is None) == (k.bound != "compute")


# -- latency never decreases with batch ------------------------------------------------------------------
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# Residual allowed: a few tens of ns on a kernel whose tiny grid is limited by the per-SM L2 -> SM path
# (docs/hardware.md, "Monotonic in batch").
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def graphs_by_batch():
    from perfgraph.analysis import analyze_graph

    return {m: {b: analyze_graph(m, batch=b, tracers=("meta",)) for b in BATCHES}
            for m in ("synthetic:mlp", "resnet18", "mobilenet_v2")}


def _precision(hw) -> str:
    for p in ("fp16", "int8", "bf16", "fp32"):
        if p in hw.peak_flops:
            return p
    return "fp32"


@pytest.mark.parametrize("chip", sorted(load_all()))
def test_latency_never_decreases_with_batch(chip, graphs_by_batch):
    hw = get(chip)
    p = _precision(hw)
    for model, graphs in graphs_by_batch.items():
        lat = [map_model(graphs[b], hw, p).latency_s for b in BATCHES]
        for (b1, l1), (b2, l2) in zip(zip(BATCHES, lat), zip(BATCHES[1:], lat[1:])):
            assert l2 >= l1 * (1 - TOLERANCE), f"{model} on {chip} ({p}): batch {b2} {l2:.4g}s < batch {b1} {l1:.4g}s"


# -- perfgraph analyze MODEL --hardware CHIP --kernels ---------------------------------------------------
def test_analyze_kernels_table_and_json():
    from perfgraph.cli.main import cli

    runner = CliRunner()
    # the README's command: resnet50's 25.6 M int8 weights cannot stay in the 8 MB SRAM
    res = runner.invoke(cli, ["analyze", "resnet50", "--hardware", "edge-tpu", "--precision", "int8", "--kernels"])
    assert res.exit_code == 0, res.output
    assert "kernels" in res.output and "par b·c·s" in res.output
    assert "fits on chip: no (" in res.output and "per inference over host-PCIe" in res.output
    assert "static power: assumption, 25% of TDP" in res.output
    res = runner.invoke(cli, ["analyze", "synthetic:mlp", "--hardware", "edge-tpu", "--precision", "int8",
                              "--kernels", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    k = rows[0]["kernel_rows"][0]
    assert {"pattern", "units_allocated", "units_total", "bound", "parallelism_batch", "parallelism_channels",
            "parallelism_spatial", "latency_s", "utilization"} <= set(k)
    assert k["units_total"] == 1  # the Edge TPU is modelled as one systolic array
    assert (k["utilization"] is None) == (k["bound"] != "compute")
    assert rows[0]["fits_on_chip"] in (True, False) and rows[0]["energy_split"]["total_j"] > 0


def test_kernels_needs_hardware():
    from perfgraph.cli.main import cli

    res = CliRunner().invoke(cli, ["analyze", "synthetic:mlp", "--kernels"])
    assert res.exit_code == 2 and "--kernels needs --hardware" in res.output


def test_html_report_states_placement_and_energy_split():
    import perfgraph

    html = perfgraph.analyze("synthetic:mlp", hardware="edge-tpu,h100", precision="int8").to_html()
    assert "edge-tpu: fits on chip:" in html and "h100-sxm: fits on chip: n/a" in html
    assert "energy per batch" in html and "static power: assumption, 25% of TDP" in html
