"""The graph cache, as a user waits for it: the whole `perfgraph` process, cold (traced) and warm (a hit).

    .venv/bin/python benchmarks/bench_cache.py [--rounds 5] [--model resnet50] [--hardware h100] [--json out.json]

Each round runs the console script `perfgraph analyze MODEL --hardware CHIP --json` with `--no-cache`
(what every run cost before the cache: import torch, trace, map) and then without it from a warm cache,
under a throw-away PERFGRAPH_HOME, on a snapshot of src/perfgraph (PYTHONPATH) so that edits to the checkout
during the run cannot change the cache key; plus `python -c "import torch"` alone. Rounds interleave the three so
that a noisy, shared host slows them alike; the floor (the fastest round) is the figure to quote, the
median says how noisy the host was. It also checks, with `python -X importtime`, that a warm run imports
no torch. Goal: warm < 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    return elapsed, proc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--hardware", default="h100")
    ap.add_argument("--json")
    args = ap.parse_args()
    script = Path(sys.executable).with_name("perfgraph")
    if not script.exists():
        raise SystemExit(f"no console script at {script}: install perfgraph into this environment")
    command = [str(script), "analyze", args.model, "--hardware", args.hardware, "--json"]
    with tempfile.TemporaryDirectory(prefix="perfgraph-bench-cache-") as tmp:
        home, snapshot = Path(tmp, "home"), Path(tmp, "src")
        package = Path(__file__).resolve().parents[1] / "src" / "perfgraph"
        shutil.copytree(package, snapshot / "perfgraph", ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "PERFGRAPH_HOME": str(home), "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(snapshot)}
        env.pop("PERFGRAPH_NO_CACHE", None)
        _, prime = timed(command, env)  # fills the cache
        imports = subprocess.run([sys.executable, "-X", "importtime", "-m", "perfgraph", *command[1:]], env=env,
                                 capture_output=True, text=True).stderr
        imported = {line.split("|")[-1].strip() for line in imports.splitlines() if line.startswith("import time:")}
        torch_free = "torch" not in imported
        times: dict[str, list[float]] = {"cold": [], "warm": [], "import_torch": []}
        for r in range(args.rounds):
            t, cold = timed([*command, "--no-cache"], env)
            times["cold"].append(t)
            t, warm = timed(command, env)
            times["warm"].append(t)
            if warm.stdout != prime.stdout or cold.stdout != prime.stdout:
                raise SystemExit("a warm or cold run printed something else than the first run")
            times["import_torch"].append(timed([sys.executable, "-c", "import torch"], env)[0])
            print(f"round {r + 1}: cold {times['cold'][-1]:.2f} s, warm {times['warm'][-1]:.2f} s, "
                  f"import torch {times['import_torch'][-1]:.2f} s", file=sys.stderr)
        entries = len(list((home / "graphs").glob("*.pkl")))
    if entries != 1:
        raise SystemExit(f"{entries} cache entries after the rounds: some warm run was a miss")
    result = {
        "command": " ".join(["perfgraph", *command[1:]]), "rounds": args.rounds, "cpus": os.cpu_count(),
        "warm_imports_torch": not torch_free,
        **{f"{k}_floor_s": round(min(v), 3) for k, v in times.items()},
        **{f"{k}_median_s": round(statistics.median(v), 3) for k, v in times.items()},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if torch_free and result["warm_floor_s"] < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
