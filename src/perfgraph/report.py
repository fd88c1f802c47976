"""The HTML report: one self-contained file (CSS inline, plots as base64 PNG) for one model on some chips.

Sections: the model's summary; per chip its latencies, throughput, energy and memory; a roofline per chip
with every subgraph (kernel) placed on it; the kernel DAG drawn by stage with the critical path in red and
the number of subgraphs per stage beneath it; and the per-subgraph table, critical-path rows highlighted.

Roofline, per chip at the report's precision: x = the kernel's arithmetic intensity (FLOPs / bytes it
moves, at the precision's storage size), y = the FLOP rate the engine predicts (FLOPs / predicted
latency). The roof is min(peak, bandwidth x intensity) for main memory (solid) and for each faster level
with a known bandwidth (dashed): a kernel served from cache can sit above the DRAM roof. Colour = what
bounds the kernel (compute, memory, launch overhead); area = its share of the sequential latency; a black
ring = on that chip's latency critical path. Kernels without FLOPs (copies, concatenations) have no
place on log axes and are counted in the caption.

Plots use matplotlib's Agg canvas through `matplotlib.figure.Figure` (no pyplot, no display needed).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
from typing import TYPE_CHECKING, Any

from perfgraph.graph import PERFGRAPH_VERSION

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from perfgraph.api import Report

BOUND_COLORS = {"compute": "#1f77b4", "memory": "#ff7f0e", "overhead": "#8c8c8c"}
KIND_COLORS = {"conv": "#1f77b4", "matmul": "#9467bd", "attention": "#e377c2", "elementwise": "#2ca02c",
               "norm": "#17becf", "reduction": "#bcbd22", "pool": "#8c564b", "data": "#7f7f7f"}
CRITICAL = "#d62728"
DPI = 110


# ------------------------------------------------------------------------------------------------ units
def human(n: float | int | None, unit: str = "") -> str:
    """1.81e9 -> '1.81 G'; decimal prefixes, as FLOP and byte rates are quoted."""
    if n is None:
        return "–"
    n = float(n)
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}".rstrip()
    return (f"{n:.0f} {unit}" if n.is_integer() else f"{n:.3g} {unit}").rstrip()


def seconds(s: float | None) -> str:
    if s is None:
        return "–"
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e9:.3g} ns"


# ------------------------------------------------------------------------------------------------ plots
def _png(fig: "Figure") -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def roofline_figure(report: "Report") -> "Figure | None":
    """One roofline panel per chip (up to 3 per row); None without chips."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from perfgraph.engine.overlay import overlay_kernels

    chips = list(report.mappings)
    if not chips:
        return None
    cols = min(3, len(chips))
    rows = math.ceil(len(chips) / cols)
    fig = Figure(figsize=(6.2 * cols, 4.9 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(chips):]:
        ax.set_visible(False)
    for ax, chip in zip(axes.flat, chips):
        m = report.mappings[chip]
        hw = report.hardware[chip]
        on_cp = set(m.critical_path)
        kernels = overlay_kernels(m)  # one point per stored kernel, for eager mappings too
        pts = [(k, k.flops / k.bytes, k.flops / k.latency_s) for k in kernels
               if k.flops > 0 and k.bytes > 0 and k.latency_s > 0]
        skipped = len(kernels) - len(pts)
        peak = hw.peak(report.precision)
        prec_used = hw.resolve_precision(report.precision)
        xs = [p[1] for p in pts] or [1.0]
        ys = [p[2] for p in pts] or [peak]
        ridge = peak / hw.dram_bandwidth if hw.dram_bandwidth else max(xs)
        x_lo = min(min(xs), ridge) / 4
        x_hi = max(max(xs), ridge) * 4
        grid = [x_lo * (x_hi / x_lo) ** (i / 200) for i in range(201)]
        # memory roofs: main memory solid, faster levels with a known bandwidth dashed
        roofs = []
        for lvl in hw.memory:
            bw = lvl.bandwidth_bytes_per_s
            if not bw:
                continue
            main = lvl.is_main
            ax.plot(grid, [min(peak, bw * x) for x in grid], color="black" if main else "#999999",
                    lw=1.8 if main else 1.0, ls="-" if main else "--", zorder=1)
            roofs.append(f"{lvl.name} {human(bw, 'B/s')}" + (f" (ridge {peak / bw:.3g} FLOP/B)" if main else ""))
        ax.axhline(peak, color="black", lw=0.6, ls=":", zorder=0)
        ax.annotate(f"peak {prec_used} {human(peak, 'FLOP/s')}", (x_lo, peak), textcoords="offset points",
                    xytext=(4, -3), ha="left", va="top", fontsize=8)
        vec = hw.vector_peak(report.precision)
        if vec < peak * 0.95:
            ax.axhline(vec, color="#2ca02c", lw=0.9, ls="-.", zorder=0)
            ax.annotate(f"vector {human(vec, 'FLOP/s')}", (x_lo, vec), textcoords="offset points",
                        xytext=(4, -3), ha="left", va="top", fontsize=7.5, color="#2ca02c")
        total = sum(k.latency_s for k in kernels) or 1.0
        for bound in ("overhead", "memory", "compute"):
            sel = [p for p in pts if p[0].bound == bound]
            if not sel:
                continue
            sizes = [12 + 900 * p[0].latency_s / total for p in sel]
            ax.scatter([p[1] for p in sel], [p[2] for p in sel], s=sizes, c=BOUND_COLORS[bound], alpha=0.75,
                       edgecolors=["black" if p[0].subgraph_index in on_cp else "white" for p in sel],
                       linewidths=[1.2 if p[0].subgraph_index in on_cp else 0.4 for p in sel], zorder=3)
        placed: list[tuple[float, float]] = []
        for k, x, y in sorted(pts, key=lambda p: -p[0].latency_s)[:4]:
            lx, ly = math.log10(x), math.log10(y)
            if any(abs(lx - px) < 0.18 and abs(ly - py) < 0.12 for px, py in placed):
                continue  # would overlap a label already placed
            placed.append((lx, ly))
            ax.annotate(f"#{k.subgraph_index}", (x, y), textcoords="offset points", xytext=(6, -11),
                        fontsize=7.5, color="#333333", zorder=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(min(min(ys), peak) / 8, peak * 6)
        ax.set_xlabel("arithmetic intensity (FLOP / byte moved)")
        ax.set_ylabel("predicted FLOP/s")
        ax.set_title(f"{hw.name} — {seconds(m.latency_sequential_s)} sequential", fontsize=10)
        ax.grid(True, which="major", alpha=0.25)
        counts = ", ".join(f"{m.bound_counts.get(b, 0)} {b}" for b in ("compute", "memory", "overhead"))
        note = f"{len(pts)} kernels: {counts}"
        if skipped:
            note += f"; {skipped} without FLOPs not shown"
        note += "\nroof: " + "; ".join(roofs)
        ax.text(0.01, 0.99, note, transform=ax.transAxes, va="top", fontsize=7.5, color="#444444")
    handles = [Line2D([], [], marker="o", ls="", color=c, markersize=8, label=f"{b}-bound")
               for b, c in BOUND_COLORS.items()]
    handles.append(Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor="black",
                          markeredgewidth=1.2, markersize=8, label="on the latency critical path"))
    handles.append(Line2D([], [], color="black", lw=1.8, label="main-memory roof"))
    handles.append(Line2D([], [], color="#999999", lw=1.0, ls="--", label="on-chip level roof"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"{report.graph.info.name}: every kernel on each chip's roofline ({report.precision}; "
                 "area = share of latency)", fontsize=11)
    return fig


def _dag_layout(report: "Report") -> dict[int, tuple[float, float]]:
    """x = stage; y = slot within the stage, centred, ordered by the mean slot of the predecessors."""
    by_stage: dict[int, list[int]] = {}
    for sg in report.graph.subgraphs:
        by_stage.setdefault(sg.stage, []).append(sg.index)
    preds: dict[int, list[int]] = {}
    for s, d, _ in report.graph.subgraph_edges:
        preds.setdefault(d, []).append(s)
    pos: dict[int, tuple[float, float]] = {}
    for stage in sorted(by_stage):
        members = by_stage[stage]

        def key(n: int) -> tuple[float, int]:
            ys = [pos[p][1] for p in preds.get(n, []) if p in pos]
            return (sum(ys) / len(ys) if ys else 0.0, n)

        members.sort(key=key)
        width = len(members)
        for slot, n in enumerate(members):
            pos[n] = (float(stage), slot - (width - 1) / 2)
    return pos


def stage_figure(report: "Report") -> "Figure":
    """Top: the kernel DAG by stage, critical path (by FLOPs) in red. Bottom: subgraphs per stage."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    mg = report.graph
    pos = _dag_layout(report)
    n = len(mg.subgraphs)
    depth = max((sg.stage for sg in mg.subgraphs), default=-1) + 1
    widths = [0] * depth
    cp_stage = [0] * depth
    for sg in mg.subgraphs:
        widths[sg.stage] += 1
        if sg.on_critical_path:
            cp_stage[sg.stage] += 1
    max_w = max(widths, default=1)
    fig_w = min(max(8.0, 0.16 * depth + 4), 18.0)
    dag_h = min(max(2.2, 0.32 * max_w + 1.2), 7.0)
    fig = Figure(figsize=(fig_w, dag_h + 2.4), layout="constrained")
    ax_dag, ax_w = fig.subplots(2, 1, sharex=True, height_ratios=[dag_h, 2.4])
    on_cp = {sg.index for sg in mg.subgraphs if sg.on_critical_path}
    cp_edges = set()
    path = sorted(on_cp, key=lambda i: mg.subgraphs[i].stage)
    for a, b in zip(path, path[1:]):
        cp_edges.add((a, b))
    for s, d, _ in mg.subgraph_edges:
        (x0, y0), (x1, y1) = pos[s], pos[d]
        crit = (s, d) in cp_edges
        ax_dag.plot([x0, x1], [y0, y1], color=CRITICAL if crit else "#b8b8b8", lw=2.2 if crit else 0.6,
                    zorder=3 if crit else 1, solid_capstyle="round")
    max_flops = max((sg.flops for sg in mg.subgraphs), default=1) or 1
    base = 90 if n <= 60 else 40 if n <= 300 else 14
    for sg in mg.subgraphs:
        x, y = pos[sg.index]
        size = base * (0.35 + 0.65 * math.sqrt(sg.flops / max_flops)) if sg.flops else base * 0.25
        color = KIND_COLORS.get(sg.anchor_kind, "#7f7f7f")
        crit = sg.index in on_cp
        ax_dag.scatter([x], [y], s=size, c=color, edgecolors=CRITICAL if crit else "white",
                       linewidths=1.8 if crit else 0.4, zorder=4)
    if n <= 40:
        for sg in mg.subgraphs:
            x, y = pos[sg.index]
            ax_dag.annotate(str(sg.index), (x, y), textcoords="offset points", xytext=(0, 7), ha="center",
                            fontsize=7, color="#444444", zorder=5)
    ax_dag.set_yticks([])
    ax_dag.set_ylim(-(max_w - 1) / 2 - 0.8, (max_w - 1) / 2 + 0.8)
    for side in ("left", "right", "top"):
        ax_dag.spines[side].set_visible(False)
    kinds = sorted({sg.anchor_kind for sg in mg.subgraphs if sg.anchor_kind})
    handles = [Line2D([], [], marker="o", ls="", color=KIND_COLORS.get(k, "#7f7f7f"), markersize=7, label=k)
               for k in kinds]
    handles.append(Line2D([], [], color=CRITICAL, lw=2.2, label="critical path (FLOPs)"))
    ax_dag.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    cp_total = sum(mg.subgraphs[i].flops for i in on_cp)
    ax_dag.set_title(f"{mg.info.name}: {n} kernels in {depth} stages; critical path {len(on_cp)} kernels, "
                     f"{human(cp_total, 'FLOP')} of {human(sum(sg.flops for sg in mg.subgraphs), 'FLOP')}",
                     fontsize=10, loc="left")
    stages = list(range(depth))
    rest = [w - c for w, c in zip(widths, cp_stage)]
    ax_w.bar(stages, cp_stage, color=CRITICAL, width=0.8, label="critical-path kernel")
    ax_w.bar(stages, rest, bottom=cp_stage, color="#9fb6cd", width=0.8, label="other kernels")
    ax_w.set_ylabel("subgraphs\nin stage")
    ax_w.set_xlabel("stage")
    ax_w.set_ylim(0, max_w * 1.15 + 0.2)
    ax_w.yaxis.get_major_locator().set_params(integer=True)
    ax_w.xaxis.get_major_locator().set_params(integer=True)
    widest = max(stages, key=lambda s: (widths[s], -s)) if stages else 0
    if stages:
        ha = "left" if widest < depth * 0.15 else "right" if widest > depth * 0.85 else "center"
        ax_w.annotate(f"widest: stage {widest} ({widths[widest]} kernels)", (widest, widths[widest]),
                      textcoords="offset points", xytext=(0, 3), ha=ha, fontsize=8)
    ax_w.legend(handles=[Patch(color=CRITICAL, label="critical-path kernel"),
                         Patch(color="#9fb6cd", label="other kernels")],
                loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax_w.set_xlim(-0.8, depth - 0.2)
    ax_w.grid(True, axis="y", alpha=0.25)
    return fig


def figures(report: "Report") -> dict[str, bytes]:
    """The report's plots as PNG bytes: {"roofline": ..., "stages": ...} (roofline only with chips)."""
    out = {}
    roof = roofline_figure(report)
    if roof is not None:
        out["roofline"] = _png(roof)
    out["stages"] = _png(stage_figure(report))
    return out


# ------------------------------------------------------------------------------------------------ HTML
CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1280px;
     color:#222;padding:0 16px;line-height:1.4}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{background:#f6f6f6;position:sticky;top:0} td.l,th.l{text-align:left}
table.kv td:first-child{text-align:left;color:#555} table.kv td{text-align:left}
tr.cp td{background:#fdecec} tr.cp td:first-child{border-left:3px solid #d62728}
td.pattern{max-width:340px;overflow:hidden;text-overflow:ellipsis;text-align:left}
.b-compute{color:#1f77b4} .b-memory{color:#d86a00} .b-overhead{color:#777}
img{max-width:100%;border:1px solid #eee}
.note{color:#555;font-size:13px;max-width:980px}
.scroll{max-height:720px;overflow:auto;border:1px solid #eee}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _kv_table(rows: list[tuple[str, str]]) -> str:
    return "<table class=kv>" + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def _summary_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [("model id", s["id"]), ("source / tracer", f"{s['source']} / {s['tracer']}"),
            ("parameters", f"{s['params']:,}"), ("MACs", f"{human(s['macs'])}  ({s['macs']:,})"),
            ("FLOPs", f"{human(s['flops'])}  ({s['flops']:,})")]
    if "published_macs" in s:
        rows.append(("published MACs", f"{human(s['published_macs'])} per sample (ours / published = "
                                       f"{s['macs_ratio']:.4f})"))
    rows += [("ops", f"{s['ops']:,}"), ("subgraphs (kernels)", f"{s['subgraphs']:,}"),
             ("depth (stages)", str(s["depth"])), ("widest stage", f"stage {s['widest_stage']}: {s['width']} subgraph{'s' if s['width'] != 1 else ''}"),
             ("external bytes", human(s["external_bytes"], "B")), ("bytes before fusion", human(s["op_bytes"], "B")),
             ("weights", human(s["weight_bytes"], "B")), ("intensity", f"{s['intensity']:.2f} FLOP/B"),
             ("critical path (FLOPs)", f"{s['critical_path_length']} subgraphs, {human(s['critical_path_flops'], 'FLOP')}")]
    if s["uncosted_ops"]:
        rows.append(("uncosted ops", ", ".join(s["uncosted_ops"])))
    return rows


def _chip_table(report: "Report") -> str:
    hs = report.hardware_summary()
    if not hs:
        return ""
    head = ["chip", "precision", "runtime", "tier (expected error)", "sequential", "concurrent", "critical path",
            "throughput", "energy / batch", "peak memory", "fits", "of peak", "kernels compute / memory / overhead"]
    out = ["<table><tr>" + "".join(f"<th class=l>{_e(h)}</th>" if i < 4 else f"<th>{_e(h)}</th>"
                                   for i, h in enumerate(head)) + "</tr>"]
    for chip, h in hs.items():
        hw = report.hardware[chip]
        used = hw.resolve_precision(report.precision)
        prec = h["precision"] + (f" (as {used})" if used != h["precision"] else "")
        bc = h["bound_counts"]
        err = h.get("expected_error")
        runtime = h.get("runtime", "") + (f" ({h['bound_by']}-bound)" if h.get("bound_by") else "")
        tier = h.get("tier", "") + (f" (±{err:.0%} median)" if err is not None else " (not validated)")
        cells = [f"{hw.name} [{chip}]", prec, runtime, tier, seconds(h["latency_s"]), seconds(h["latency_concurrent_s"]),
                 seconds(h["latency_critical_path_s"]), f"{h['throughput_per_s']:,.0f} /s",
                 f"{h['energy_per_batch_j'] * 1e3:.3g} mJ", human(h["peak_memory_bytes"], "B"),
                 "yes" if h["fits_in_memory"] else "NO", f"{h['utilization'] * 100:.1f} %",
                 f"{bc.get('compute', 0)} / {bc.get('memory', 0)} / {bc.get('overhead', 0)}"]
        out.append("<tr>" + "".join(f"<td class=l>{_e(c)}</td>" if i < 4 else f"<td>{_e(c)}</td>"
                                    for i, c in enumerate(cells)) + "</tr>")
    out.append("</table>")
    notes = [f"{chip}: {n}" for chip, h in hs.items() for n in h.get("notes", [])]
    if notes:
        out.append("<p class=note>" + "<br>".join(_e(n) for n in notes) + "</p>")
    out.append(_explanations(hs))
    return "".join(out)


def _explanations(hs: dict[str, dict[str, Any]]) -> str:
    """Per chip: on-chip capacity and streaming, and the energy split with each figure's provenance."""
    from perfgraph.engine.explain import energy_line, onchip_line

    lines = []
    for chip, h in hs.items():
        if h.get("placement"):
            lines.append(f"{chip}: {onchip_line(h['placement'], h['batch'])}")
        if h.get("energy_split"):
            lines.append(f"{chip}: energy per batch {energy_line(h['energy_split'])}")
    return "<p class=note>" + "<br>".join(_e(x) for x in lines) + "</p>" if lines else ""


def _subgraph_table(report: "Report") -> str:
    chips = list(report.mappings)
    cps = {chip: set(m.critical_path) for chip, m in report.mappings.items()}
    head = ["#", "stage", "CP", "pattern", "ops", "MACs", "FLOPs", "bytes", "FLOP/B", "parallelism (b·c·s)"]
    for chip in chips:
        head += [f"{chip} latency", f"{chip} bound", f"{chip} util"]
    out = ["<table><tr>" + "".join(f"<th class=l>{_e(h)}</th>" if h == "pattern" else f"<th>{_e(h)}</th>"
                                   for h in head) + "</tr>"]
    for row in report.subgraph_rows():
        cls = " class=cp" if row["on_critical_path"] else ""
        cells = [f"<td>{row['index']}</td>", f"<td>{row['stage']}</td>",
                 f"<td>{'★' if row['on_critical_path'] else ''}</td>",
                 f"<td class=pattern title='{_e(row['pattern'])}'>{_e(row['pattern'])}</td>",
                 f"<td>{row['ops']}</td>", f"<td>{_e(human(row['macs']))}</td>", f"<td>{_e(human(row['flops']))}</td>",
                 f"<td>{_e(human(row['external_bytes'], 'B'))}</td>", f"<td>{row['intensity']:.1f}</td>",
                 f"<td>{row['parallelism_batch']}·{row['parallelism_channels']}·{row['parallelism_spatial']}</td>"]
        for chip in chips:
            lat, bound, util = row[f"{chip}:latency_s"], row[f"{chip}:bound"], row[f"{chip}:utilization"]
            mark = "<b>" if row["index"] in cps[chip] else ""
            end = "</b>" if mark else ""
            cells += [f"<td>{mark}{_e(seconds(lat))}{end}</td>", f"<td class='b-{_e(bound)}'>{_e(bound)}</td>",
                      f"<td>{util * 100:.0f} %</td>" if util is not None else "<td>–</td>"]
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _img(png: bytes, alt: str) -> str:
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def render_html(report: "Report", pngs: dict[str, bytes] | None = None) -> str:
    """The whole report as one HTML string (no external resources)."""
    mg = report.graph
    s = report.summary()
    pngs = pngs if pngs is not None else figures(report)
    chips = ", ".join(report.hardware[c].name for c in report.mappings) or "none"
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>perfgraph report: {_e(mg.info.name)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(mg.info.name)}</h1>",
        f"<div class=meta>batch {s['batch']}, {_e(s['dtype'])}, input {_e(s['input_shape'])}; mapped at "
        f"{_e(report.precision)} onto {_e(chips)}. perfgraph {PERFGRAPH_VERSION}, {when}.</div>",
        "<h2>Summary</h2>", _kv_table(_summary_rows(s)),
    ]
    if report.mappings:
        parts += [
            "<h2>Chips</h2>", _chip_table(report),
            "<p class=note><b>sequential</b>: kernels one after another; <b>concurrent</b>: the kernels of a "
            "stage share the chip; <b>critical path</b>: the heaviest path by predicted latency, a lower bound "
            "at unbounded width. <b>of peak</b>: FLOPs / (sequential latency × peak).</p>",
            "<h2>Roofline</h2>", _img(pngs["roofline"], "roofline per chip"),
            "<p class=note>Every kernel at its arithmetic intensity (x) and predicted FLOP rate (y). Solid: "
            "main-memory roof; dashed: faster memory levels (a kernel whose working set fits in cache can sit "
            "above the main-memory roof). Colour: what bounds the kernel; area: its share of the latency; "
            "black ring: on the chip's latency critical path; labels: the four slowest kernels.</p>",
        ]
    parts += [
        "<h2>Stages and critical path</h2>", _img(pngs["stages"], "kernel DAG by stage and stage widths"),
        "<p class=note>Top: each kernel at its stage (0 = no predecessor, else 1 + the latest predecessor), "
        "coloured by its dominant op, sized by FLOPs; red: the critical path by FLOPs. Bottom: kernels per "
        "stage — kernels of one stage may run at once; the widest stage is the graph-level parallelism.</p>",
        f"<h2>Subgraphs ({len(mg.subgraphs)})</h2>",
        "<p class=note>Highlighted rows (★): on the critical path by FLOPs. Bold latency: on that chip's "
        "latency critical path. Bytes: external bytes (inputs, outputs, weights crossing the kernel).</p>",
        f"<div class=scroll>{_subgraph_table(report)}</div>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(report: "Report", path: str, png_dir: str | None = None) -> dict[str, Any]:
    """Write the HTML to `path` (and the PNGs to `png_dir` when given); returns what was written."""
    from pathlib import Path

    pngs = figures(report)
    text = render_html(report, pngs)
    Path(path).write_text(text, encoding="utf-8")
    written = {"html": str(path), "bytes": len(text.encode()), "images": {}}
    if png_dir:
        d = Path(png_dir)
        d.mkdir(parents=True, exist_ok=True)
        for name, data in pngs.items():
            p = d / f"{name}.png"
            p.write_bytes(data)
            written["images"][name] = str(p)
    return written
