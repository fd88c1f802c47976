"""The `perfgraph` command: the click group (`cli.group`) with every command module registered."""

from __future__ import annotations

from perfgraph.cli import (  # noqa: F401 - each module adds its commands to the group on import
    analyze_cmds, cache_cmds, check_cmds, graph_cmds, hardware_cmds, llm_cmds, map_cmds, measure_cmds, report_cmds,
    sweep_cmds,
)
from perfgraph.cli.group import USER_ERRORS, PerfgraphGroup, cli
from perfgraph.cli.neo4j_cmd import neo4j

cli.add_command(neo4j)

__all__ = ["cli", "main", "PerfgraphGroup", "USER_ERRORS"]


def main() -> None:
    cli(prog_name="perfgraph")


if __name__ == "__main__":
    main()
