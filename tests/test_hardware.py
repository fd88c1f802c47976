"""Hardware specs: every packaged YAML loads, validates and sources every number; the loader's errors."""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import pytest
import yaml

from perfgraph.hardware import spec as hwspec
from perfgraph.hardware.local import apply_calibration, detect_local
from perfgraph.hardware.spec import (
    HardwareSpecError, PrecisionNotSupportedError, UnknownHardwareError, get, load_all, load_file,
    packaged_dir, validate,
)

from engine_cases import _isolated_user_dirs  # noqa: F401 - the fixture, by name

REQUIRED_IDS = {
    # CPUs
    "xeon-8480", "epyc-9654", "i7-12700k", "graviton3", "altra-q80-30",
    # GPUs
    "v100-sxm2-32gb", "a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "l4", "t4",
    "jetson-orin-agx-64gb", "jetson-orin-nx-16gb", "jetson-orin-nano-8gb",
    # TPUs
    "tpu-v4", "tpu-v5e", "tpu-v5p", "edge-tpu",
    # KPUs
    "kpu-t64", "kpu-t256", "kpu-t768",
}

PACKAGED = sorted(packaged_dir().glob("*.yaml"))


def _raw(name: str) -> dict:
    return yaml.safe_load((packaged_dir() / f"{name}.yaml").read_text())


def _numeric_paths(node, path=""):
    """Every numeric leaf (or list of numbers) as a dotted path, mirroring the loader's source paths."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("source", "sources"):
                continue
            p = f"{path}.{k}" if path else k
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                yield p
            elif isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
                yield p
            elif isinstance(v, (dict, list)):
                yield from _numeric_paths(v, p)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = item.get("name", i) if isinstance(item, dict) else i
            yield from _numeric_paths(item, f"{path}.{label}")


# ------------------------------------------------------------------------------------------- packaged data


def test_required_chips_are_packaged():
    ids = set(load_all())
    assert REQUIRED_IDS <= ids, f"missing: {sorted(REQUIRED_IDS - ids)}"
    assert len(PACKAGED) == len(ids)


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.stem)
def test_every_packaged_yaml_validates(path: Path):
    d = yaml.safe_load(path.read_text())
    assert validate(d) == []
    spec = load_file(path)
    assert spec.id == path.stem  # one file per chip, named after its id
    assert spec.kind in ("CPU", "GPU", "TPU", "KPU")
    assert spec.peak_flops and all(0 < v <= 10e15 for v in spec.peak_flops.values())
    assert 0 < spec.dram_bandwidth <= 10e12
    assert spec.tdp_w > 0 and 0 < spec.static_w < spec.tdp_w
    assert spec.launch_overhead_s > 0


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.stem)
def test_every_number_has_a_source(path: Path):
    spec = load_file(path)
    for p in _numeric_paths(spec.raw):
        src = spec.source_of(p)
        assert isinstance(src, str) and src.strip(), f"{path.name}: {p} has no source"
    # the values the loader derives carry their derivation
    for prec in spec.peak_flops:
        assert spec.source_of(f"energy.pj_per_flop.{prec}"), prec
    if "static_w" not in spec.raw["power"]:
        assert spec.source_of("power.static_w").startswith("assumption:")


def test_removing_a_source_fails_validation():
    d = _raw("h100-sxm")
    assert validate(d) == []
    bad = copy.deepcopy(d)
    del bad["peak_flops"]["source"]
    errors = validate(bad)
    assert any("peak_flops.fp16: number without a source" in e for e in errors), errors
    bad = copy.deepcopy(d)
    hbm = next(lv for lv in bad["memory"] if lv["name"] == "HBM3")
    del hbm["source"]  # energy_pj_per_byte keeps its own `sources` entry; capacity and bandwidth lose theirs
    errors = validate(bad)
    assert any("memory[HBM3].bandwidth_bytes_per_s: number without a source" in e for e in errors), errors
    assert not any("energy_pj_per_byte" in e for e in errors)
    bad = copy.deepcopy(d)
    bad["compute_units"]["gpu"]["source"] = "  "
    assert any("compute_units.gpu" in e for e in validate(bad))
    with pytest.raises(HardwareSpecError, match="number without a source"):
        hwspec.HardwareSpec.from_dict(bad, origin="copy-of-h100")


def test_implausible_values_fail():
    d = _raw("h100-sxm")

    def errs(mutate):
        bad = copy.deepcopy(d)
        mutate(bad)
        return validate(bad)

    def hbm(x):
        return next(lv for lv in x["memory"] if lv["kind"] == "dram")

    e = errs(lambda x: hbm(x).__setitem__("bandwidth_bytes_per_s", 50e12))  # 50 TB/s for one device
    assert any("bandwidth_bytes_per_s" in m and "implausible" in m for m in e), e
    e = errs(lambda x: x["peak_flops"].__setitem__("fp16", 20e15))  # 20 PFLOP/s dense
    assert any("peak_flops.fp16" in m and "implausible" in m for m in e), e
    e = errs(lambda x: x["power"].__setitem__("tdp_w", -5))
    assert any("negative" in m for m in e), e
    e = errs(lambda x: x["peak_flops"].__setitem__("fp8", 1e15))
    assert any("unknown precision 'fp8'" in m for m in e), e
    e = errs(lambda x: x.__setitem__("kind", "NPU"))
    assert any("unknown kind 'NPU'" in m for m in e), e
    e = errs(lambda x: x.pop("overhead"))
    assert any("missing field: overhead" in m for m in e), e
    e = errs(lambda x: x["clock_ghz"].__setitem__("boost", 18.3))
    assert any("clock_ghz.boost" in m for m in e), e


def test_dense_not_sparse_figures():
    h100 = get("h100-sxm")
    assert h100.peak("fp16") == pytest.approx(1979e12 / 2, rel=1e-3)  # datasheet 1,979 TF is with sparsity
    assert h100.peak("int8") == pytest.approx(3958e12 / 2, rel=1e-3)
    assert get("a100").peak("bf16") == 312e12


def test_kpu_peaks_are_derived_from_tiles():
    t256 = get("kpu-t256")
    # 256 tiles x (20 x 20) PEs x 2 int8 ops per PE per clock x 1.4 GHz
    assert t256.peak("int8") == pytest.approx(256 * 400 * 2 * 1.4e9)
    assert t256.peak("bf16") == pytest.approx(256 * 400 * 1 * 1.4e9)
    assert t256.status == "planned"
    assert t256.source_of("peak_flops.int8").startswith("derived:")
    t50 = get("kpu-t256@50W")
    assert t50.peak("int8") == pytest.approx(256 * 400 * 2 * 1.65e9)
    assert t50.tdp_w == 50


def test_jetson_power_modes():
    agx = get("jetson-orin-agx-64gb")
    assert set(agx.modes) == {"15W", "30W", "50W", "MAXN"}
    m15 = get("jetson-orin-agx-64gb@15W")
    assert m15.id == "jetson-orin-agx-64gb@15w" and m15.mode == "15W"
    assert m15.tdp_w == 15 and m15.unit_count == 4
    assert m15.clock_boost_ghz == pytest.approx(0.42075)
    assert m15.peak("fp32") == pytest.approx(4 * 128 * 2 * 0.42075e9, rel=1e-3)  # 4 SMs x 128 lanes x FMA
    assert m15.peak("int8") == pytest.approx(14e12 / 2)  # NVIDIA: 14 sparse INT8 TOPS in 15W
    assert m15.dram_bandwidth == pytest.approx(204.8e9 * 2133 / 3200, rel=1e-3)
    assert m15.source_of("compute_units.count").startswith("derived:")
    maxn = agx.with_mode("maxn")
    assert maxn.peak("int8") == pytest.approx(171e12 / 2)
    # lower modes are slower and use less power
    peaks = [get(f"orin-agx@{m}").peak("fp16") for m in ("15W", "30W", "50W", "MAXN")]
    assert peaks == sorted(peaks)
    with pytest.raises(UnknownHardwareError, match="modes: 15W, 30W, 50W, MAXN"):
        agx.with_mode("25W")


def test_gpu_memory_path_and_achievable_fractions_are_sourced():
    """Every NVIDIA GPU spec gives its per-SM L2 load bandwidth (the GPU memory rule); the measured
    large-GEMM ceilings load per precision, and a precision without one runs at the full peak."""
    for chip in ("v100-sxm2-32gb", "a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "l4", "t4",
                 "jetson-orin-agx-64gb", "jetson-orin-nx-16gb", "jetson-orin-nano-8gb"):
        spec = get(chip)
        assert spec.unit_details["l2_bytes_per_clk_per_sm"] > 0, chip
        src = spec.source_of("compute_units.gpu.l2_bytes_per_clk_per_sm")
        assert src and src.split(":")[0] in ("derived", "assumption"), chip
    h100 = get("h100-sxm")
    assert h100.achievable("bf16") == 0.803  # BF16 MAMF 794.5 / 989 TFLOPS
    assert h100.achievable("int8") == 0.709  # FP8 MAMF 1402.6 / 1979, same dense 8-bit rate
    assert h100.achievable("tf32") == 1.0  # none published: the full peak
    assert h100.source_of("achievable_fraction.int8").startswith("derived:")
    t4 = get("t4")
    assert t4.achievable("fp16") == 0.369  # sustained 4096^3 cuBLAS GEMM, power-capped at 70 W
    assert t4.achievable("int8") == 0.369  # the same tensor cores under the same cap (stated assumption)
    assert "int8: assumption:" in t4.source_of("achievable_fraction.int8")  # said to be an assumption
    assert t4.achievable("bf16") == 1.0  # bf16 runs as fp32 on Turing (documented fallback): none measured
    assert get("jetson-orin-agx-64gb").level("L2").capacity_bytes == 4 * 2 ** 20


def test_achievable_fraction_validation():
    d = _raw("h100-sxm")
    bad = copy.deepcopy(d)
    bad["achievable_fraction"]["bf16"] = 1.2
    assert any("achievable_fraction.bf16: must be a fraction in (0, 1]" in e for e in validate(bad))
    bad = copy.deepcopy(d)
    bad["achievable_fraction"]["fp8"] = 0.7
    assert any("achievable_fraction.fp8: unknown precision" in e for e in validate(bad))
    bad = copy.deepcopy(d)
    del bad["achievable_fraction"]["source"]
    assert any("achievable_fraction.fp16: number without a source" in e for e in validate(bad))


# ----------------------------------------------------------------------------------------------- lookup


def test_get_by_alias_name_case_insensitive():
    assert get("H100").id == "h100-sxm"
    assert get("h100").id == "h100-sxm"
    assert get("NVIDIA H100 SXM5 80GB").id == "h100-sxm"
    assert get("TPU v4").id == "tpu-v4"
    assert get("KPU-T256").id == "kpu-t256"
    assert get("coral").id == "edge-tpu"
    assert get("Xeon-8480").id == "xeon-8480"


def test_unknown_name_lists_near_matches():
    with pytest.raises(UnknownHardwareError) as exc:
        get("H1000")
    msg = str(exc.value)
    assert "unknown hardware 'H1000'" in msg and "h100-sxm" in msg
    with pytest.raises(UnknownHardwareError, match="tpu-v4"):
        get("tpu-v9")


def test_precision_fallback_and_error():
    tpu = get("tpu-v4")
    assert tpu.resolve_precision("fp32") == "bf16"  # documented XLA default on TPU
    assert tpu.peak("fp32") == 275e12
    assert get("edge-tpu").resolve_precision("fp16") == "int8"
    with pytest.raises(PrecisionNotSupportedError, match="unknown precision"):
        tpu.peak("fp8")
    d = _raw("tpu-v4")
    del d["precision_fallback"]
    strict = hwspec.HardwareSpec.from_dict(d, origin="strict")
    with pytest.raises(PrecisionNotSupportedError, match="supported: bf16, int8"):
        strict.peak("fp32")


def test_derived_energy_per_flop():
    h100 = get("h100-sxm")
    # (700 W - 25 % static - 3.35 TB/s x 31.2 pJ/B) / 989.4 TFLOP/s
    expected_pj = (700 - 175 - 3.35e12 * 31.2e-12) / 989.4e12 * 1e12
    assert h100.pj_per_flop["fp16"] == pytest.approx(expected_pj)
    assert h100.static_w == 175
    assert h100.source_of("energy.pj_per_flop.fp16").startswith("derived:")


# ------------------------------------------------------------------------------------------- user files


def test_malformed_user_yaml_names_the_file(tmp_path, monkeypatch):
    user = tmp_path / "hw"
    user.mkdir()
    (user / "broken-chip.yaml").write_text("id: broken\nname: [unclosed\n")
    monkeypatch.setenv("PERFGRAPH_HARDWARE_PATH", str(user))
    with pytest.raises(HardwareSpecError) as exc:
        load_all()
    msg = str(exc.value)
    assert "broken-chip.yaml" in msg and "malformed YAML" in msg
    assert "\n" not in msg


def test_user_yaml_without_sources_names_the_file(tmp_path, monkeypatch):
    user = tmp_path / "hw"
    user.mkdir()
    d = _raw("t4")
    d["id"] = "my-t4"
    d["aliases"] = ["mine"]
    del d["peak_flops"]["source"]
    (user / "my-t4.yaml").write_text(yaml.safe_dump(d))
    monkeypatch.setenv("PERFGRAPH_HARDWARE_PATH", str(tmp_path / "nothing-here") + os.pathsep + str(user))
    with pytest.raises(HardwareSpecError, match=r"my-t4\.yaml: .*peak_flops\.fp32: number without a source"):
        get("t4")


def test_valid_user_yaml_is_found(tmp_path, monkeypatch):
    user = tmp_path / "cfg" / "perfgraph" / "hardware"
    user.mkdir(parents=True)
    d = _raw("l4")
    d["id"] = "l4-lab"
    d["name"] = "Lab L4"
    d["aliases"] = ["lab-gpu"]
    (user / "l4-lab.yml").write_text(yaml.safe_dump(d))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert get("LAB-GPU").id == "l4-lab"
    assert "l4-lab" in load_all()


# ----------------------------------------------------------------------------------------------- local


def test_detect_local_and_calibration_overlay():
    spec = detect_local()
    assert spec.id == "local" and spec.kind == "CPU" and spec.unit_count >= 1
    assert spec.peak("fp32") > 0
    assert spec.source_of("peak_flops.fp32").startswith("derived:")
    assert spec.source_of("compute_units.count").startswith("detected:")
    assert spec.source_of("memory.DRAM.bandwidth_bytes_per_s").startswith("estimate:")
    cal = apply_calibration(spec, {"source": "stream triad, unit test",
                                   "overrides": {"memory": {"DRAM": {"bandwidth_bytes_per_s": 12.5e9}},
                                                 "overhead": {"launch_s": 7e-6}}})
    assert cal.dram_bandwidth == 12.5e9 and cal.launch_overhead_s == 7e-6
    assert cal.source_of("memory.DRAM.bandwidth_bytes_per_s") == "calibrated: stream triad, unit test"
    assert get("local").id == "local"
    with pytest.raises(HardwareSpecError, match="implausible"):
        apply_calibration(spec, {"memory": {"DRAM": {"bandwidth_bytes_per_s": 50e12}}})


def test_with_overrides_keeps_every_number_sourced():
    h = get("h100-sxm").with_overrides({"peak_flops": {"fp16": 700e12}}, source="calibrated: cublas sweep")
    assert h.peak("fp16") == 700e12
    assert h.source_of("peak_flops.fp16") == "calibrated: cublas sweep"
    assert h.source_of("peak_flops.fp32").startswith("NVIDIA H100")
    # energy per FLOP is re-derived from the new peak
    assert h.pj_per_flop["fp16"] == pytest.approx(get("h100-sxm").pj_per_flop["fp16"] * 989.4 / 700)
    assert math.isfinite(h.energy_per_flop_j("fp16"))
