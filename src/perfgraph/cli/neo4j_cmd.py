"""``perfgraph neo4j install|start|stop|status|guide``: a local Neo4j Community 5.26 server without Docker.

Registered in the main CLI with ``from perfgraph.cli.neo4j_cmd import neo4j``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from perfgraph.store import neo4j_jars
from perfgraph.store import neo4j_server as ns

_HOME_HELP = "Server directory (conf, data, logs, password). Default: $PERFGRAPH_HOME/neo4j or ~/.perfgraph/neo4j."


def _lib_option(help_text: str):
    return click.option("--lib", type=click.Path(file_okay=False, path_type=Path), envvar="PERFGRAPH_NEO4J_LIB",
                        default=None, help=help_text)


def _fail(exc: ns.Neo4jServerError) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group("neo4j")
def neo4j() -> None:
    """Run a local Neo4j 5.26 server (from Maven Central jars, no Docker needed).

    `perfgraph neo4j install` fetches the pinned jars once (Java 17+ and Maven) into
    $PERFGRAPH_HOME/neo4j/lib; the server listens on 127.0.0.1 only.

    \b
    Example:
      perfgraph neo4j install && perfgraph neo4j start && perfgraph neo4j status && perfgraph neo4j stop
    """


@neo4j.command("install")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Put the jars in DIR/lib, for the server home DIR. Default: $PERFGRAPH_HOME/neo4j/lib "
                   "(PERFGRAPH_HOME defaulting to ~/.perfgraph), which every server home uses.")
@_lib_option("Put the jars exactly in this directory (env PERFGRAPH_NEO4J_LIB); wins over --home.")
@click.option("--force", is_flag=True, help="Fetch again even if the jars are there.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def install_cmd(home, lib, force, as_json):
    """Fetch the Neo4j server jars pinned by perfgraph (Neo4j, its Browser, APOC) from Maven Central.

    Needs Java 17+ and Maven 3 (mvn); a download the first time, a copy from Maven's cache (~/.m2)
    after that. Does nothing when the jars are there already.

    \b
    Examples:
      perfgraph neo4j install
      perfgraph neo4j install --home /tmp/pg --json     # jars in /tmp/pg/lib, for `neo4j start --home /tmp/pg`
    """
    target = lib or (home / "lib" if home else neo4j_jars.default_lib())
    if not as_json:
        click.echo(f"Installing the Neo4j {neo4j_jars.pinned_version()} jars into {Path(target).expanduser()} ...",
                   err=True)
    shown = []

    def progress(files: int) -> None:  # a live counter on a terminal only: a CI log gets the summary
        if sys.stderr.isatty():
            click.echo(f"\r  {files} files downloaded from Maven Central", err=True, nl=False)
            shown.append(files)

    try:
        result = neo4j_jars.install(target, force=force, progress=None if as_json else progress)
    except ns.Neo4jServerError as exc:
        raise _fail(exc) from None
    finally:
        if shown:
            click.echo("", err=True)  # end the counter's line
    click.echo(json.dumps(result.as_dict(), indent=2) if as_json else result.summary())


@neo4j.command("start")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None, help=_HOME_HELP)
@click.option("--bolt-port", type=click.IntRange(0, 65535), default=7687, show_default=True,
              help="Bolt port on 127.0.0.1 (0 = any free port, and a free HTTP port too).")
@click.option("--http-port", type=click.IntRange(0, 65535), default=None,
              help="HTTP/Browser port on 127.0.0.1 (default 7474; 0 = any free port).")
@click.option("--password", envvar="PERFGRAPH_NEO4J_PASSWORD", default=None,
              help="Password of user neo4j (>= 8 chars; env PERFGRAPH_NEO4J_PASSWORD). "
                   "Default: generated on the first start and stored in <home>/password (0600).")
@click.option("--no-auth", is_flag=True, help="Disable authentication (local experiments only).")
@click.option("--wait", "wait_s", type=float, default=120, show_default=True,
              help="Seconds to wait for Bolt to answer.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
@click.option("--show-password", is_flag=True, help="Also print the password.")
@click.option("--guide-port", type=click.IntRange(0, 65535), default=None,
              help="Port of perfgraph's Browser guide on localhost (default 7480, or the one used before; "
                   "0 = any free port).")
@click.option("--no-guide", is_flag=True, help="Do not serve perfgraph's Browser guide.")
@click.option("--heap", "heap_max", default=ns.DEFAULT_HEAP_MAX, show_default=True, metavar="SIZE",
              help="JVM heap (512m, 2g, ...), taken from the start as Neo4j recommends. Bulk ingest wants 2g: "
                   "the classification zoo ingested at ~30 k elements/s with 512m and 40-44 k/s with 2g on two "
                   "cores (less garbage collection); one transaction may use at most 70% of it.")
@click.option("--page-cache", default=ns.DEFAULT_PAGE_CACHE, show_default=True, metavar="SIZE",
              help="Neo4j page cache for the store files (the whole zoo is ~0.1 GB on disk).")
@_lib_option("Directory of the Neo4j jars (env PERFGRAPH_NEO4J_LIB); nothing else is looked at then. "
             "Default: the first of <home>/lib, $PERFGRAPH_HOME/neo4j/lib, a source checkout's neo4j/lib "
             "that holds them.")
def start_cmd(home, bolt_port, http_port, password, no_auth, wait_s, as_json, show_password, guide_port, no_guide,
              heap_max, page_cache, lib):
    """Start the server (or report the one already running for --home), and perfgraph's Browser guide.

    The guide (stages, critical path, chips compared, memory-bound kernels) is served on
    http://localhost:7480/perfgraph.html and opens in the Browser's sidebar when you connect;
    `:guide http://localhost:7480/perfgraph.html` opens it again.

    \b
    Examples:
      perfgraph neo4j start
      perfgraph neo4j start --home /tmp/pg --bolt-port 0 --json
      perfgraph neo4j start --heap 4g --page-cache 1g

    --heap and --page-cache apply when the server starts; a running server keeps its sizes
    (stop it and start again to change them). The jars come from `perfgraph neo4j install`.
    """
    from perfgraph.store import browser_guide as bg

    try:  # before anything starts
        ns.parse_size(heap_max, "--heap")
        ns.parse_size(page_cache, "--page-cache")
    except ns.Neo4jServerError as exc:
        raise _fail(exc) from None
    if not as_json:
        click.echo("Starting Neo4j (about 15-30 s) ...", err=True)
    home_dir = Path(home).expanduser().resolve() if home else ns.default_home()
    port = None if no_guide else bg.pick_port(home_dir, 0 if bolt_port == 0 and guide_port is None else guide_port)
    try:
        info = ns.start(home, bolt_port=bolt_port, http_port=http_port, password=password,
                        auth=not no_auth, wait_s=wait_s, heap_max=heap_max, page_cache=page_cache,
                        fetch=False, lib=lib, extra_conf=bg.browser_settings(port) if port else None)
    except ns.Neo4jServerError as exc:
        raise _fail(exc) from None
    ns.record_started(info.home)  # `ingest` / `query` without --uri or --home use this server
    guide = None
    if port:
        try:
            guide = bg.start_background(info.home, port)
        except bg.GuideError as exc:
            click.echo(f"warning: {exc}", err=True)
    if as_json:
        d = info.as_dict(show_password=show_password)
        d["guide_url"] = guide["url"] if guide else None
        click.echo(json.dumps(d, indent=2))
        return
    head = "Neo4j already running" if info.already_running else f"Neo4j started in {info.startup_s}s"
    click.echo(f"{head} (pid {info.pid}, home {info.home})")
    click.echo(f"  Bolt URI:    {info.bolt_uri}")
    click.echo(f"  Browser:     {info.browser_url}")
    _echo_auth(info.auth, info.user, info.password, info.password_file, show_password)
    click.echo(f"  APOC:        {'yes' if info.apoc else 'no'}")
    if guide:
        click.echo(f"  Guide:       opens after you connect in the Browser; or type  :guide {guide['url']}")
    click.echo(f"  Use it:      perfgraph ingest resnet18 --home {info.home}")  # --home optional while last started
    click.echo(f"  Stop with:   perfgraph neo4j stop{_home_arg(home)}")


def _home_arg(home: Path | None) -> str:
    return f" --home {home}" if home else ""


def _echo_auth(auth, user, password, password_file, show_password) -> None:
    if not auth:
        click.echo("  Auth:        off")
        return
    click.echo(f"  User:        {user}")
    if show_password and password:
        click.echo(f"  Password:    {password}")
    click.echo(f"  Password in: {password_file}  (use --show-password to print it)"
               if not show_password else f"  Password in: {password_file}")


@neo4j.command("stop")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None, help=_HOME_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def stop_cmd(home, as_json):
    """Stop the server of --home (SIGTERM, SIGKILL after 60 s).

    \b
    Example:
      perfgraph neo4j stop --home /tmp/pg
    """
    from perfgraph.store import browser_guide as bg

    try:
        res = ns.stop(home)
    except ns.Neo4jServerError as exc:
        raise _fail(exc) from None
    res["guide_was_running"] = bg.stop_background(Path(res["home"]))
    if as_json:
        click.echo(json.dumps(res, indent=2))
    elif res["was_running"]:
        click.echo(f"Neo4j stopped (pid {res['pid']}, home {res['home']})")
    else:
        click.echo(f"Neo4j was not running (home {res['home']})")


@neo4j.command("status")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None, help=_HOME_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
@click.option("--show-password", is_flag=True, help="Also print the password.")
def status_cmd(home, as_json, show_password):
    """Show whether the server of --home runs and answers on Bolt (exit code 1 if not).

    \b
    Example:
      perfgraph neo4j status --json
    """
    try:
        st = ns.status(home)
    except ns.Neo4jServerError as exc:
        raise _fail(exc) from None
    if show_password and st.get("auth"):
        st["password"] = ns.read_password(home)
    from perfgraph.store import browser_guide as bg

    guide = bg.running(Path(st["home"]))
    st["guide_url"] = guide["url"] if guide else None
    if as_json:
        click.echo(json.dumps(st, indent=2))
    elif not st["running"]:
        click.echo(f"Neo4j is not running (home {st['home']}); start it with: perfgraph neo4j start"
                   f"{_home_arg(home)}")
    else:
        answer = "answers" if st["bolt_ok"] else f"does NOT answer ({st.get('bolt_error', '?')})"
        click.echo(f"Neo4j running (pid {st['pid']}, home {st['home']}); Bolt {answer}")
        click.echo(f"  Bolt URI:    {st['bolt_uri']}")
        click.echo(f"  Browser:     {st['browser_url']}")
        _echo_auth(st.get("auth"), st.get("user"), st.get("password"), st.get("password_file"),
                   show_password)
        if guide:
            click.echo(f"  Guide:       :guide {guide['url']}")
    if not (st["running"] and st["bolt_ok"]):
        raise SystemExit(1)


@neo4j.command("guide")
@click.option("--port", type=click.IntRange(0, 65535), default=7480, show_default=True,
              help="Port on 127.0.0.1 (0 = any free port).")
def guide_cmd(port):
    """Serve perfgraph's Browser guide in the foreground (for a Neo4j you did not start with
    `perfgraph neo4j start`, e.g. the docker-compose one); Ctrl-C stops it.

    In the Browser, type the `:guide` command it prints. Hosts the Browser may fetch guides from are
    set by the server's `browser.remote_content_hostname_whitelist` (default: guides.neo4j.com,localhost).

    \b
    Example:
      perfgraph neo4j guide --port 7480     # then, in the Browser:  :guide http://localhost:7480/perfgraph.html
    """
    from perfgraph.store import browser_guide as bg

    try:
        bg.serve_forever(port)
    except bg.GuideError as exc:
        raise click.ClickException(str(exc)) from None
