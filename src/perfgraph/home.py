"""Where perfgraph keeps per-user state: `$PERFGRAPH_HOME`, default `~/.perfgraph` (calibration profiles,
the graph cache, a local Neo4j server). Standard library only, so any layer may import it."""

from __future__ import annotations

import os
from pathlib import Path


def perfgraph_home() -> Path:
    env = os.environ.get("PERFGRAPH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".perfgraph"
