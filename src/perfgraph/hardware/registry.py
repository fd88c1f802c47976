"""Finding chips: the packaged chip files, the user's, and lookup by id, alias or name.

User files: ``$PERFGRAPH_HARDWARE_PATH`` (``os.pathsep``-separated directories) and
``~/.config/perfgraph/hardware`` (or ``$XDG_CONFIG_HOME/perfgraph/hardware``); a user file with the id of
a packaged one replaces it.  The special name ``local`` detects the machine this runs on
(`perfgraph.hardware.local`).
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Iterable

import yaml

from perfgraph.hardware.local import detect_local
from perfgraph.hardware.spec import HardwareSpec, HardwareSpecError, UnknownHardwareError


def _yaml_loader():
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _reject_aliases(text: str, p: Path) -> None:
    """Chip files are plain data: refuse YAML anchors and aliases, which a few lines can nest into a
    document of billions of nodes (an "alias bomb") that would hang every command loading chips. The check
    reads the event stream, which is linear in the file's size and expands nothing."""
    for event in yaml.parse(text, Loader=_yaml_loader()):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise HardwareSpecError(f"{p}: YAML anchors and aliases (&name, *name) are not allowed in chip files "
                                    f"(line {mark.line + 1}); write the values out")


def load_file(path: str | os.PathLike) -> HardwareSpec:
    """Load and validate one spec file.

    Raises:
        HardwareSpecError: one line naming the file and every problem (`h100.yaml: peak_flops.fp16: ...`).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise HardwareSpecError(f"{p}: cannot read ({e.strerror or e})") from None
    try:
        _reject_aliases(text, p)
        d = yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise HardwareSpecError(f"{p}: malformed YAML{where}: {problem}") from None
    if d is None:
        raise HardwareSpecError(f"{p}: empty file")
    return HardwareSpec.from_dict(d, origin=str(p))


def packaged_dir() -> Path:
    return Path(__file__).resolve().parent / "data"


def user_dirs() -> list[Path]:
    dirs: list[Path] = []
    env = os.environ.get("PERFGRAPH_HARDWARE_PATH", "")
    for part in env.split(os.pathsep):
        if part.strip():
            dirs.append(Path(part.strip()).expanduser())
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs.append(Path(base) / "perfgraph" / "hardware")
    return dirs


def _spec_files(d: Path) -> list[Path]:
    if not d.is_dir():
        return []
    return sorted([*d.glob("*.yaml"), *d.glob("*.yml")])


_CACHE: dict[tuple, dict[str, HardwareSpec]] = {}


def load_all(extra_dirs: Iterable[str | os.PathLike] | None = None) -> dict[str, HardwareSpec]:
    """All specs by id: the packaged data, then user dirs, then `extra_dirs` (later files replace
    earlier ones with the same id).  A malformed file raises `HardwareSpecError`."""
    dirs = [packaged_dir(), *user_dirs(), *(Path(x) for x in (extra_dirs or []))]
    files = [f for d in dirs for f in _spec_files(d)]
    key = tuple((str(f), f.stat().st_mtime_ns) for f in files)
    if key in _CACHE:
        return dict(_CACHE[key])
    specs: dict[str, HardwareSpec] = {}
    for f in files:
        spec = load_file(f)
        specs[spec.id] = spec
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[key] = specs
    return dict(specs)


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def get(name_or_id: str, extra_dirs: Iterable[str | os.PathLike] | None = None) -> HardwareSpec:
    """Find a chip by id, alias or name, case-insensitively (`'H100'`, `'tpu-v4'`, `'KPU T256'`).
    `'<id>@<mode>'` selects a power mode (`'jetson-orin-agx-64gb@15W'`); `'local'` detects this machine.

    Raises:
        UnknownHardwareError: no such chip or mode; the message lists near matches.
        HardwareSpecError: a chip file on the search path does not load.
    """
    query = name_or_id.strip()
    mode = None
    if "@" in query:
        query, mode = (s.strip() for s in query.split("@", 1))
    if query.lower() == "local":
        spec = detect_local()
        return spec.with_mode(mode) if mode else spec
    specs = load_all(extra_dirs)
    q, qn = query.lower(), _norm(query)
    found = None
    for spec in specs.values():
        names = [spec.id, *spec.aliases, spec.name]
        if any(n.lower() == q for n in names):
            found = spec
            break
    if found is None:
        for spec in specs.values():
            if any(_norm(n) == qn for n in (spec.id, *spec.aliases, spec.name)):
                found = spec
                break
    if found is None:
        candidates: dict[str, str] = {}
        for spec in specs.values():
            for n in (spec.id, *spec.aliases, spec.name):
                candidates[n.lower()] = spec.id
        near = difflib.get_close_matches(q, list(candidates), n=8, cutoff=0.5)
        near_ids = list(dict.fromkeys(candidates[n] for n in near))
        near_ids += [s.id for s in specs.values() if qn and (qn in _norm(s.id) or qn in _norm(s.name))
                     and s.id not in near_ids]
        hint = f"; near matches: {', '.join(near_ids[:6])}" if near_ids else f"; known: {', '.join(sorted(specs))}"
        raise UnknownHardwareError(f"unknown hardware {name_or_id!r}{hint}")
    return found.with_mode(mode) if mode else found


def list_ids(extra_dirs: Iterable[str | os.PathLike] | None = None) -> list[str]:
    """Every known chip id, sorted."""
    return sorted(load_all(extra_dirs))
