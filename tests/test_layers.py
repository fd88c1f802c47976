"""The layer rules of the README's architecture section, checked on the import graph read from the source
(`scripts/import_graph.py`, the standard library's ast: nothing is imported).  Known exceptions are listed
here with their reason; a new exception fails the test until it is listed (and, better, removed)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import import_graph as ig  # noqa: E402

GRAPH = ig.imports()
TOP = ig.perfgraph_edges(GRAPH)
ALL = ig.perfgraph_edges(GRAPH, top_only=False)

# Modules outside ingest/ and measure/ that may import torch, only inside a function.
LAZY_TORCH = {
    "perfgraph.cli.measure_cmds": "calibrate/validate measure with torch; the command imports it when run",
}
# queries/ -> engine/ imports that remain, each inside a function (none: queries read an overlay, never map).
QUERIES_TO_ENGINE: dict[tuple[str, str], str] = {}


def _layer(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_import_graph_is_read_from_every_module():
    assert "perfgraph.engine.model_mapping" in GRAPH and "perfgraph.cli.main" in GRAPH
    assert "perfgraph.engine.runtime" in TOP["perfgraph.engine.model_mapping"]


def test_no_cycles_among_top_level_imports():
    assert ig.cycles(TOP) == []


def test_the_cycle_finder_finds_a_cycle():
    assert ig.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_torch_only_in_ingest_and_measure():
    for mod, top in ig.heavy_importers(GRAPH).items():
        if _layer(mod) in ("ingest", "measure"):
            continue
        assert not top, f"{mod} imports torch at top level"
        assert mod in LAZY_TORCH, f"{mod} imports torch (lazily); only ingest/ and measure/ may"


def test_queries_never_import_engine_ingest_or_cli():
    for mod, targets in ALL.items():
        if _layer(mod) != "queries":
            continue
        for t in targets:
            assert _layer(t) not in ("ingest", "cli", "store"), f"{mod} imports {t}"
            if _layer(t) == "engine":
                assert (mod, t) in QUERIES_TO_ENGINE, f"{mod} imports {t}"
                assert t not in TOP[mod], f"{mod} imports {t} at top level"


def test_graph_hardware_and_engine_know_nothing_of_stores_and_the_cli():
    for mod, targets in ALL.items():
        if _layer(mod) in ("graph", "hardware", "engine", "queries"):
            bad = [t for t in targets if _layer(t) in ("cli", "store")]
            assert not bad, f"{mod} imports {bad}"


def test_only_the_cli_imports_the_cli():
    for mod, targets in ALL.items():
        if _layer(mod) != "cli" and mod != "perfgraph.__main__":
            assert not [t for t in targets if _layer(t) == "cli"], f"{mod} imports the CLI"


# The flow (trace -> partition -> stages -> map) is the pipeline's: the entry points call it, not its stages.
FLOW_STAGES = ("perfgraph.analysis", "perfgraph.ingest.trace", "perfgraph.ingest.partition",
               "perfgraph.engine.model_mapping")
ENTRY_POINTS = ("perfgraph.cli.", "perfgraph.api", "perfgraph.sweep", "perfgraph.measure.validate")


def test_entry_points_call_the_pipeline_not_its_stages():
    for mod, targets in ALL.items():
        if mod.startswith(ENTRY_POINTS):
            bad = sorted(t for t in targets if t in FLOW_STAGES)
            assert not bad, f"{mod} imports {bad}: call perfgraph.pipeline instead"


def test_the_pipeline_sits_below_the_entry_points():
    for mod, targets in ALL.items():
        if "perfgraph.pipeline" in targets:
            assert mod.startswith((*ENTRY_POINTS, "perfgraph.analysis", "perfgraph.llm", "perfgraph.sweep_spec")), \
                f"{mod} imports the pipeline; only the entry points (and the analysis shim) may"


def test_stages_do_not_import_the_pipeline_at_top_level():
    for mod in ("perfgraph.engine.model_mapping", "perfgraph.ingest.partition", "perfgraph.queries.embedded"):
        assert "perfgraph.pipeline" not in TOP.get(mod, set())
