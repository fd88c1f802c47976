"""Regenerate the pictures in docs/img/ with headless Chromium (Debian's chromium + chromium-driver).

    .venv/bin/python docs/make_images.py report                # docs/img/report*.png (no server needed)
    .venv/bin/python docs/make_images.py browser --home DIR    # docs/img/browser-*.png from a running
                                                               # `perfgraph neo4j start --home DIR` server

`browser` expects resnet18 mapped onto a few chips in that server, e.g.
    perfgraph map resnet18 --hardware h100-sxm,tpu-v4,kpu-t256 --uri bolt://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
sys.path.insert(0, str(ROOT / "tests"))

from neo4j_browser import NeoBrowser, find_binaries, make_driver  # noqa: E402


def report_images(model: str, chips: str) -> None:
    import perfgraph
    from perfgraph.report import write_report

    IMG.mkdir(parents=True, exist_ok=True)
    rep = perfgraph.analyze(model, hardware=chips)
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "report.html"
        written = write_report(rep, str(html), tmp)
        for name in ("roofline", "stages"):
            (IMG / f"report-{name}.png").write_bytes(Path(written["images"][name]).read_bytes())
        chromium, _ = find_binaries()
        subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1300,1900", f"--screenshot={IMG / 'report.png'}", html.as_uri()],
                       check=True, capture_output=True, timeout=180)
    print("wrote", *(IMG / n for n in ("report.png", "report-roofline.png", "report-stages.png")))


def browser_images(home: Path, model_id: str) -> None:
    state = json.loads((home / "run" / "server.json").read_text())
    guide = json.loads((home / "guide.json").read_text())
    password = (home / "password").read_text().rstrip("\n")
    IMG.mkdir(parents=True, exist_ok=True)
    driver = make_driver(1800, 1000)
    b = NeoBrowser(driver, f"http://127.0.0.1:{state['http_port']}/browser/", IMG)
    try:
        b.open()
        b.connect(f"bolt://127.0.0.1:{state['bolt_port']}", "neo4j", password)
        b.until_css("[data-testid=guidesDrawer] pre.runnable")  # browser.post_connect_cmd opened the guide
        b.type_command(f":param model => '{model_id}'")
        time.sleep(1)
        b.screenshot("browser-guide")
        b.guide_slide("Stages")
        b.click_runnable("s.stage AS stage")
        b.run_editor()
        b.latest_result(model_id)
        time.sleep(1)
        b.screenshot("browser-stages")
        b.click_runnable(":style")
        b.run_editor()
        b.guide_slide("Critical path")
        b.click_runnable("UNWIND range")
        b.run_editor()
        time.sleep(8)  # let the force layout settle
        b.screenshot("browser-critical-path")
        b.guide_slide("Chips compared")
        b.click_runnable("h.id AS chip")
        b.run_editor()
        b.latest_result(model_id)
        time.sleep(1)
        b.screenshot("browser-chips")
        b.guide_slide("Memory-bound kernels")
        b.click_runnable("bound: 'memory'")
        b.run_editor()
        b.latest_result("memory")
        time.sleep(1)
        b.screenshot("browser-memory-bound")
        from perfgraph.store import browser_guide as bg

        b.drop_file(bg.ZIP_NAME, bg.favorites_zip())
        b.saved_scripts("perfgraph")
        time.sleep(1)
        b.screenshot("browser-favorites")
    except Exception:
        b.dump("browser-failure")
        raise
    finally:
        driver.quit()
    print("wrote", *sorted(IMG.glob("browser-*.png")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("report")
    r.add_argument("--model", default="resnet18")
    r.add_argument("--hardware", default="h100-sxm,tpu-v4,kpu-t256")
    b = sub.add_parser("browser")
    b.add_argument("--home", type=Path, required=True)
    b.add_argument("--model", default="resnet18:b1:3x224x224:fp32")
    args = ap.parse_args()
    if args.what == "report":
        report_images(args.model, args.hardware)
    else:
        browser_images(args.home, args.model)


if __name__ == "__main__":
    main()
