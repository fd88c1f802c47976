"""Load the named Cypher files shipped in `queries/cypher/`. Each file starts with `//` comment lines that
describe what it does and its parameters; `describe()` returns that header for `perfgraph query --list`."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load(name: str) -> str:
    """The text of NAME.cypher (one statement; a trailing semicolon is dropped)."""
    try:
        text = resources.files("perfgraph.queries").joinpath("cypher", f"{name}.cypher").read_text()
    except FileNotFoundError:
        raise KeyError(f"no Cypher query named {name!r}") from None
    return text.strip().rstrip(";")


def statements(name: str) -> list[str]:
    """The statements of a multi-statement file (schema), split on semicolons at line ends."""
    body = "\n".join(ln for ln in load(name).splitlines() if not ln.lstrip().startswith("//"))
    return [s.strip() for s in body.split(";\n") if s.strip()]


@lru_cache(maxsize=None)
def unrolled(name: str, times: int) -> str:
    """NAME.cypher with its `// BEGIN ROUND` ... `// END ROUND` block repeated `times` times (a constant
    chosen by the caller; no user text is ever formatted into Cypher)."""
    text = load(name)
    head, _, rest = text.partition("// BEGIN ROUND")
    block, _, tail = rest.partition("// END ROUND")
    if not block:
        raise KeyError(f"{name}.cypher has no ROUND block")
    return head + block * int(times) + tail


def describe(name: str) -> str:
    lines = []
    for ln in load(name).splitlines():
        if not ln.startswith("//"):
            break
        lines.append(ln[2:].strip())
    return " ".join(lines)
