"""Bounds on one trace: the memory the real-tensor fallback may use, the ATen ops a forward pass may execute,
and how long it may run. Without them a model whose forward never ends, or a detector at batch 64 on real
tensors, hangs the command or exhausts the machine; with them it stops with one line naming the option.

Torch-free, so the CLI can parse the options without importing torch.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

DEFAULT_MAX_OPS = 200_000  # the largest models perfgraph knows execute a few thousand ops
DEFAULT_TIMEOUT_S = 600.0
MEMORY_SHARE = 0.5  # of this machine's physical memory, for the real-tensor tracer by default

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class LimitError(ValueError):
    """A limit option that is not a valid size, count or duration."""


def machine_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def available_memory_bytes() -> int | None:
    """What the kernel reports as available to a new process (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def parse_size(text: str) -> int:
    """'4GB' -> 4e9, '512MiB' -> 512 * 2**20, '1000000' -> 1e6 bytes (decimal and binary prefixes)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise LimitError(f"bad memory size {text!r}; write it like 8GB, 512MiB or a number of bytes")
    value = int(float(m.group(1)) * _UNITS[unit])
    if value < 1:
        raise LimitError(f"bad memory size {text!r}: it must be at least 1 byte")
    return value


@dataclass(frozen=True)
class TraceLimits:
    max_memory_bytes: int | None = None  # None: MEMORY_SHARE of this machine
    max_ops: int = DEFAULT_MAX_OPS
    timeout_s: float = DEFAULT_TIMEOUT_S

    def memory_budget(self) -> tuple[int | None, str]:
        """(bytes, how it was chosen) for the real-tensor tracer; (None, why) if this machine cannot tell."""
        if self.max_memory_bytes is not None:
            return self.max_memory_bytes, "--max-memory"
        total = machine_memory_bytes()
        if total is None:
            return None, "this machine's memory is unknown"
        budget = int(total * MEMORY_SHARE)
        free = available_memory_bytes()
        if free is not None and free * 0.8 < budget:  # others hold much of it: stay within what is free
            return int(free * 0.8), "default: 80% of the memory free now; --max-memory"
        return budget, f"default: {MEMORY_SHARE:.0%} of this machine's memory; --max-memory"


_current = TraceLimits()


def current() -> TraceLimits:
    """The limits a trace uses when none are passed (the CLI's --max-memory/--max-ops/--trace-timeout)."""
    return _current


def reset() -> None:
    """Back to the defaults (the CLI calls this once per command)."""
    global _current
    _current = TraceLimits()


def configure(**changes) -> TraceLimits:
    """Replace some of the current limits (max_memory_bytes, max_ops, timeout_s); returns the new ones."""
    global _current
    _current = replace(_current, **changes)
    return _current
