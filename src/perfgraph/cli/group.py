"""The `perfgraph` click group: the one place where errors become one-line messages (`--debug` shows the
traceback). Command modules add their commands to `cli`; `cli.main` imports them all."""

from __future__ import annotations

import os
import sys
import warnings

import click

from perfgraph.cli import output

# Exceptions whose message is already one clear line for the user.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError, OSError, LookupError, ImportError)


def _shows_help(exc: click.UsageError) -> bool:
    """A group run without a command raises a UsageError whose message is its help text: let click show it."""
    return type(exc).__name__ == "NoArgsIsHelpError"


def _usage_error(exc: click.UsageError, fallback_path: str) -> None:
    where = exc.ctx.command_path if exc.ctx else fallback_path
    click.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
    sys.exit(exc.exit_code)


class PerfgraphGroup(click.Group):
    """Turns any exception into `error: <one line>` and exit code 1, unless `--debug` was given."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # bad option or argument: one line too (exit code 2, as click's)
            if (ctx.obj and ctx.obj.get("debug")) or _shows_help(exc):
                raise
            _usage_error(exc, ctx.command_path)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the one place where errors become messages
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {output.one_line(exc)}", err=True)
            sys.exit(1)

    def make_context(self, info_name, args, parent=None, **extra):
        """Errors in the group's own options (`perfgraph --nope`) are one line as well."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            if "--debug" in args or os.environ.get("PERFGRAPH_DEBUG") or _shows_help(exc):
                raise
            _usage_error(exc, info_name or "perfgraph")


@click.group(cls=PerfgraphGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="perfgraph")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """perfgraph: how will this network run on that chip, and why?

    Trace a PyTorch model into its op graph, fuse it into kernels, cost every op and kernel, and store
    the result as a graph (in-process by default, or in Neo4j).

    \b
    Examples:
      perfgraph analyze resnet18
      perfgraph analyze vit_b_16 --batch 8 --json
      perfgraph analyze hf:llama-7b --param seq_len=512 --dtype bf16
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug or bool(os.environ.get("PERFGRAPH_DEBUG"))
    from perfgraph.ingest import limits

    limits.reset()  # one command, one set of trace limits (tests run many commands in one process)
    from perfgraph import graph_cache

    graph_cache.reset()  # and the graph cache on unless this command says --no-cache
    if not ctx.obj["debug"]:
        warnings.filterwarnings("ignore")
