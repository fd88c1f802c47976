"""User models: a factory function in a Python file or an importable module.

Spec forms:
    path/to/file.py:factory      the file is imported under a module name derived from its absolute path
    package.module:factory       imported with importlib.import_module

The factory is called as factory(**params) inside the tracer's device context (so on meta it allocates
nothing); string params that look like numbers are passed as int/float. The factory must return an
`nn.Module` whose forward takes one float tensor of `input_shape` (the batch option replaces the first dim).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import torch
from torch import nn

from perfgraph.ingest.model_source import BuiltModel, ModelExitError, ModelSourceError, exits_raise

__all__ = ["build", "parse_param_value", "split_spec", "load_factory"]

_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_MODULE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

INPUT_SHAPE_HELP = "--input-shape is required for user models, e.g. --input-shape 1,3,224,224"


def parse_param_value(raw: str) -> int | float | str:
    """'3' -> 3, '0.5' / '1e-3' -> float, anything else stays a string."""
    text = str(raw).strip()
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    return raw


def split_spec(spec: str) -> tuple[str, str]:
    """'a/b.py:make' -> ('a/b.py', 'make'); the last ':' separates the factory (so 'C:\\x.py:f' works)."""
    target, sep, factory = spec.rpartition(":")
    if not sep or not target or not factory:
        raise ModelSourceError(
            f"user model spec {spec!r} must be path/to/file.py:factory or package.module:factory"
        )
    if not factory.isidentifier():
        raise ModelSourceError(f"user model spec {spec!r}: factory name {factory!r} is not a Python identifier")
    return target, factory


def _is_file_target(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target or target.startswith(".")


def _module_name_for(path: Path) -> str:
    """Deterministic module name for a file: stem plus a short hash of its absolute path."""
    digest = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:12]
    stem = re.sub(r"\W", "_", path.stem) or "module"
    return f"perfgraph_user_{stem}_{digest}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def _import_file(target: str) -> ModuleType:
    path = Path(target).expanduser()
    if not path.is_file():
        where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
        raise ModelSourceError(f"user model file not found: {target}{where}")
    path = path.resolve()
    name = _module_name_for(path)
    cached = sys.modules.get(name)
    if cached is not None and getattr(cached, "__file__", None) == str(path):
        return cached
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelSourceError(f"cannot import user model file {target}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec, so dataclasses/pickling inside the module can find it
    parent = str(path.parent)
    added = parent not in sys.path
    if added:
        sys.path.insert(0, parent)  # let the file import its siblings
    try:
        with exits_raise(f"importing {target}"):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        raise ModelSourceError(f"cannot import user model file {target}: {_first_line(exc)}") from None
    finally:
        if added:
            try:
                sys.path.remove(parent)
            except ValueError:
                pass
    return module


def _import_module(target: str) -> ModuleType:
    if not _MODULE_RE.fullmatch(target):
        raise ModelSourceError(
            f"user model {target!r} is neither a .py file path nor a dotted module name (package.module)"
        )
    try:
        with exits_raise(f"importing {target}"):
            return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name) and (len(target) == len(exc.name) or target[len(exc.name)] == "."):
            raise ModelSourceError(f"user model module not found: {target} (no module named {exc.name!r})") from None
        raise ModelSourceError(f"cannot import user model module {target}: {_first_line(exc)}") from None
    except (Exception, SystemExit) as exc:
        raise ModelSourceError(f"cannot import user model module {target}: {_first_line(exc)}") from None


def load_factory(spec: str) -> Callable[..., Any]:
    """Import the module named by `spec` and return its factory (validated as callable)."""
    target, factory_name = split_spec(spec)
    module = _import_file(target) if _is_file_target(target) else _import_module(target)
    if not hasattr(module, factory_name):
        public = sorted(
            n for n, v in vars(module).items() if callable(v) and not n.startswith("_") and
            getattr(v, "__module__", None) == module.__name__
        )
        hint = f"; callables defined there: {', '.join(public)}" if public else ""
        raise ModelSourceError(f"user model {target} has no factory {factory_name!r}{hint}")
    factory = getattr(module, factory_name)
    if not callable(factory):
        raise ModelSourceError(
            f"user model factory {target}:{factory_name} is not callable (it is a {type(factory).__name__})"
        )
    return factory


def _parse_input_shape(input_shape: list[int] | None, batch: int) -> list[int]:
    if not input_shape:
        raise ModelSourceError(INPUT_SHAPE_HELP)
    try:
        dims = [int(d) for d in input_shape]
    except (TypeError, ValueError):
        raise ModelSourceError(f"--input-shape must be positive integers, got {input_shape!r}") from None
    if any(d < 1 for d in dims):
        raise ModelSourceError(f"--input-shape must be positive integers, got {input_shape!r}")
    return [batch, *dims[1:]]


def build(spec: str, *, batch: int, input_shape: list[int] | None, params: dict[str, str]) -> BuiltModel:
    """Build a user model from `path/to/file.py:factory` or `package.module:factory`."""
    if int(batch) < 1:
        raise ModelSourceError(f"batch must be >= 1, got {batch}")
    batch = int(batch)
    shape = _parse_input_shape(input_shape, batch)
    target, factory_name = split_spec(spec)
    factory = load_factory(spec)
    raw_params = {str(k): str(v) for k, v in (params or {}).items()}
    kwargs = {k: parse_param_value(v) for k, v in raw_params.items()}

    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(**kwargs)
        except TypeError as exc:
            raise ModelSourceError(f"user model factory {spec}{signature}: {exc}") from None

    def build_module() -> nn.Module:
        try:
            module = factory(**kwargs)
        except (ModelSourceError, ModelExitError):
            raise
        except SystemExit as exc:
            raise ModelExitError(f"user model factory {spec} called sys.exit({exc.code})") from None
        except Exception as exc:
            raise ModelSourceError(f"user model factory {spec} failed: {_first_line(exc)}") from None
        if not isinstance(module, nn.Module):
            raise ModelSourceError(
                f"user model factory {spec} returned {type(module).__name__}, not a torch.nn.Module"
            )
        return module.eval()

    def make_inputs(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor]:
        return (torch.randn(shape, device=device, dtype=dtype),)

    display = f"{Path(target).stem}:{factory_name}" if _is_file_target(target) else f"{target}:{factory_name}"
    return BuiltModel(
        name=f"user:{display}",
        source="user",
        build=build_module,
        make_inputs=make_inputs,
        input_shape=shape,
        batch=batch,
        options={"spec": spec, **dict(sorted(raw_params.items()))},
        family="user",
    )
