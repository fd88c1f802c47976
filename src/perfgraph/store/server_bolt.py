"""A local server's loopback ports: free ports, whether Bolt answers, and the password change over Bolt.
The neo4j driver is imported inside the functions: importing perfgraph stays cheap."""

from __future__ import annotations

import socket

from perfgraph.store.server_config import DEFAULT_USER, HOST


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def bolt_check(port: int, auth: tuple[str, str] | None, timeout: float = 5.0) -> str | None:
    """None if ``RETURN 1`` works over Bolt, else the error text."""
    from neo4j import GraphDatabase  # lazy: keeps `import perfgraph...` cheap

    try:
        with GraphDatabase.driver(
            f"bolt://{HOST}:{port}", auth=auth, connection_timeout=timeout,
            connection_acquisition_timeout=timeout, max_connection_pool_size=1,
        ) as driver:
            with driver.session() as session:
                value = session.run("RETURN 1 AS x").single()["x"]
        return None if value == 1 else f"unexpected RETURN 1 result {value!r}"
    except Exception as exc:  # noqa: BLE001 - any failure is "not answering"
        return f"{type(exc).__name__}: {exc}"


def is_auth_error(msg: str) -> bool:
    return "AuthError" in msg or "Unauthorized" in msg or "authentication failure" in msg


def change_password(port: int, old: str, new: str) -> None:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(f"bolt://{HOST}:{port}", auth=(DEFAULT_USER, old)) as driver:
        with driver.session(database="system") as session:
            session.run(
                "ALTER CURRENT USER SET PASSWORD FROM $old TO $new", old=old, new=new
            ).consume()
