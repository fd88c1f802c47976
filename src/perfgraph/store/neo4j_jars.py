"""The Neo4j server jars: where they are found, and ``perfgraph neo4j install``, which fetches them.

The versions are pinned in ``store/data/pom.xml``, shipped inside the package, so an installed wheel needs
no checkout. The jars are looked for in this order, and the first directory holding the pinned
``neo4j-<version>.jar`` and ``neo4j-server-<version>.jar`` wins:

1. an explicit directory (``--lib``, or ``$PERFGRAPH_NEO4J_LIB``); nothing else is looked at then;
2. ``<server home>/lib`` (``perfgraph neo4j install --home DIR`` puts them there), then
   ``$PERFGRAPH_HOME/neo4j/lib`` (default ``~/.perfgraph/neo4j/lib``), where ``perfgraph neo4j install``
   puts them;
3. ``<checkout>/neo4j/lib`` when perfgraph runs from a source checkout (``scripts/fetch-neo4j`` fills it).

Fetching runs ``mvn dependency:copy-dependencies`` on a copy of the pom (so nothing is written next to the
package) and moves the APOC jars to ``<lib>/plugins``. It needs Java 17+ and Maven 3; Maven's own cache
(``~/.m2``) makes a second install a local copy. Standard library only, no torch.
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from perfgraph.home import perfgraph_home

__all__ = [
    "Neo4jServerError",
    "NEO4J_SERIES",
    "POM",
    "InstallResult",
    "pinned_version",
    "checkout_root",
    "default_lib",
    "candidate_dirs",
    "find_lib",
    "jars_present",
    "apoc_jars",
    "find_java",
    "ensure_jars",
    "install",
]

NEO4J_SERIES = "5.26"
POM = Path(__file__).resolve().parent / "data" / "pom.xml"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_LOCK_FILE = ".install.lock"


class Neo4jServerError(RuntimeError):
    """A one-line, user-facing error. ``log_tail`` (if any) holds the server log's last lines."""

    def __init__(self, message: str, log_tail: str | None = None):
        super().__init__(message)
        self.log_tail = log_tail

    def detail(self) -> str:
        msg = str(self)
        return f"{msg}\n--- server log (tail) ---\n{self.log_tail}" if self.log_tail else msg


@dataclass
class InstallResult:
    lib: Path
    version: str
    jars: int
    plugin_jars: int
    fetched: bool  # False: the jars were there already
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lib": str(self.lib)}

    def summary(self) -> str:
        what = f"fetched in {self.seconds:.1f}s" if self.fetched else "already installed"
        return (f"Neo4j {self.version}: {self.jars} jars and {self.plugin_jars} plugin jars in {self.lib} "
                f"({what})")


# --------------------------------------------------------------------------- where


def pinned_version() -> str | None:
    """The Neo4j version pinned in the packaged pom (None if the pom cannot be read)."""
    try:
        m = re.search(r"<neo4j\.version>([^<]+)</neo4j\.version>", POM.read_text(encoding="utf-8"))
    except OSError:
        return None
    return m.group(1).strip() if m else None


def checkout_root() -> Path | None:
    """The source checkout perfgraph runs from (``<root>/src/perfgraph`` is this package), else None."""
    root = _PACKAGE_DIR.parents[1]
    if (root / "pyproject.toml").is_file() and (root / "src" / "perfgraph").resolve() == _PACKAGE_DIR:
        return root
    return None


def default_lib() -> Path:
    """Where ``perfgraph neo4j install`` puts the jars: ``$PERFGRAPH_HOME/neo4j/lib``."""
    return (perfgraph_home() / "neo4j" / "lib").resolve()


def _explicit_lib(lib: Path | str | None) -> Path | None:
    chosen = lib or os.environ.get("PERFGRAPH_NEO4J_LIB")
    return Path(chosen).expanduser().resolve() if chosen else None


def candidate_dirs(home: Path | str | None = None, lib: Path | str | None = None) -> list[Path]:
    """The directories looked at, in order (see the module docstring)."""
    explicit = _explicit_lib(lib)
    if explicit is not None:
        return [explicit]
    dirs = [Path(home).expanduser().resolve() / "lib"] if home else []
    dirs.append(default_lib())
    root = checkout_root()
    if root is not None:
        dirs.append(root / "neo4j" / "lib")
    return list(dict.fromkeys(dirs))


def jars_present(lib: Path) -> bool:
    ver = pinned_version()
    if ver:  # exactly the pinned version (a stale lib after a version bump is fetched again)
        return (lib / f"neo4j-{ver}.jar").is_file() and (lib / f"neo4j-server-{ver}.jar").is_file()
    return any(lib.glob(f"neo4j-{NEO4J_SERIES}.*.jar")) and any(lib.glob(f"neo4j-server-{NEO4J_SERIES}.*.jar"))


def find_lib(home: Path | str | None = None, lib: Path | str | None = None) -> Path | None:
    """The first candidate directory holding the pinned jars, else None."""
    return next((d for d in candidate_dirs(home, lib) if jars_present(d)), None)


def apoc_jars(lib: Path) -> list[Path]:
    """APOC jars (apoc-core + apoc-common) in <lib>/plugins, or loose in <lib>."""
    return sorted((lib / "plugins").glob("apoc-*.jar")) or sorted(lib.glob("apoc-*.jar"))


def _how_to_install() -> str:
    root = checkout_root()
    also = f" (or bash {root / 'scripts' / 'fetch-neo4j'} in this checkout)" if root else ""
    return f"run `perfgraph neo4j install`{also}; it needs Java 17+ and Maven"


def _looked_in(home: Path | str | None, lib: Path | str | None) -> str:
    return ", ".join(str(d) for d in candidate_dirs(home, lib))


def ensure_jars(fetch: bool = True, home: Path | str | None = None, lib: Path | str | None = None) -> Path:
    """The jar directory; without one, fetch the jars (``fetch=True``: into the explicit directory, else the
    checkout's ``neo4j/lib``, else ``$PERFGRAPH_HOME/neo4j/lib``) or fail with what to run."""
    found = find_lib(home, lib)
    if found is not None:
        return found
    ver = pinned_version() or NEO4J_SERIES
    looked = _looked_in(home, lib)
    if not fetch:
        raise Neo4jServerError(f"Neo4j {ver} jars not found in {looked}; {_how_to_install()}")
    root = checkout_root()
    target = _explicit_lib(lib) or (root / "neo4j" / "lib" if root else default_lib())
    try:
        _require_tools()
    except Neo4jServerError as exc:
        raise Neo4jServerError(f"Neo4j {ver} jars not found in {looked} and {exc}") from None
    print(f"perfgraph: fetching Neo4j {ver} jars into {target} (one-off) ...", file=sys.stderr)
    return install(target).lib


# --------------------------------------------------------------------------- tools


def find_java() -> str:
    """Path of a Java 17+ ``java`` ($JAVA_HOME/bin/java first, then PATH)."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    for java in candidates:
        if not (os.path.isfile(java) and os.access(java, os.X_OK)):
            continue
        try:
            out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
        if not m:
            continue
        major = int(m.group(1))
        if major == 1 and m.group(2):  # "1.8.0_x"
            major = int(m.group(2))
        if major < 17:
            raise Neo4jServerError(
                f"{java} is Java {major}; Neo4j {NEO4J_SERIES} needs Java 17 or 21 (set JAVA_HOME)"
            )
        return java
    raise Neo4jServerError(
        f"java not found (JAVA_HOME / PATH); Neo4j {NEO4J_SERIES} needs a Java 17 or 21 runtime "
        "(e.g. apt-get install openjdk-17-jre-headless)"
    )


def _require_tools() -> str:
    """``mvn``'s path, after checking that Maven and a Java 17+ runtime are there."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jServerError("Maven (mvn) is not on PATH; install Maven 3 (e.g. apt-get install maven) "
                               "and run `perfgraph neo4j install`")
    find_java()
    return mvn


# --------------------------------------------------------------------------- install


def _jar_counts(lib: Path) -> tuple[int, int]:
    return len(list(lib.glob("*.jar"))), len(list((lib / "plugins").glob("*.jar")))


def _move_apoc_to_plugins(lib: Path) -> None:
    loose = sorted(lib.glob("apoc-*.jar"))
    if loose:
        (lib / "plugins").mkdir(exist_ok=True)
        for jar in loose:
            jar.replace(lib / "plugins" / jar.name)


def _remove_old_jars(lib: Path) -> None:
    """Other versions would end up on the classpath next to the new ones."""
    for jar in [*lib.glob("*.jar"), *(lib / "plugins").glob("apoc-*.jar")]:
        jar.unlink()


def _run_maven(mvn: str, lib: Path, progress: Callable[[int], None] | None) -> None:
    """``dependency:copy-dependencies`` into ``lib``; ``progress`` gets the number of files downloaded.
    Maven's whole output goes to ``<lib>/maven.log``."""
    tail: collections.deque[str] = collections.deque(maxlen=40)
    downloaded = 0
    log_path = lib / "maven.log"
    with tempfile.TemporaryDirectory(prefix="perfgraph-mvn-") as tmp, open(log_path, "w") as log:
        pom = Path(tmp) / "pom.xml"  # Maven may write target/ beside the pom: never inside the package
        shutil.copyfile(POM, pom)
        cmd = [mvn, "-B", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
               f"-DoutputDirectory={lib}"]
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              text=True, errors="replace", cwd=tmp) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = re.sub(r"\x1b\[[0-9;]*m", "", line.rstrip())
                log.write(line + "\n")
                tail.append(line)
                if line.startswith("[INFO] Downloaded from"):
                    downloaded += 1
                    if progress:
                        progress(downloaded)
        rc = proc.returncode
    if rc != 0:
        errors = [ln for ln in tail if ln.startswith("[ERROR]")]
        reason = errors[0][len("[ERROR] "):] if errors else f"exit code {rc}"
        raise Neo4jServerError(f"Maven failed to fetch the Neo4j jars (is Maven Central reachable?): {reason[:300]} "
                               f"(Maven's output: {log_path})", log_tail="\n".join(tail))


def install(lib: Path | str, force: bool = False,
            progress: Callable[[int], None] | None = None) -> InstallResult:
    """Fetch the pinned jars into ``lib`` (``<lib>/plugins`` for APOC) unless they are there (``force``: again).

    Idempotent, and safe to run twice at once (a lock file in ``lib``)."""
    lib = Path(lib).expanduser().resolve()
    ver = pinned_version()
    if ver is None:
        raise Neo4jServerError(f"cannot read the Neo4j version from {POM} (a broken perfgraph install?)")
    t0 = time.monotonic()
    if not force and jars_present(lib):
        _move_apoc_to_plugins(lib)  # a lib fetched by hand with plain `mvn dependency:copy-dependencies`
        return InstallResult(lib, ver, *_jar_counts(lib), fetched=False, seconds=0.0)
    mvn = _require_tools()
    try:
        lib.mkdir(parents=True, exist_ok=True)
        lock = open(lib / _LOCK_FILE, "w")
    except OSError as exc:
        raise Neo4jServerError(f"cannot write the Neo4j jars to {lib}: {exc.strerror or exc}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fetched = force or not jars_present(lib)  # another install may have finished while we waited
        if fetched:
            _remove_old_jars(lib)
            _run_maven(mvn, lib, progress)
        _move_apoc_to_plugins(lib)
    if not jars_present(lib):
        raise Neo4jServerError(f"Maven finished but no neo4j-{ver}.jar / neo4j-server-{ver}.jar in {lib}")
    return InstallResult(lib, ver, *_jar_counts(lib), fetched=fetched, seconds=round(time.monotonic() - t0, 1))


def main(argv: list[str] | None = None) -> int:
    """``python -m perfgraph.store.neo4j_jars --lib DIR [--force]`` (what scripts/fetch-neo4j runs)."""
    ap = argparse.ArgumentParser(prog="python -m perfgraph.store.neo4j_jars",
                                 description="Fetch the pinned Neo4j server jars from Maven Central.")
    ap.add_argument("--lib", type=Path, default=None, help="target directory (default: $PERFGRAPH_HOME/neo4j/lib)")
    ap.add_argument("--force", action="store_true", help="fetch again even if the jars are there")
    args = ap.parse_args(argv)
    try:
        result = install(args.lib or default_lib(), force=args.force)
    except Neo4jServerError as exc:
        if exc.log_tail:
            print(exc.log_tail, file=sys.stderr)
        print(f"fetch-neo4j: {exc}", file=sys.stderr)
        return 1
    print(f"fetch-neo4j: {result.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
