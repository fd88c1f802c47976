"""perfgraph's import graph, read from the source with the standard library (ast): no module is imported.

    python3 scripts/import_graph.py            # module -> the perfgraph modules it imports (top level / lazy)
    python3 scripts/import_graph.py --cycles   # cycles among top-level imports
    python3 scripts/import_graph.py --torch    # modules that import torch, torchvision or transformers

`tests/test_layers.py` checks the layer rules of the README's architecture section with these functions.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "torchvision", "transformers")


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(mod: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".")
    is_pkg = False  # a module's relative import is against its package
    base = base[: len(base) - node.level + (1 if is_pkg else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(src: Path = SRC) -> dict[str, list[tuple[str, bool]]]:
    """module -> [(imported module, at top level?)] for every module under `src/perfgraph`.

    `from a import b` counts as importing `a.b` when that is a module, else `a`.  Imports under
    `if TYPE_CHECKING:` are not counted (they never run)."""
    files = sorted((src / "perfgraph").rglob("*.py"))
    known = {module_name(f, src) for f in files}
    out: dict[str, list[tuple[str, bool]]] = {}
    for f in files:
        mod = module_name(f, src)
        tree = ast.parse(f.read_text(encoding="utf-8"))
        found: list[tuple[str, bool]] = []

        def visit(node: ast.AST, top: bool) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                if isinstance(child, ast.Import):
                    found.extend((a.name, top) for a in child.names)
                elif isinstance(child, ast.ImportFrom):
                    base = _resolve(mod, child)
                    for a in child.names:
                        sub = f"{base}.{a.name}"
                        found.append((sub if sub in known else base, top))
                inner_top = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                visit(child, inner_top)

        visit(tree, True)
        out[mod] = found
    return out


def perfgraph_edges(graph: dict[str, list[tuple[str, bool]]], top_only: bool = True) -> dict[str, set[str]]:
    """module -> perfgraph modules it imports (at top level only, by default), packages resolved to
    their `__init__` module name."""
    known = set(graph)
    edges: dict[str, set[str]] = {m: set() for m in graph}
    for mod, found in graph.items():
        for target, top in found:
            if top_only and not top:
                continue
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("perfgraph") and target != mod and target in known:
                edges[mod].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return sorted(out)


def heavy_importers(graph: dict[str, list[tuple[str, bool]]]) -> dict[str, bool]:
    """module -> True when it imports torch/torchvision/transformers at top level, False when only lazily."""
    out: dict[str, bool] = {}
    for mod, found in graph.items():
        hits = [top for target, top in found if target.split(".")[0] in HEAVY]
        if hits:
            out[mod] = any(hits)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", action="store_true", help="print the cycles among top-level imports")
    ap.add_argument("--torch", action="store_true", help="print the modules that import torch and friends")
    args = ap.parse_args()
    graph = imports()
    if args.cycles:
        for c in cycles(perfgraph_edges(graph)):
            print(" <-> ".join(c))
    elif args.torch:
        for mod, top in sorted(heavy_importers(graph).items()):
            print(f"{mod}: {'top level' if top else 'lazy (inside functions)'}")
    else:
        top = perfgraph_edges(graph)
        lazy = perfgraph_edges(graph, top_only=False)
        for mod in sorted(graph):
            later = sorted(lazy[mod] - top[mod])
            print(f"{mod} -> {', '.join(sorted(top[mod])) or '-'}" + (f"  (lazy: {', '.join(later)})" if later else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
