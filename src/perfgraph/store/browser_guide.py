"""perfgraph's Neo4j Browser guide and saved queries, and the small HTTP server that hands them to the Browser.

What Neo4j 5.26's Browser supports (Browser 5.x, also the 5.24 build on Maven Central that the local server
uses): `:guide <url>` (sidebar) and `:play <url>` (a frame) fetch an HTML page whose `<slide>` elements
become the guide's pages and whose `<pre class="runnable">` blocks go into the editor when clicked
(Markdown, `.md`, works too). The Browser fetches the URL itself (XHR, with no-cache headers, so the server
must answer a CORS preflight) and only from hosts in the server setting
`browser.remote_content_hostname_whitelist` (that is its name in 5.26; default `guides.neo4j.com,localhost`).
The Neo4j server cannot serve extra static files next to the Browser, so the guide is served from
`http://localhost:<port>/perfgraph.html` by this module: allowed by the default list, no configuration
needed, nothing leaves the machine. `browser.post_connect_cmd=guide <url>` opens it right after connecting.
Saved scripts ("favorites") are the other mechanism: a `.zip` of `.cypher` files dropped onto the Favorites
drawer; `/perfgraph-queries.zip` serves one, built from the same files.

Files (package data, `perfgraph/store/data/browser/`): `perfgraph.html` (the guide; `{{ NAME }}` placeholders
take the Cypher of `queries/NN-NAME.cypher`, `{{ base_url }}` this server's URL), the queries, and
`perfgraph.grass` (node colours and captions; `:style <url>` loads it). Override the directory with
`$PERFGRAPH_BROWSER_DIR`.

Run it: `perfgraph neo4j start` starts it beside the local server (pid in `<home>/run/guide.pid`) and
`perfgraph neo4j stop` stops it; `perfgraph neo4j guide` serves it in the foreground for any other Neo4j
(e.g. the docker-compose one). In tests, `GuideServer` runs it in a thread.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from perfgraph.store import neo4j_server
from perfgraph.store.server_bolt import port_open

HOST = "127.0.0.1"  # listen on loopback only
URL_HOST = "localhost"  # the Browser's default allowlist has "localhost", not "127.0.0.1"
DEFAULT_PORT = 7480
GUIDE_FILE = "perfgraph.html"
ZIP_NAME = "perfgraph-queries.zip"
GRASS_FILE = "perfgraph.grass"  # the Browser's graph style: `:style http://localhost:7480/perfgraph.grass`
_PACKAGED_DIR = Path(__file__).resolve().parent / "data" / "browser"
_PID_FILE = "run/guide.pid"
_STATE_FILE = "guide.json"  # kept across restarts: the port the server's post_connect_cmd points at
_LOG_FILE = "logs/guide.log"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}")
_CHILDREN: dict[int, subprocess.Popen] = {}  # started by this process: reaped on stop


class GuideError(RuntimeError):
    """A one-line, user-facing error about the guide files or server."""


def browser_dir() -> Path:
    env = os.environ.get("PERFGRAPH_BROWSER_DIR")
    return Path(env).expanduser().resolve() if env else _PACKAGED_DIR


def guide_url(port: int, host: str = URL_HOST) -> str:
    return f"http://{host}:{port}/{GUIDE_FILE}"


def browser_settings(port: int) -> dict[str, str]:
    """neo4j.conf settings: allow the guide's host and open the guide after connecting."""
    return {
        "browser.remote_content_hostname_whitelist": "guides.neo4j.com,localhost,127.0.0.1",
        "browser.post_connect_cmd": f"guide {guide_url(port)}",
    }


# ------------------------------------------------------------------------------------------------ content
def query_files(directory: Path | None = None) -> list[Path]:
    d = (directory or browser_dir()) / "queries"
    files = sorted(d.glob("*.cypher"))
    if not files:
        raise GuideError(f"no saved queries in {d}")
    return files


def query_name(path: Path) -> str:
    """`04-critical-path.cypher` -> `critical-path`."""
    return re.sub(r"^\d+-", "", path.stem)


def queries(directory: Path | None = None) -> dict[str, str]:
    """name -> Cypher text (comments included: the Browser names a saved script by its first comment)."""
    return {query_name(p): p.read_text(encoding="utf-8").strip() for p in query_files(directory)}


def strip_comments(cypher: str) -> str:
    return "\n".join(ln for ln in cypher.splitlines() if not ln.lstrip().startswith("//")).strip()


def render_guide(base_url: str, directory: Path | None = None) -> str:
    """The guide with every `{{ NAME }}` replaced by that query (HTML-escaped, comments dropped)."""
    d = directory or browser_dir()
    try:
        text = (d / GUIDE_FILE).read_text(encoding="utf-8")
    except OSError as exc:
        raise GuideError(f"cannot read the guide {d / GUIDE_FILE}: {exc.strerror or exc}") from None
    qs = queries(d)

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name == "base_url":
            return html.escape(base_url.rstrip("/"))
        if name not in qs:
            raise GuideError(f"{d / GUIDE_FILE} names a query {name!r} that {d / 'queries'} does not have")
        return html.escape(strip_comments(qs[name]).rstrip(";"))

    return _PLACEHOLDER.sub(sub, text)


def favorites_zip(directory: Path | None = None) -> bytes:
    """A zip of the .cypher files in a `perfgraph/` folder, as the Browser's Favorites drawer imports it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in query_files(directory):
            z.writestr(f"perfgraph/{p.name}", p.read_text(encoding="utf-8"))
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ server
class _Handler(BaseHTTPRequestHandler):
    directory: Path = Path(".")
    server_version = "perfgraph-guide"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet; errors still go to stderr
        if os.environ.get("PERFGRAPH_GUIDE_LOG"):
            super().log_message(fmt, *args)

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Cache-Control", "no-cache")

    def do_OPTIONS(self) -> None:  # the Browser's fetch sends no-cache headers: a CORS preflight
        self.send_response(204)
        self._cors()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        host = self.headers.get("Host") or f"{URL_HOST}:{self.server.server_address[1]}"
        try:
            if path in ("/", ""):
                self.send_response(302)
                self.send_header("Location", f"/{GUIDE_FILE}")
                self._cors()
                self.end_headers()
                return
            if path == f"/{GUIDE_FILE}":
                body, ctype = render_guide(f"http://{host}", self.directory).encode(), "text/html; charset=utf-8"
            elif path == f"/{GRASS_FILE}":
                body, ctype = (self.directory / GRASS_FILE).read_bytes(), "text/plain; charset=utf-8"
            elif path == f"/{ZIP_NAME}":
                body, ctype = favorites_zip(self.directory), "application/zip"
            elif path.startswith("/queries/") and path.endswith(".cypher") and "/" not in path[len("/queries/"):]:
                f = self.directory / "queries" / path[len("/queries/"):]
                if not f.is_file():
                    raise FileNotFoundError(path)
                body, ctype = f.read_bytes(), "text/plain; charset=utf-8"
            else:
                raise FileNotFoundError(path)
        except FileNotFoundError:
            self.send_error(404, "not found")
            return
        except GuideError as exc:
            self.send_error(500, str(exc))
            return
        self.send_response(200)
        self._cors()
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _make_server(port: int, directory: Path) -> ThreadingHTTPServer:
    render_guide("http://check", directory)  # fail now, not on the first request, if the files are broken
    handler = type("GuideHandler", (_Handler,), {"directory": directory})
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise GuideError(f"cannot serve the Browser guide on {HOST}:{port}: {exc.strerror or exc}") from None


class GuideServer:
    """The guide server in a background thread (tests, notebooks): `with GuideServer() as g: g.url`."""

    def __init__(self, port: int = 0, directory: Path | None = None):
        self.httpd = _make_server(port, directory or browser_dir())
        self.port = self.httpd.server_address[1]
        self.url = guide_url(self.port)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="perfgraph-guide", daemon=True)

    def start(self) -> "GuideServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "GuideServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve_forever(port: int = DEFAULT_PORT, directory: Path | None = None, announce: bool = True) -> None:
    httpd = _make_server(port, directory or browser_dir())
    if announce:
        print(f"serving the perfgraph Browser guide: :guide {guide_url(httpd.server_address[1])}", flush=True)

    def on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


# ------------------------------------------------------------------------------------------------ beside a local server

def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def running(home: Path) -> dict[str, Any] | None:
    """{"pid", "port", "url"} of the guide server started for `home`, if it runs."""
    try:
        pid = int((home / _PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") if Path("/proc").exists() else ""
        os.kill(pid, 0)
    except (OSError, ProcessLookupError):
        return None
    if cmd and "perfgraph.store.browser_guide" not in cmd:
        return None  # the pid was reused by something else
    port = int(_read_json(home / _STATE_FILE).get("port", 0))
    return {"pid": pid, "port": port, "url": guide_url(port)}


def pick_port(home: Path, preferred: int | None = None) -> int:
    """The port to use for `home`: the one used before (the server's post_connect_cmd points at it),
    else `preferred` (default 7480), else any free port. 0 means any free port."""
    st = running(home)
    if st:
        return st["port"]
    remembered = int(_read_json(home / _STATE_FILE).get("port", 0))
    for port in (remembered, preferred if preferred is not None else DEFAULT_PORT):
        if port and neo4j_server.port_free(port):
            return port
    return neo4j_server.free_port()


def start_background(home: Path, port: int, wait_s: float = 15.0) -> dict[str, Any]:
    """Start the guide server for `home` as a detached process (no-op when it already runs)."""
    home = Path(home)
    st = running(home)
    if st:
        return {**st, "already_running": True}
    directory = browser_dir()
    render_guide("http://check", directory)
    (home / "run").mkdir(parents=True, exist_ok=True)
    (home / "logs").mkdir(parents=True, exist_ok=True)
    with open(home / _LOG_FILE, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "perfgraph.store.browser_guide", "--port", str(port), "--dir", str(directory),
             "--quiet"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    (home / _PID_FILE).write_text(f"{proc.pid}\n")
    (home / _STATE_FILE).write_text(json.dumps({"port": port}) + "\n")
    deadline = time.monotonic() + wait_s
    while not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            (home / _PID_FILE).unlink(missing_ok=True)
            tail = (home / _LOG_FILE).read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise GuideError(f"the Browser guide server did not start on {HOST}:{port}: {tail[0]}")
        time.sleep(0.1)
    return {"pid": proc.pid, "port": port, "url": guide_url(port), "already_running": False}


def stop_background(home: Path) -> bool:
    """Stop the guide server of `home`; True if one was running."""
    home = Path(home)
    st = running(home)
    (home / _PID_FILE).unlink(missing_ok=True)
    if not st:
        return False
    try:
        os.kill(st["pid"], signal.SIGTERM)
    except ProcessLookupError:
        return False
    child = _CHILDREN.pop(st["pid"], None)
    if child is not None:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
        return True
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(st["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    return True


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m perfgraph.store.browser_guide",
                                 description="Serve perfgraph's Neo4j Browser guide on 127.0.0.1.")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--dir", type=Path, default=None, help="guide directory (default: the packaged one)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    serve_forever(args.port, args.dir, announce=not args.quiet)


if __name__ == "__main__":
    main()
