"""Drive the Neo4j Browser in headless Chromium (Debian's `chromium` + `chromium-driver`, via selenium).

Used by tests/test_browser_e2e.py and docs/make_images.py. No browser is ever downloaded: the binaries
come from the system (`scripts/test` installs them with apt-get when missing), or from
$PERFGRAPH_CHROMIUM / $PERFGRAPH_CHROMEDRIVER.

Every wait is explicit (WebDriverWait on a condition) with generous timeouts: the Browser is a large
single-page app and the machines that run the tests are often busy.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

WAIT_S = float(os.environ.get("PERFGRAPH_BROWSER_WAIT_S", "90"))


def find_binaries() -> tuple[str, str]:
    """(chromium, chromedriver) paths, or a RuntimeError saying how to install them."""
    chromium = os.environ.get("PERFGRAPH_CHROMIUM") or next(
        (p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
         if p and os.path.exists(p)), None)
    driver = os.environ.get("PERFGRAPH_CHROMEDRIVER") or next(
        (p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
         if p and os.path.exists(p)), None)
    if not chromium or not driver:
        raise RuntimeError("headless Chromium not found: apt-get install -y chromium chromium-driver "
                           "(scripts/test does this), or set PERFGRAPH_CHROMIUM and PERFGRAPH_CHROMEDRIVER")
    return chromium, driver


def make_driver(width: int = 1500, height: int = 1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = find_binaries()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--disable-extensions", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(driver), options=opts)
    drv.set_page_load_timeout(WAIT_S)
    return drv


class NeoBrowser:
    """The Neo4j Browser at `browser_url`, driven through its own UI (data-testid selectors)."""

    def __init__(self, driver, browser_url: str, shots: Path | None = None):
        from selenium.webdriver.support.ui import WebDriverWait

        self.d = driver
        self.url = browser_url
        self.shots = shots
        self.wait = WebDriverWait(driver, WAIT_S, poll_frequency=0.25)

    # -- helpers -----------------------------------------------------------------------------------------
    def css(self, selector: str):
        return self.d.find_elements("css selector", selector)

    def until_css(self, selector: str, clickable: bool = False):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC

        cond = EC.element_to_be_clickable if clickable else EC.visibility_of_element_located
        return self.wait.until(cond((By.CSS_SELECTOR, selector)), f"no {selector} within {WAIT_S:.0f}s")

    def set_input(self, el, value: str) -> None:
        """Replace a React-controlled input's value (WebElement.clear() is undone by React)."""
        from selenium.webdriver.common.keys import Keys

        el.click()
        el.send_keys(Keys.CONTROL, "a")
        el.send_keys(Keys.BACKSPACE)
        el.send_keys(value)
        if el.get_attribute("value") != value:  # fall back to the native setter + an input event
            self.d.execute_script(
                "const el = arguments[0], v = arguments[1];"
                "Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, v);"
                "el.dispatchEvent(new Event('input', {bubbles: true}));", el, value)
        assert el.get_attribute("value") == value, (el.get_attribute("value"), value)

    def screenshot(self, name: str) -> Path | None:
        if not self.shots:
            return None
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.d.save_screenshot(str(path))
        return path

    def dump(self, name: str) -> None:
        """Screenshot and page source, for a failed test."""
        if not self.shots:
            return
        self.screenshot(name)
        (self.shots / f"{name}.html").write_text(self.d.page_source, encoding="utf-8")

    # -- the UI ------------------------------------------------------------------------------------------
    def open(self) -> None:
        self.d.get(self.url)
        self.until_css("[data-testid=boltaddress]", clickable=True)

    def connect(self, bolt_uri: str, user: str | None, password: str | None) -> None:
        """Fill the connect form (bolt URL + credentials) and wait for the 'connected' frame."""
        from selenium.webdriver.support.ui import Select

        scheme, _, hostport = bolt_uri.partition("://")
        select = self.css("[data-testid=bolt-scheme-select]")
        addr = self.until_css("[data-testid=boltaddress]", clickable=True)
        if select:  # the scheme (bolt://, neo4j://, ...) is a dropdown beside the host:port field
            Select(select[0]).select_by_visible_text(f"{scheme}://")
            self.set_input(addr, hostport)
        else:
            self.set_input(addr, bolt_uri)
        if user is not None:
            auth = self.css("[data-testid=authenticationMethod]")
            if auth:
                Select(auth[0]).select_by_visible_text("Username / Password")
            self.set_input(self.until_css("[data-testid=username]"), user)
            self.set_input(self.until_css("[data-testid=password]"), password or "")
        self.until_css("[data-testid=connect]", clickable=True).click()
        self.wait.until(lambda d: not self.css("[data-testid=connect]") and self.css("[data-testid=activeEditor]"),
                        "the Browser did not connect")
        self.wait.until(lambda d: any("connected as user" in f.text.lower() or "you are connected" in f.text.lower()
                                      for f in self.css("[data-testid=frame]")),
                        "no 'You are connected' frame")

    def frames(self):
        return self.css("[data-testid=frame]")

    def type_command(self, text: str, frame: bool = True) -> None:
        """Type into the editor and run it (Enter runs a one-line command); wait for its frame."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        editor = self.until_css("[data-testid=activeEditor]", clickable=True)
        editor.click()
        before = len(self.frames())
        ActionChains(self.d).send_keys(text).perform()
        ActionChains(self.d).send_keys(Keys.ENTER).perform()
        if frame:
            self.wait.until(lambda d: len(self.frames()) > before, f"no frame appeared for {text!r}")

    def run_editor(self) -> None:
        before = len(self.frames())
        self.until_css("[data-testid=editor-Run]", clickable=True).click()
        self.wait.until(lambda d: len(self.frames()) > before, "no frame appeared after Run")

    def open_guide(self, url: str) -> None:
        self.type_command(f":guide {url}", frame=False)  # guides open in the sidebar, not in a frame
        self.wait.until(lambda d: any(url in (e.get_attribute("innerHTML") or "") or e.text.strip()
                                      for e in self.css("[data-testid=guidesDrawer] pre.runnable")),
                        f"the guide {url} did not open")

    def click_when_ready(self, element, seconds: float = 10.0) -> None:
        """Click an element that may still be sliding in or covered (the guide drawer animates open):
        retry until it takes the click, for up to `seconds`."""
        from selenium.common.exceptions import ElementClickInterceptedException, ElementNotInteractableException

        deadline = time.monotonic() + seconds
        while True:
            try:
                element.click()
                return
            except (ElementNotInteractableException, ElementClickInterceptedException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def guide_slide(self, title: str) -> None:
        """Page the guide (sidebar) forward until a slide whose heading is `title`."""
        for _ in range(20):
            heads = [h.text.strip() for h in self.css("[data-testid=guidesDrawer] h3")]
            if title in heads:
                return
            nxt = self.css("[data-testid=guideNextSlide]")
            if not nxt:
                break
            self.click_when_ready(nxt[0])
            time.sleep(0.3)
        raise AssertionError(f"no guide slide titled {title!r}")

    def click_runnable(self, contains: str) -> None:
        """Click the guide's runnable block whose text contains `contains` (it goes into the editor)."""
        for pre in self.css("[data-testid=guidesDrawer] pre.runnable"):
            if contains in pre.text:
                self.click_when_ready(pre)
                self.wait.until(lambda d: contains.split()[0] in self.until_css("[data-testid=activeEditor]").text,
                                "the runnable block did not reach the editor")
                return
        raise AssertionError(f"no runnable block with {contains!r} on this slide")

    def drop_file(self, name: str, data: bytes) -> None:
        """Drop a file onto the Browser window, as a user dragging it from the desktop (the Browser imports a
        .zip of .cypher files as saved scripts, a .grass file as the graph style)."""
        import base64

        self.d.execute_script("""
          const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], arguments[1]));
          const target = document.querySelector('.filedrop') || document.body;
          for (const type of ['dragenter', 'dragover', 'drop']) {
            target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
          }""", base64.b64encode(data).decode(), name)

    def saved_scripts(self, folder: str) -> list[str]:
        """Open the Favorites drawer and the folder; the titles of its saved scripts."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC

        if not self.css(f"[data-testid='savedScriptsFolder-{folder}']"):
            self.until_css("[data-testid=navigationFavorites]", clickable=True).click()
        self.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, f"[data-testid='savedScriptsFolder-{folder}']")),
                        f"no saved-scripts folder {folder!r}").click()
        self.wait.until(lambda d: self.css("[data-testid^='scriptTitle-']"), "the folder shows no scripts")
        return [e.text for e in self.css("[data-testid^='scriptTitle-']")]

    def latest_result(self, expect_text: str):
        """The newest frame, once its status bar says it completed and it shows `expect_text`."""
        def done(d):
            frames = self.frames()
            if not frames:
                return False
            top = frames[0]
            text = top.text
            if "error" in text.lower() and "neo." in text.lower():
                raise AssertionError(f"the query failed in the Browser: {text[:400]}")
            return top if ("completed after" in text or "records" in text) and expect_text in text else False

        return self.wait.until(done, f"no result frame showing {expect_text!r}")
