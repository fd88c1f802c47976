"""The field types of the chip-file schema (`hardware.schema`), with perfgraph's one-line error messages.

Each type is an ``Annotated`` pydantic type: it validates strictly (a YAML string is never read as a
number), raises a `PydanticCustomError` whose message `format_error` prefixes with the field path, and
carries its bounds into the JSON Schema so that an editor can flag a value before perfgraph does.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from perfgraph.vocab import Precision, choices

PRECISIONS = choices(Precision)  # the one precision vocabulary (`perfgraph.vocab`)
# Mappings keyed by precision: an unknown key there is an unknown precision, not an unknown field.
PRECISION_KEYED = ("peak_flops", "vector_flops", "achievable_fraction", "precision_fallback", "pj_per_flop")

_SLUG = r"^[a-z0-9][a-z0-9._-]*(@[a-z0-9._-]+)?$"  # "@mode" only on derived specs (`with_mode`)


def fail(message: str, *, glue: str = ": ", at: tuple = (), kind: str = "chip") -> None:
    """Raise a schema error: `glue` joins the field path and `message`; `at` extends the path below the
    field being validated (a cross-field check names the field it is about)."""
    raise PydanticCustomError(kind, message, {"glue": glue, "at": at})


def _range(v: float, lo: float, hi: float, unit: str, open_lo: bool) -> float:
    if not math.isfinite(v):
        fail(f"{v} is not a finite number")
    if v < 0:
        fail(f"negative value {v:g}")
    if open_lo and v <= lo:
        fail(f"must be > {lo:g}")
    if v < lo or v > hi:
        fail(f"implausible value {v:g}{unit} (expected {lo:g}..{hi:g})")
    return v


def Num(lo: float, hi: float, unit: str = "", *, open_lo: bool = False) -> Any:
    """A number in [lo, hi] (or (lo, hi] with `open_lo`): the plausibility range for one chip."""
    bounds = {"exclusiveMinimum" if open_lo else "minimum": lo, "maximum": hi}
    return Annotated[float, Strict(), AfterValidator(lambda v: _range(v, lo, hi, unit, open_lo)),
                     Field(json_schema_extra=bounds)]


def Int(lo: int = 1) -> Any:
    """An integer >= lo (a YAML 2.0 or true is not one)."""
    def check(v: Any) -> Any:
        if not (isinstance(v, int) and not isinstance(v, bool) and v >= lo):
            fail(f"must be an integer >= {lo}, got {v!r}", glue=" ")
        return v

    return Annotated[int, BeforeValidator(check), Field(json_schema_extra={"minimum": lo})]


def _pair(v: Any) -> Any:
    """Two numbers (an array's rows and columns)."""
    ok = isinstance(v, list) and len(v) == 2
    if not ok or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in v):
        fail("must be a list of two numbers", glue=" ")
    return v


def Choice(values: tuple[str, ...], what: str) -> Any:
    """One of `values`; anything else is 'unknown <what> ...'."""
    def check(v: str) -> str:
        if v not in values:
            fail(f"unknown {what} {v!r} (known: {', '.join(values)})")
        return v

    return Annotated[str, Strict(), AfterValidator(check), Field(json_schema_extra={"enum": list(values)})]


def _nonblank(v: str) -> str:
    if not v.strip():
        fail("must be a non-empty string", glue=" ")
    return v


def _slug(v: str) -> str:
    if not re.match(_SLUG, v):
        fail(f"must be a lowercase slug (letters, digits, . _ -), got {v!r}", glue=" ")
    return v


def _fraction(v: float) -> float:
    if not 0 < v <= 1:
        fail(f"must be a fraction in (0, 1], got {v!r}")
    return v


def _plain(v: Any) -> Any:
    """A free-form value (a unit-detail field the schema does not name): no negative or non-finite number."""
    if isinstance(v, dict):
        for x in v.values():
            _plain(x)
    elif isinstance(v, list):
        for x in v:
            _plain(x)
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        _range(v, 0, math.inf, "", False)
    return v


Text = Annotated[str, Strict(), AfterValidator(_nonblank)]
Slug = Annotated[str, Strict(), AfterValidator(_slug), Field(json_schema_extra={"pattern": _SLUG})]
Fraction = Annotated[float, Strict(), AfterValidator(_fraction), Field(json_schema_extra={
    "exclusiveMinimum": 0, "maximum": 1})]
Free = Annotated[Any, AfterValidator(_plain)]
Pair = Annotated[list[float], BeforeValidator(_pair), Field(min_length=2, max_length=2)]
Count = Int(1)
Source = Annotated[str, Strict(), AfterValidator(_nonblank), Field(
    description="a citation, or 'derived:' / 'estimate:' / 'assumption:' / 'detected:' / 'calibrated:' "
                "with the formula or reasoning")]


def _path(loc: tuple, data: Any) -> str:
    """Dotted field path; a list item with a `name` (a memory level) is labelled by it: ``memory[HBM3]``."""
    out, node = "", data
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            out += f"[{name}]" if isinstance(name, str) and name else f".{part}"
            node = item
        else:
            out = f"{out}.{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def format_error(err: dict, data: Any) -> str:
    """One pydantic error of a chip mapping as a line: ``peak_flops.fp16: Input should be a valid number``."""
    ctx = err.get("ctx") or {}
    loc = tuple(err["loc"]) + tuple(ctx.get("at", ()))
    path, typ = _path(loc, data), err["type"]
    if typ in ("missing", "chip_missing"):
        return f"missing field: {path}"
    if typ == "extra_forbidden":
        key = loc[-1]
        if len(loc) > 1 and loc[-2] in PRECISION_KEYED:
            return f"{path}: unknown precision {key!r} (known: {', '.join(PRECISIONS)})"
        parent = _path(loc[:-1], data)
        return f"{parent}: unknown field {key!r}" if parent else f"unknown field {key!r}"
    if typ in ("model_type", "dict_type", "model_attributes_type"):
        msg = "must be a mapping"
    elif typ == "list_type":
        msg = "must be a list"
    elif typ == "value_error":
        msg = str(ctx.get("error", err["msg"]))
    else:
        msg = err["msg"]
    return f"{path}{ctx.get('glue', ': ')}{msg}" if path else msg
