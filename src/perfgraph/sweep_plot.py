"""Sweep plots: any metric against one swept axis (matplotlib, Agg backend), one line per combination of
the other swept axes and, for chip metrics, per chip."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfgraph.sweep_spec import METRICS, SweepError, SweepSpec, metric_key

if TYPE_CHECKING:
    from perfgraph.sweep import SweepResult



def _fmt_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _axis_title(col: str) -> str:
    return col[2:] if col.startswith("p.") else col


def plot(result_or_rows: "SweepResult | list[dict[str, Any]]", metric: str, path: str | os.PathLike, *,
         x: str | None = None, spec: SweepSpec | None = None, title: str | None = None) -> Path:
    """Plot `metric` against the swept axis `x` (default: the first axis with several values). One line
    per combination of the other swept axes (and per chip for chip metrics). Log axes where the values
    span more than a factor of 8 (x, base 2 for powers of two) or 30 (y). Returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter, FuncFormatter, LogLocator, NullFormatter

    if isinstance(getattr(result_or_rows, "spec", None), SweepSpec):  # a sweep.SweepResult
        spec = result_or_rows.spec
        rows = result_or_rows.rows
    else:
        rows = list(result_or_rows)
    if spec is None:
        raise SweepError("plot needs the sweep spec")
    key = metric_key(metric)
    m = METRICS[key]
    swept = spec.swept()
    if x is None:
        if not swept:
            raise SweepError("nothing is swept (every axis has one value): nothing to plot against")
        xcol = swept[0]
    else:
        xcol = x_column(spec, x)
    others = [c for c in swept if c != xcol]
    chips = list(spec.hardware) if m.per_chip else [None]
    if m.per_chip and not chips:
        raise SweepError(f"metric {key} is predicted per chip: add --hardware (e.g. --hardware h100-sxm)")

    ok_rows = [r for r in rows if not r.get("error")]
    if not ok_rows:
        raise SweepError("no point finished without error: nothing to plot")
    xs_all = list(dict.fromkeys(r[xcol] for r in rows))
    numeric_x = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs_all)

    series: dict[tuple, list[tuple[Any, float]]] = {}
    for r in ok_rows:
        group = tuple(r[c] for c in others)
        for chip in chips:
            col = f"{key}@{chip}" if chip else key
            val = r.get(col)
            if val is None or (isinstance(val, float) and not math.isfinite(val)):
                continue
            series.setdefault((*group, chip), []).append((r[xcol], float(val)))

    fig, ax = plt.subplots(figsize=(8.0, 5.0), dpi=120)
    markers = "osD^v<>ph*"
    styles = ["-", "--", ":", "-."]
    group_keys = list(dict.fromkeys(k[:-1] for k in series))
    for (i_s, (sk, pts)) in enumerate(series.items()):
        group, chip = sk[:-1], sk[-1]
        if numeric_x:
            pts = sorted(pts)
            xs = [p[0] for p in pts]
        else:
            order = {v: i for i, v in enumerate(xs_all)}
            pts = sorted(pts, key=lambda p: order[p[0]])
            xs = [order[p[0]] for p in pts]
        parts = [f"{_axis_title(c)}={_fmt_value(v)}" for c, v in zip(others, group)]
        if chip:
            parts.append(chip)
        name = ", ".join(parts) or spec.model
        # Colour (and marker) per combination of the other axes, dash style per chip; with one
        # combination only, colour per chip too.
        several_chips = bool(chip) and len(chips) > 1
        if several_chips and len(group_keys) > 1:
            color_idx = group_keys.index(group)
        elif several_chips:
            color_idx = chips.index(chip)
        else:
            color_idx = i_s
        style = styles[chips.index(chip) % len(styles)] if several_chips else "-"
        ax.plot(xs, [p[1] for p in pts], linestyle=style, marker=markers[color_idx % len(markers)],
                color=f"C{color_idx % 10}", label=name, linewidth=1.6, markersize=5)

    # x axis
    ax.set_xlabel(_axis_title(xcol))
    if numeric_x:
        xv = [float(v) for v in xs_all]
        if min(xv) > 0 and max(xv) / min(xv) >= 8:
            pow2 = all(float(v).is_integer() and int(v) & (int(v) - 1) == 0 for v in xv)
            ax.set_xscale("log", base=2 if pow2 else 10)
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(sorted(xv))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax.set_xticks(range(len(xs_all)))
        ax.set_xticklabels([_fmt_value(v) for v in xs_all])
    # y axis
    ys = [p[1] for pts in series.values() for p in pts]
    eng = EngFormatter(unit=m.unit, sep=" ")
    if ys and min(ys) > 0 and max(ys) / min(ys) >= 30:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(eng)
    ax.set_ylabel(m.label)  # the unit is on every tick label (EngFormatter)
    context = [f"traced in {spec.dtype}"]
    if "batch" not in swept:
        context.insert(0, f"batch {spec.batches[0]}")
    fixed = [f"{n}={v[0]}" for n, v in spec.axes.items() if len(v) == 1]
    if m.per_chip:
        context.append(f"chips compute in {spec.precision}")
    ax.set_title(title or f"{spec.model} — {m.label} vs {_axis_title(xcol)}", fontsize=12)
    fig.text(0.5, 0.005, " · ".join(context + fixed), ha="center", va="bottom", fontsize=8, color="0.35")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    if len(series) > 1:
        ax.legend(fontsize=8, frameon=False, ncol=2 if len(series) > 6 else 1)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def x_column(spec: SweepSpec, x: str) -> str:
    """The row column of plot axis `x` (a swept parameter name, or batch), or a SweepError."""
    swept = spec.swept()
    xcol = "batch" if x == "batch" else (x if x.startswith("p.") else f"p.{x}")
    if xcol not in swept:
        raise SweepError(f"--x {x}: not a swept axis; swept: {', '.join(_axis_title(c) for c in swept) or 'none'}")
    return xcol


def plot_name(metric: str, spec: SweepSpec, x: str | None = None) -> str:
    swept = spec.swept()
    xname = _axis_title(x or (swept[0] if swept else "x"))
    return f"{metric_key(metric)}_vs_{re.sub(r'[^A-Za-z0-9_.-]', '_', xname)}.png"
