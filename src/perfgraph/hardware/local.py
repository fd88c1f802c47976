"""Describe the machine this runs on as a `HardwareSpec` with id ``local``.

What is detected (each number's source says ``detected: ...`` with where it came from):

* cores: the physical cores among the CPUs this process may run on (``os.sched_getaffinity`` and
  ``/sys/devices/system/cpu/cpu*/topology``), else ``os.cpu_count()``;
* SIMD width and instruction extensions from ``/proc/cpuinfo`` flags (avx512f -> 512 bits, avx2 -> 256,
  Arm asimd/neon -> 128; avx512_vnni / avx_vnni / asimddp for int8 dot products, avx512_bf16 / amx_bf16 /
  Arm bf16, avx512fp16 / Arm asimdhp for fp16);
* clock: ``cpufreq/cpuinfo_max_freq`` (or ``base_frequency``) under /sys, else ``cpu MHz`` in
  /proc/cpuinfo;
* caches: ``/sys/devices/system/cpu/cpu0/cache/index*`` (level, type, size, shared_cpu_list);
* memory capacity: ``MemTotal`` in /proc/meminfo.

Peaks are derived: ``cores x (simd_bits / 32) lanes x 2 FMA units x 2 FLOP x clock`` for fp32 (two FMA
pipes assumed), 2x that for fp16/bf16 where the ISA has them, 4x for int8 dot products, AMX rates
(1024 bf16 / 2048 int8 ops per cycle per core) where amx flags are present.  Memory bandwidth and cache
bandwidths are *estimates* (stated per-core byte rates) until a calibration overwrites them:
`apply_calibration(spec, profile)` overlays a profile of measured numbers (same shape as the YAML;
memory levels addressed by name, or ``DRAM`` for main memory), each tagged ``calibrated: ...``.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any

from perfgraph.hardware.spec import HardwareSpec, HardwareSpecError

SYS_CPU = Path("/sys/devices/system/cpu")
PROC_CPUINFO = Path("/proc/cpuinfo")
PROC_MEMINFO = Path("/proc/meminfo")

DEFAULT_GHZ = 2.0
DRAM_BYTES_PER_CORE = 10e9  # estimate: sustainable stream bandwidth per core
DRAM_CAP = 200e9
L1_BYTES_PER_CYCLE = 64
L2_BYTES_PER_CYCLE = 32
L3_BYTES_PER_CYCLE = 16
WATTS_PER_CORE = 10.0


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _parse_cpulist(text: str) -> set[int]:
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            cpus.update(range(int(a), int(b) + 1))
        else:
            cpus.add(int(part))
    return cpus


def _size_bytes(text: str) -> int | None:
    m = re.match(r"\s*(\d+)\s*([KMG]?)", text or "")
    if not m:
        return None
    mult = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[m.group(2)]
    return int(m.group(1)) * mult


def detect_cores() -> tuple[int, int, str]:
    """(physical cores usable, logical cpus usable, how)."""
    try:
        allowed = set(os.sched_getaffinity(0))
        how = "os.sched_getaffinity"
    except (AttributeError, OSError):
        allowed = set(range(os.cpu_count() or 1))
        how = "os.cpu_count"
    cores: set[tuple[str, str]] = set()
    for cpu in allowed:
        topo = SYS_CPU / f"cpu{cpu}" / "topology"
        core = _read(topo / "core_id")
        pkg = _read(topo / "physical_package_id")
        if core is None:
            cores = set()
            break
        cores.add(((pkg or "0").strip(), core.strip()))
    if cores:
        return len(cores), len(allowed), f"{how} + /sys/devices/system/cpu/cpu*/topology (physical cores)"
    return len(allowed), len(allowed), how


def cpu_flags() -> tuple[set[str], str, str]:
    """(flags, model name, source) from /proc/cpuinfo ('flags' on x86, 'Features' on Arm)."""
    text = _read(PROC_CPUINFO) or ""
    flags: set[str] = set()
    model = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("flags", "features") and not flags:
            flags = set(value.split())
        elif key in ("model name", "cpu model", "hardware") and not model:
            model = value.strip()
    return flags, model or platform.processor() or platform.machine(), "/proc/cpuinfo"


def detect_ghz() -> tuple[float, str]:
    for name in ("cpuinfo_max_freq", "base_frequency", "scaling_max_freq"):
        t = _read(SYS_CPU / "cpu0" / "cpufreq" / name)
        if t and t.strip().isdigit() and int(t) > 0:
            return int(t) / 1e6, f"/sys/devices/system/cpu/cpu0/cpufreq/{name}"
    text = _read(PROC_CPUINFO) or ""
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)]
    if mhz:
        return max(mhz) / 1000.0, "/proc/cpuinfo 'cpu MHz' (current frequency)"
    return DEFAULT_GHZ, ""


def detect_caches() -> list[dict[str, Any]]:
    """Data/unified caches of cpu0: level, size, how many logical cpus share it."""
    out = []
    base = SYS_CPU / "cpu0" / "cache"
    if not base.is_dir():
        return out
    for idx in sorted(base.glob("index*")):
        ctype = (_read(idx / "type") or "").strip()
        if ctype == "Instruction":
            continue
        level = (_read(idx / "level") or "").strip()
        size = _size_bytes(_read(idx / "size") or "")
        shared = _parse_cpulist(_read(idx / "shared_cpu_list") or "0")
        if level.isdigit() and size:
            out.append({"level": int(level), "size": size, "shared_cpus": len(shared) or 1,
                        "path": str(idx)})
    return out


def detect_memory_bytes() -> int | None:
    text = _read(PROC_MEMINFO) or ""
    m = re.search(r"^MemTotal:\s*(\d+)\s*kB", text, re.M)
    return int(m.group(1)) * 1024 if m else None


def simd_bits(flags: set[str]) -> tuple[int, str]:
    if "avx512f" in flags:
        return 512, "avx512f"
    if "avx2" in flags or "avx" in flags:
        return 256, "avx2" if "avx2" in flags else "avx"
    if "sse2" in flags:
        return 128, "sse2"
    if {"asimd", "neon"} & flags or platform.machine().lower() in ("aarch64", "arm64"):
        return 128, "asimd (Arm NEON)"
    return 128, ""


def local_spec_dict() -> dict[str, Any]:
    """The detected machine as a spec mapping (validated by `HardwareSpec.from_dict`)."""
    cores, logical, cores_how = detect_cores()
    flags, model, flags_src = cpu_flags()
    ghz, ghz_src = detect_ghz()
    bits, bits_flag = simd_bits(flags)
    lanes32 = bits // 32
    fp32_cyc = lanes32 * 2 * 2  # 2 FMA units x 2 FLOP per FMA
    per_cycle: dict[str, float] = {"fp32": fp32_cyc}
    notes: dict[str, str] = {"fp32": f"{lanes32} fp32 lanes x 2 FMA units x 2"}
    if "avx512fp16" in flags or "asimdhp" in flags or "fphp" in flags:
        per_cycle["fp16"] = 2 * fp32_cyc
        notes["fp16"] = "native fp16 arithmetic (avx512fp16 / asimdhp): 2x fp32"
    if "amx_bf16" in flags:
        per_cycle["bf16"] = 1024
        notes["bf16"] = "Intel AMX (amx_bf16): 1024 ops/cycle/core"
    elif "avx512_bf16" in flags or "bf16" in flags:
        per_cycle["bf16"] = 2 * fp32_cyc
        notes["bf16"] = "bf16 dot products (avx512_bf16 / Arm bf16): 2x fp32"
    if "amx_int8" in flags:
        per_cycle["int8"] = 2048
        notes["int8"] = "Intel AMX (amx_int8): 2048 ops/cycle/core"
    elif {"avx512_vnni", "avx_vnni", "asimddp"} & flags:
        per_cycle["int8"] = 4 * fp32_cyc
        notes["int8"] = "int8 dot products (avx512_vnni / avx_vnni / asimddp): 4x fp32"
    else:
        per_cycle["int8"] = 2 * fp32_cyc
        notes["int8"] = "no int8 dot-product flag: 16-bit multiply-add path, 2x fp32"
    det = f"detected: {cores} physical cores ({cores_how}), {ghz:.3f} GHz ({ghz_src or 'assumed 2.0 GHz: no frequency found'}), {bits}-bit SIMD ({bits_flag or 'no SIMD flag found'} in {flags_src})"
    peaks: dict[str, Any] = {p: cores * c * ghz * 1e9 for p, c in per_cycle.items()}
    peaks["source"] = ("derived: cores x ops/cycle/core x clock; " + "; ".join(f"{p}: {n}" for p, n in notes.items())
                       + f"; two FMA pipes per core assumed. {det}")
    fallback: dict[str, Any] = {p: "fp32" for p in ("tf32", "fp16", "bf16") if p not in peaks}
    if fallback:
        fallback["source"] = "assumption: precisions without native instructions run in fp32 (PyTorch CPU kernels upconvert)"
    caches = detect_caches()
    memory: list[dict[str, Any]] = []
    rates = {1: L1_BYTES_PER_CYCLE, 2: L2_BYTES_PER_CYCLE, 3: L3_BYTES_PER_CYCLE}
    pj = {1: 1.25, 2: 12.5, 3: 25.0}
    for c in caches:
        lvl = c["level"]
        per_unit = c["shared_cpus"] <= max(1, logical // max(cores, 1))
        rate = rates.get(lvl, L3_BYTES_PER_CYCLE)
        memory.append({
            "name": f"L{lvl}", "kind": "cache", "scope": "per_unit" if per_unit else "shared",
            "capacity_bytes": c["size"], "bandwidth_bytes_per_s": cores * rate * ghz * 1e9,
            "energy_pj_per_byte": pj.get(lvl, 25.0),
            "source": f"detected: {c['path']} (size, shared_cpu_list)",
            "sources": {
                "bandwidth_bytes_per_s": f"estimate: {rate} bytes/cycle per core x {cores} cores x {ghz:.3f} GHz; calibration replaces it",
                "energy_pj_per_byte": "estimate: Horowitz, 'Computing's Energy Problem', ISSCC 2014 SRAM read energies (45 nm)",
            },
        })
    mem_bytes = detect_memory_bytes()
    dram_bw = min(cores * DRAM_BYTES_PER_CORE, DRAM_CAP)
    memory.append({
        "name": "DRAM", "kind": "dram", "scope": "shared",
        "capacity_bytes": mem_bytes or 8 * 1024 ** 3,
        "bandwidth_bytes_per_s": dram_bw, "energy_pj_per_byte": 120.0,
        "source": "detected: /proc/meminfo MemTotal" if mem_bytes else "assumption: 8 GiB (MemTotal not readable)",
        "sources": {
            "bandwidth_bytes_per_s": (f"estimate: placeholder until calibration — {DRAM_BYTES_PER_CORE / 1e9:g} GB/s "
                                      f"sustainable per core x {cores} cores, capped at {DRAM_CAP / 1e9:g} GB/s"),
            "energy_pj_per_byte": "estimate: DDR4/DDR5 DIMM access + I/O about 15 pJ/bit (Horowitz, ISSCC 2014)",
        },
    })
    cpu_details: dict[str, Any] = {
        "threads_per_core": max(1, logical // max(cores, 1)), "simd_width_bits": bits, "fma_units_per_core": 2,
        "amx": bool({"amx_bf16", "amx_int8"} & flags), "logical_cpus": logical,
        "source": det,
        "sources": {"fma_units_per_core": "assumption: two FMA pipes per core (server/desktop x86 and Neoverse V-class)"},
    }
    if "amx_bf16" in flags:
        cpu_details["matrix_tile_bf16"] = [16, 16, 32]
        cpu_details["sources"]["matrix_tile_bf16"] = "Intel AMX TDPBF16PS tile shape (C 16x16, K 32)"
    if "amx_int8" in flags:
        cpu_details["matrix_tile_int8"] = [16, 16, 64]
        cpu_details["sources"]["matrix_tile_int8"] = "Intel AMX TDPBSSD tile shape (C 16x16, K 64)"
    spec: dict[str, Any] = {
        "id": "local", "name": f"local: {model}".strip(), "kind": "CPU", "vendor": "local",
        "aliases": ["this-machine", "localhost"], "status": "detected",
        "peak_flops": peaks,
        "vector_flops": {"fp32": peaks["fp32"], "source": "derived: same SIMD rate as peak_flops.fp32"},
        "clock_ghz": {"boost": ghz, "source": f"detected: {ghz_src}" if ghz_src else "assumption: 2.0 GHz (no frequency found)"},
        "compute_units": {"type": "core", "count": cores, "source": f"detected: {cores_how}", "cpu": cpu_details},
        "memory": memory,
        "power": {"tdp_w": max(cores * WATTS_PER_CORE, 5.0),
                  "source": f"estimate: {WATTS_PER_CORE:g} W per physical core (TDP not detectable; placeholder)"},
        "overhead": {"launch_s": 5.0e-6, "source": "estimate: PyTorch eager per-op dispatch plus thread-pool fork/join, about 5 us; calibration replaces it"},
    }
    if fallback:
        spec["precision_fallback"] = fallback
    return spec


def detect_local(calibration: dict[str, Any] | None = None) -> HardwareSpec:
    """This machine as a `HardwareSpec` (id ``local``), optionally with a calibration profile applied."""
    spec = HardwareSpec.from_dict(local_spec_dict(), origin="detected local machine")
    return apply_calibration(spec, calibration) if calibration else spec


def apply_calibration(spec: HardwareSpec, profile: dict[str, Any]) -> HardwareSpec:
    """Overlay measured numbers onto a spec.

    ``profile`` is either the overrides themselves or ``{"overrides": {...}, "source": "..."}``; the
    overrides have the YAML's shape, memory levels addressed by name (``DRAM`` = main memory)::

        {"source": "stream triad + sgemm on 2025-05-01",
         "overrides": {"memory": {"DRAM": {"bandwidth_bytes_per_s": 18.7e9}},
                       "peak_flops": {"fp32": 0.9e12}, "overhead": {"launch_s": 7e-6}}}
    """
    if not isinstance(profile, dict):
        raise HardwareSpecError(f"{spec.origin}: a calibration profile must be a mapping")
    overrides = profile.get("overrides", profile)
    note = profile.get("source", "calibration profile")
    src = note if str(note).startswith("calibrated:") else f"calibrated: {note}"
    return spec.with_overrides({k: v for k, v in overrides.items() if k != "source"}, source=src)
