"""Analysed graphs on disk, so that mapping, queries, reports and sweeps reuse a model without tracing it again
(and without importing torch, which costs seconds before any work starts).

Where: `$PERFGRAPH_HOME/graphs/` (default `~/.perfgraph/graphs/`), a directory created 0700, one file per
graph. The key is the model spec (model, batch, dtype, input shape, params, weights, tracer), perfgraph's
version and a hash of its own source files (a code change is a miss), and the installed torch, torchvision
and transformers versions, read from their package metadata (which does not import them).

An entry is two pickles in one file: the key (read alone by `entries()`), then the `ModelGraph`. Pickle is
only read from a directory this user owns and others cannot write to; elsewhere the cache is off. Files are
written to a temporary name and renamed into place, so a concurrent reader sees a whole entry or none; an
entry that cannot be read is a miss and is replaced. The directory is bounded: beyond `MAX_ENTRIES` files or
`MAX_BYTES`, the least recently used entries are deleted.

Not cached: user factories (`file.py:make_model`, `pkg.module:make_model`), whose code can change without a
perfgraph key noticing, and `nn.Module` instances given to the API. Off for a process with `--no-cache`
(`disable()`) or `PERFGRAPH_NO_CACHE=1`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import stat
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from perfgraph.graph import PERFGRAPH_VERSION, ModelGraph
from perfgraph.home import perfgraph_home

ENV_OFF = "PERFGRAPH_NO_CACHE"
MAX_ENTRIES = 500
MAX_BYTES = 2 * 2**30
SUFFIX = ".pkl"
CACHED_PREFIXES = ("hf", "transformers", "synthetic", "torchvision")  # spec prefixes whose graph the key pins
VERSIONED_PACKAGES = ("torch", "torchvision", "transformers")  # what model builders and the tracer depend on

log = logging.getLogger("perfgraph.graph_cache")
_disabled = False  # set by --no-cache for the rest of this command
_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("perfgraph: %s", message)


def disable() -> None:
    global _disabled
    _disabled = True


def reset() -> None:
    """Back to the default (on unless PERFGRAPH_NO_CACHE is set): once per CLI command."""
    global _disabled
    _disabled = False


def enabled() -> bool:
    return not _disabled and os.environ.get(ENV_OFF, "").strip().lower() in ("", "0", "false", "no")


def cache_dir() -> Path:
    return perfgraph_home() / "graphs"


# -- the key ------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def source_hash() -> str:
    """A hash of perfgraph's own source files: any code change is a new key."""
    return tree_hash(Path(__file__).resolve().parent)


def tree_hash(root: Path) -> str:
    """sha256 over the .py files under `root`, each by relative path and content."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def versions() -> dict[str, str | None]:
    """perfgraph's version and source hash, and the installed versions of the packages graphs depend on."""
    import importlib.metadata as md

    out: dict[str, str | None] = {"perfgraph": PERFGRAPH_VERSION, "perfgraph_source": source_hash()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def is_cacheable(spec: str) -> bool:
    """Named models only: a user's factory can change without any part of the key changing."""
    prefix, sep, _ = spec.strip().partition(":")
    return not sep or prefix in CACHED_PREFIXES


def make_key(spec: str, *, batch: int | None, dtype: str, input_shape: list[int] | None,
             params: dict[str, str] | None, weights: str | None, tracers: tuple[str, ...] | None) -> dict[str, Any]:
    return {
        "model": spec.strip(), "batch": batch, "dtype": dtype.lower(),
        "input_shape": None if input_shape is None else [int(d) for d in input_shape],
        "params": {str(k): str(v) for k, v in sorted((params or {}).items())}, "weights": weights,
        "tracers": None if tracers is None else list(tracers), **versions(),
    }


def entry_path(key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return cache_dir() / f"{digest[:32]}{SUFFIX}"


# -- the directory ------------------------------------------------------------------------------------------
def unsafe_reason(directory: Path) -> str | None:
    """Why pickles in `directory` must not be trusted (someone else could have written them), or None."""
    if not hasattr(os, "getuid"):
        return None  # no POSIX owners (Windows): the per-user profile directory is the protection
    st = directory.stat()
    if st.st_uid != os.getuid():
        return f"{directory} belongs to another user"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{directory} is writable by others (chmod 700 it to use the cache)"
    return None


def _usable_dir(create: bool) -> Path | None:
    directory = cache_dir()
    try:
        if create:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif not directory.is_dir():
            return None
        reason = unsafe_reason(directory)
    except OSError as exc:
        _warn_once(f"graph cache off: {exc}")
        return None
    if reason:
        _warn_once(f"graph cache off: {reason}")
        return None
    return directory


# -- load, store, clear -------------------------------------------------------------------------------------
def load(key: dict[str, Any]) -> ModelGraph | None:
    """The cached graph for `key`, or None (absent, unreadable, from another key, or an unsafe directory)."""
    if _usable_dir(create=False) is None:
        return None
    path = entry_path(key)
    try:
        with path.open("rb") as fh:
            if pickle.load(fh) != key:
                return None
            mg = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a torn, truncated or stale file is a miss; `store` replaces it
        return None
    if not isinstance(mg, ModelGraph):
        return None
    try:
        os.utime(path)  # least recently *used* is what eviction drops
    except OSError:
        pass
    return mg


def store(key: dict[str, Any], mg: ModelGraph) -> Path | None:
    """Write the entry atomically, then evict beyond the bounds. A failure is logged, never raised: the
    graph in hand is still right."""
    directory = _usable_dir(create=True)
    if directory is None:
        return None
    path = entry_path(key)
    tmp = None
    try:
        with tempfile.NamedTemporaryFile("wb", dir=directory, prefix=".tmp-", suffix=SUFFIX, delete=False) as fh:
            tmp = fh.name
            pickle.dump(key, fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(mg, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception as exc:  # noqa: BLE001 - disk full, read-only home, an unpicklable graph: not the user's problem
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        _warn_once(f"graph cache entry not written: {exc}")
        return None
    evict(directory, keep=path)
    return path


def _entry_files(directory: Path) -> list[tuple[Path, os.stat_result]]:
    out = []
    for path in directory.glob(f"*{SUFFIX}"):
        if path.name.startswith(".tmp-"):
            continue
        try:
            out.append((path, path.stat()))
        except OSError:
            continue  # removed by another process meanwhile
    return out


def evict(directory: Path, keep: Path | None = None, max_entries: int = MAX_ENTRIES,
          max_bytes: int = MAX_BYTES) -> int:
    """Delete least recently used entries until at most `max_entries` files and `max_bytes` remain."""
    files = sorted(_entry_files(directory), key=lambda f: f[1].st_mtime, reverse=True)
    total = sum(st.st_size for _, st in files)
    removed = 0
    while files and (len(files) > max_entries or total > max_bytes):
        path, st = files.pop()
        if path == keep:
            continue
        path.unlink(missing_ok=True)
        total -= st.st_size
        removed += 1
    return removed


def clear() -> dict[str, Any]:
    """Delete every entry (and any temporary file left by a killed writer)."""
    directory = cache_dir()
    removed, freed = 0, 0
    if directory.is_dir():
        for path in directory.glob(f"*{SUFFIX}"):
            try:
                size = path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue
            removed += not path.name.startswith(".tmp-")
            freed += size
    return {"directory": str(directory), "removed": removed, "bytes_freed": freed}


def entries() -> list[dict[str, Any]]:
    """The key of every readable entry, with its file's size and last use, most recent first."""
    directory = _usable_dir(create=False)
    if directory is None:
        return []
    rows = []
    for path, st in sorted(_entry_files(directory), key=lambda f: f[1].st_mtime, reverse=True):
        try:
            with path.open("rb") as fh:
                key = pickle.load(fh)
        except Exception:  # noqa: BLE001 - listed as unreadable, not an error
            key = None
        rows.append({"file": path.name, "bytes": st.st_size, "last_used": st.st_mtime,
                     "key": key if isinstance(key, dict) else None})
    return rows


def info() -> dict[str, Any]:
    directory = cache_dir()
    try:
        unsafe = unsafe_reason(directory) if directory.is_dir() else None
    except OSError as exc:
        unsafe = str(exc)
    rows = entries()
    current = versions()
    return {
        "directory": str(directory), "enabled": enabled() and not unsafe,
        "off_because": unsafe or (None if enabled() else f"{ENV_OFF} is set" if os.environ.get(ENV_OFF) else "--no-cache"),
        "entries": len(rows), "bytes": sum(r["bytes"] for r in rows),
        "max_entries": MAX_ENTRIES, "max_bytes": MAX_BYTES, "versions": current,
        "stale_entries": sum(1 for r in rows if not r["key"] or any(r["key"].get(k) != v for k, v in current.items())),
        "models": [{"model": r["key"]["model"], "batch": r["key"]["batch"], "dtype": r["key"]["dtype"],
                    "bytes": r["bytes"], "last_used": r["last_used"]} for r in rows if r["key"]],
    }


# -- the wrapper --------------------------------------------------------------------------------------------
def cached_analyze(analyze: Callable[..., ModelGraph], spec: str, *, batch: int | None = None, dtype: str = "fp32",
                   input_shape: list[int] | None = None, params: dict[str, str] | None = None,
                   weights: str | None = None, tracers: tuple[str, ...] | None = None,
                   use_cache: bool = True) -> ModelGraph:
    """`analyze(spec, **spec_fields)`, or the graph it returned for the same key before."""
    fields = dict(batch=batch, dtype=dtype, input_shape=input_shape, params=params, weights=weights, tracers=tracers)
    if not (use_cache and enabled() and isinstance(spec, str) and is_cacheable(spec)):
        return analyze(spec, **fields)
    key = make_key(spec, **fields)
    mg = load(key)
    if mg is None:
        mg = analyze(spec, **fields)
        store(key, mg)
    return mg
