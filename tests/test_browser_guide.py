"""perfgraph's Neo4j Browser guide: its files, the server that hands them to the Browser, and its queries
(every saved query runs on a real Neo4j and answers what the in-process model says)."""

from __future__ import annotations

import html
import io
import re
import urllib.error
import urllib.request
import zipfile

import pytest

from perfgraph.store import browser_guide as bg


def _get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method, headers={"Cache-Control": "no-cache", "Origin": "http://x"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), b""


def test_guide_renders_every_query_and_nothing_else():
    page = bg.render_guide("http://localhost:7480")
    assert "{{" not in page and "}}" not in page
    slides = re.findall(r"<slide\b.*?</slide>", page, re.S)
    titles = [re.search(r"<h3>(.*?)</h3>", s).group(1) for s in slides]
    assert titles == ["perfgraph in the Neo4j Browser", "Stages", "Critical path", "Chips compared",
                      "Memory-bound kernels", "Keep these queries"]
    runnable = re.findall(r'<pre class="runnable">(.*?)</pre>', page, re.S)
    for name, text in bg.queries().items():
        body = bg.strip_comments(text).rstrip(";")
        assert html.escape(body) in runnable, name
    assert ":style http://localhost:7480/perfgraph.grass" in runnable
    assert "http://localhost:7480/perfgraph-queries.zip" in page


def test_saved_queries_name_themselves():
    for p in bg.query_files():
        first = p.read_text().splitlines()[0]
        assert first.startswith("// perfgraph: "), p  # the Browser names a saved script by its first comment
        assert p.read_text().rstrip().endswith(";")


def test_guide_server_answers_the_browser():
    with bg.GuideServer(port=0) as g:
        base = g.url.rsplit("/", 1)[0]
        assert g.url.startswith("http://localhost:")
        status, headers, body = _get(g.url)
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
        assert f":style {base}/perfgraph.grass" in body.decode()
        status, headers, _ = _get(g.url, "OPTIONS")  # the Browser's no-cache headers make a preflight
        assert status == 204 and headers["Access-Control-Allow-Headers"] == "*"
        status, _, body = _get(f"{base}/perfgraph-queries.zip")
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        assert status == 200 and names == [f"perfgraph/{p.name}" for p in bg.query_files()]
        status, _, body = _get(f"{base}/perfgraph.grass")
        assert status == 200 and b"node.Subgraph" in body
        assert _get(f"{base}/queries/02-stages.cypher")[0] == 200
        for bad in ("/queries/../perfgraph.html", "/../../etc/passwd", "/nothing.html", "/queries/x.cypher"):
            assert _get(base + bad)[0] == 404, bad


def test_settings_allow_the_guide_and_open_it_after_connecting():
    s = bg.browser_settings(7480)
    assert "localhost" in s["browser.remote_content_hostname_whitelist"].split(",")
    assert s["browser.post_connect_cmd"] == "guide http://localhost:7480/perfgraph.html"


def test_broken_guide_files_are_one_line_errors(tmp_path):
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "01-a.cypher").write_text("// perfgraph: a\nRETURN 1;\n")
    (tmp_path / "perfgraph.html").write_text("<slide>{{ nope }}</slide>")
    with pytest.raises(bg.GuideError, match="names a query 'nope'"):
        bg.GuideServer(port=0, directory=tmp_path)


# -- the queries on Neo4j ----------------------------------------------------------------------------------
CHIPS = ("h100-sxm", "tpu-v4")


@pytest.fixture(scope="module")
def mapped(neo4j_conn):
    """resnet18 under an id of its own (nothing else touches it), mapped onto two chips."""
    from perfgraph.analysis import analyze_graph
    from perfgraph.engine.model_mapping import map_model
    from perfgraph.engine.overlay import write_overlay
    from perfgraph.hardware.spec import get
    from perfgraph.store.neo4j_store import Neo4jStore

    mg = analyze_graph("resnet18")
    old = mg.info.id
    mg.info.id = mg.info.name = "guide-test:" + old
    for item in list(mg.ops) + list(mg.subgraphs):
        item.uid = mg.info.id + item.uid[len(old):]
        item.model_id = mg.info.id
    user, password = neo4j_conn.auth if neo4j_conn.auth else (None, None)
    store = Neo4jStore(neo4j_conn.uri, user, password)
    store.ingest(mg, replace=True)
    mappings = {}
    for chip in CHIPS:
        hw = get(chip)
        mappings[chip] = map_model(mg, hw, "fp32")
        write_overlay(store, mappings[chip], hw)
    yield store, mg, mappings
    store.delete_model(mg.info.id)
    store.close()


def test_every_saved_query_runs_and_agrees_with_the_model(mapped):
    store, mg, mappings = mapped
    qs = {name: bg.strip_comments(text).rstrip(";") for name, text in bg.queries().items()}
    rows = {name: store.run_cypher(q, model=mg.info.id) for name, q in qs.items()}
    assert set(rows) == {"models", "stages", "kernel-graph", "critical-path", "critical-path-graph",
                         "chips-compared", "memory-bound-kernels"}
    ours = [r for r in rows["models"] if r["model"] == mg.info.id]
    assert len(ours) == 1 and ours[0]["kernels"] == len(mg.subgraphs) and ours[0]["stages"] == mg.info.depth
    stage_of = {sg.index: sg.stage for sg in mg.subgraphs}
    assert [r["stage"] for r in rows["stages"]] == list(range(mg.info.depth))
    assert {i: r["stage"] for r in rows["stages"] for i in r["kernel_indices"]} == stage_of
    assert len(rows["kernel-graph"]) == len(mg.subgraph_edges) + sum(
        1 for sg in mg.subgraphs if not any(s == sg.index for s, _, _ in mg.subgraph_edges))
    cp = [sg.index for sg in sorted(mg.subgraphs, key=lambda s: s.stage) if sg.on_critical_path]
    assert [r["kernel"] for r in rows["critical-path"]] == cp
    assert len(rows["critical-path-graph"]) == len(cp) - 1
    chips = {r["chip"]: r for r in rows["chips-compared"]}
    assert set(chips) == set(CHIPS)
    for chip, mm in mappings.items():
        assert chips[chip]["latency_us"] == pytest.approx(mm.latency_sequential_s * 1e6, abs=0.06)
        assert chips[chip]["memory_bound_kernels"] == mm.bound_counts.get("memory", 0)
        mem = sorted(k.subgraph_index for k in mm.kernels if k.bound == "memory")
        assert sorted(r["kernel"] for r in rows["memory-bound-kernels"] if r["chip"] == chip) == mem
