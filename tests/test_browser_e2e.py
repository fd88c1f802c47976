"""End to end in headless Chromium: the Neo4j Browser served by the test server, connected through its own
connect form, opens perfgraph's guide and runs its stages and critical-path queries on an ingested model.

Needs Debian's `chromium` and `chromium-driver` (scripts/test installs them) and selenium (the `test`
extra). On failure, screenshots and page sources are kept in the test's tmp dir (the path is in the
failure message).
"""

from __future__ import annotations

import pytest

from neo4j_browser import NeoBrowser, make_driver
from perfgraph.store.browser_guide import GuideServer

pytestmark = pytest.mark.neo4j

MODEL = "resnet18"


@pytest.fixture(scope="module")
def ingested(neo4j_conn):
    from perfgraph.analysis import analyze_graph
    from perfgraph.store.neo4j_store import Neo4jStore

    mg = analyze_graph(MODEL)
    user, password = neo4j_conn.auth if neo4j_conn.auth else (None, None)
    with Neo4jStore(neo4j_conn.uri, user, password) as store:
        store.ingest(mg)  # no replace: other tests' overlays on the same model stay
    return mg


@pytest.fixture
def browser(neo4j_conn, tmp_path):
    assert neo4j_conn.browser_url, "the neo4j fixture gave no Browser URL"
    driver = make_driver()
    b = NeoBrowser(driver, neo4j_conn.browser_url, tmp_path / "screenshots")
    yield b
    driver.quit()


def test_browser_runs_the_guides_stage_and_critical_path_queries(neo4j_conn, ingested, browser):
    mg = ingested
    b = browser
    cp = [sg.index for sg in sorted(mg.subgraphs, key=lambda s: s.stage) if sg.on_critical_path]
    step = "open"
    try:
        with GuideServer(port=0) as guide:
            b.open()
            step = "connect"
            user, password = neo4j_conn.auth if neo4j_conn.auth else (None, None)
            b.connect(neo4j_conn.uri, user, password)
            step = "param"
            b.type_command(f":param model => '{mg.info.id}'")
            b.wait.until(lambda d: "Successfully set your parameters" in b.frames()[0].text, "the :param failed")
            step = "guide"
            b.open_guide(guide.url)
            b.guide_slide("Stages")
            b.click_runnable("s.stage AS stage")
            b.run_editor()
            step = "stages result"
            frame = b.latest_result(mg.info.id)
            text = frame.text
            assert f"Started streaming {mg.info.depth} records" in text, text[-300:]
            widest = max(range(mg.info.depth), key=lambda s: sum(1 for sg in mg.subgraphs if sg.stage == s))
            members = sorted(sg.index for sg in mg.subgraphs if sg.stage == widest)
            assert f'"{mg.info.id}" {widest} {len(members)} {members}' in " ".join(text.split()), text[:600]
            b.screenshot("stages")
            step = "critical path"
            b.guide_slide("Critical path")
            b.click_runnable("s.index AS kernel")
            b.run_editor()
            frame = b.latest_result("flop_per_byte")
            assert f"Started streaming {len(cp)} records" in frame.text, frame.text[-300:]
            b.screenshot("critical-path")
    except Exception as exc:
        b.dump(f"failed-at-{step.replace(' ', '-')}")
        raise AssertionError(f"Browser e2e failed at step {step!r} ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}); screenshots in {b.shots}") from exc


def test_browser_rejects_a_wrong_password_without_showing_it(neo4j_conn, browser):
    if not neo4j_conn.auth:
        pytest.skip("this Neo4j runs without authentication")  # only with NEO4J_URI pointing at one
    b = browser
    wrong = "not-the-password-4711"
    b.open()
    from selenium.webdriver.support.ui import Select

    scheme, _, hostport = neo4j_conn.uri.partition("://")
    select = b.css("[data-testid=bolt-scheme-select]")
    if select:
        Select(select[0]).select_by_visible_text(f"{scheme}://")
        b.set_input(b.until_css("[data-testid=boltaddress]"), hostport)
    b.set_input(b.until_css("[data-testid=username]"), neo4j_conn.auth[0])
    b.set_input(b.until_css("[data-testid=password]"), wrong)
    b.until_css("[data-testid=connect]", clickable=True).click()
    try:
        b.wait.until(lambda d: "unauthorized" in d.page_source.lower() or "authentication failure" in
                     d.page_source.lower(), "no authentication error shown")
    except Exception:
        b.dump("wrong-password")
        raise
    assert wrong not in " ".join(f.text for f in b.frames())
    assert b.css("[data-testid=connect]"), "the connect form went away: connected with a wrong password?"


def test_saved_queries_import_as_favorites(neo4j_conn, browser):
    from perfgraph.store import browser_guide as bg

    b = browser
    try:
        b.open()
        user, password = neo4j_conn.auth if neo4j_conn.auth else (None, None)
        b.connect(neo4j_conn.uri, user, password)
        b.drop_file(bg.ZIP_NAME, bg.favorites_zip())
        titles = b.saved_scripts("perfgraph")
    except Exception:
        b.dump("favorites")
        raise
    expected = sorted(p.read_text().splitlines()[0].removeprefix("// ") for p in bg.query_files())
    assert sorted(titles) == expected
