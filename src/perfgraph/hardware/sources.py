"""The project rule for chip files: every number carries a source.

Inside any mapping, a ``source:`` string covers every numeric field of that mapping (numbers and lists of
numbers), and ``sources: {field: "..."}`` covers (or overrides) single fields; a ``sources`` entry naming a
nested mapping covers every number inside it.  Otherwise nested mappings do not inherit: each carries its
own ``source``.  The ``calibration:`` section is left to its own schema (`hardware.microbench`), which
requires a source per mode.

`check_sources` reports the numbers without one; `collect_sources` maps each number's dotted path
(``memory.HBM3.bandwidth_bytes_per_s``) to its source, for `HardwareSpec.source_of`.
"""

from __future__ import annotations

from typing import Any

# A source is a citation, or a string starting with one of these (with the formula or the reasoning).
SOURCE_PREFIXES = ("derived:", "estimate:", "assumption:", "detected:", "calibrated:")


def is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_num_list(x: Any) -> bool:
    return isinstance(x, list) and len(x) > 0 and all(is_num(v) for v in x)


def _given(src: Any) -> bool:
    return isinstance(src, str) and bool(src.strip())


def _label(item: Any, i: int) -> Any:
    """A list item's label in paths: a memory level by its name, anything else by its index."""
    return item.get("name", i) if isinstance(item, dict) else i


def check_sources(node: Any, path: str = "") -> list[str]:
    """Every number (or list of numbers) of a chip mapping without a source, one message each.

    Examples:
        >>> check_sources({"peak_flops": {"fp16": 1e15}})
        ['peak_flops.fp16: number without a source']
        >>> check_sources({"peak_flops": {"fp16": 1e15, "source": "datasheet"}})
        []
    """
    errors: list[str] = []
    if isinstance(node, dict):
        per = node.get("sources") if isinstance(node.get("sources"), dict) else {}
        default = node.get("source")
        for key in per:
            if key not in node:
                errors.append(f"{path + '.' if path else ''}sources.{key} names no field of this mapping")
        for key, value in node.items():
            if key in ("source", "sources") or (not path and key == "calibration"):
                continue
            p = f"{path}.{key}" if path else str(key)
            if is_num(value) or is_num_list(value):
                if not _given(per.get(key, default)):
                    errors.append(f"{p}: number without a source")
            elif isinstance(value, (dict, list)) and not _given(per.get(key)):
                errors.extend(check_sources(value, p))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            errors.extend(check_sources(item, f"{path}[{_label(item, i)}]"))
    return errors


def collect_sources(node: Any, path: str = "", out: dict[str, str] | None = None) -> dict[str, str]:
    """Dotted path of every number -> its source (memory levels by name: ``memory.L2.capacity_bytes``)."""
    out = {} if out is None else out
    if isinstance(node, dict):
        default = node.get("source")
        per = node.get("sources") or {}
        for key, value in node.items():
            if key in ("source", "sources"):
                continue
            if not path and key == "calibration":
                _collect_calibration(value, out)
                continue
            p = f"{path}.{key}" if path else str(key)
            if is_num(value) or is_num_list(value):
                src = per.get(key, default)
                if isinstance(src, str):
                    out[p] = src
            elif isinstance(value, (dict, list)):
                if isinstance(per.get(key), str):
                    _collect_all(value, p, per[key], out)
                else:
                    collect_sources(value, p, out)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            collect_sources(item, f"{path}.{_label(item, i)}", out)
    return out


def _collect_calibration(section: Any, out: dict[str, str]) -> None:
    """Every number of a mode in the calibration section has the mode's `source` (or its `sources` entry)."""
    for name, mode in ((section or {}).get("modes") or {}).items():
        if not isinstance(mode, dict):
            continue
        default, per = mode.get("source"), mode.get("sources") or {}
        for key, value in mode.items():
            if key in ("source", "sources"):
                continue
            src = per.get(key, default)
            if isinstance(src, str):
                _collect_all(value, f"calibration.modes.{name}.{key}", src, out)


def _collect_all(node: Any, path: str, src: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in ("source", "sources"):
                _collect_all(value, f"{path}.{key}", src, out)
    elif isinstance(node, list) and not is_num_list(node):
        for i, value in enumerate(node):
            _collect_all(value, f"{path}.{i}", src, out)
    elif is_num(node) or is_num_list(node):
        out[path] = src
