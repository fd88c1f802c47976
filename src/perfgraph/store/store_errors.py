"""The store's errors: StoreError (one line, never credentials), the Bolt URI checks, and the driver
failures told apart (unreachable, out of memory, terminated, no password) with their messages."""

from __future__ import annotations

from typing import Any

from neo4j.exceptions import Neo4jError


# Server codes of a transaction the server ended under the client (shutdown, kill, timeout).
TERMINATED_CODES = frozenset({
    "Neo.ClientError.Transaction.LockClientStopped", "Neo.ClientError.Transaction.Terminated",
    "Neo.TransientError.Transaction.Terminated", "Neo.TransientError.Transaction.LockClientStopped",
    "Neo.ClientError.Transaction.TransactionTimedOut", "Neo.TransientError.General.DatabaseUnavailable",
})


class StoreError(RuntimeError):
    """A store failure, in one line that never contains credentials."""


# Schemes the driver speaks Bolt over (+s: TLS with verified certificates, +ssc: self-signed accepted).
URI_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
# Seconds to open a connection, Bolt handshake and login included: a port that accepts but never answers
# fails after this, not after the driver's 60 s default.
CONNECT_TIMEOUT_S = 5.0


def check_uri(uri: str) -> str:
    """`uri` itself when its scheme is one perfgraph accepts, else a StoreError naming them."""
    scheme, sep, _ = uri.partition("://")
    if not sep or scheme.lower() not in URI_SCHEMES:
        raise StoreError(f"unsupported Neo4j URI {display_uri(uri)!r}: use one of the schemes "
                         f"{', '.join(URI_SCHEMES)} (e.g. bolt://127.0.0.1:7687)")
    return uri


def display_uri(uri: str) -> str:
    """`uri` without any user:password@ part (messages never show credentials)."""
    scheme, sep, rest = uri.partition("://")
    netloc, slash, path = rest.partition("/")
    return f"{scheme}{sep}{netloc.rpartition('@')[2]}{slash}{path}" if sep else uri.rpartition("@")[2]


class OutOfMemory(Exception):
    """A Neo4j out-of-memory error raised inside a unit of work: not a driver error, so not retried."""

    def __init__(self, error: Neo4jError):
        super().__init__(str(error))
        self.error = error


def is_out_of_memory(exc: Neo4jError) -> bool:
    """Neo4j's memory errors: a transaction over db.memory.transaction.max, the global transaction pool
    (MemoryPoolOutOfMemoryError), or the JVM's heap (OutOfMemoryError)."""
    code = getattr(exc, "code", None) or ""
    return "OutOfMemory" in code or "MemoryLimit" in code


def out_of_memory_message(uri: str, exc: Neo4jError) -> str:
    message = " ".join(str(exc.message or exc).split())  # whole, on one line
    return (f"Neo4j at {uri} ran out of memory ({exc.code}): {message.rstrip('.')}. Give it more: "
            "perfgraph neo4j stop, then perfgraph neo4j start --heap 4g; or ingest fewer models at once")


def no_password_message(uri: str) -> str:
    return (f"Neo4j at {uri} wants a password and none was sent: pass --password or set NEO4J_PASSWORD "
            "(a server started with `perfgraph neo4j start --home DIR` gets its stored password only through "
            "--home DIR or its own URI, bolt://127.0.0.1:PORT, which `perfgraph neo4j status --home DIR` shows)")


def unreachable_reason(exc: Exception) -> str:
    text = str(exc)
    if "handshake" in text or "Deadline" in text or "timed out" in text.lower():
        return (f"no Bolt answer within {CONNECT_TIMEOUT_S:g} s (is it a Neo4j Bolt port? Neo4j's HTTP port "
                "7474 is not)")
    return first_line(exc)


def is_unreachable(exc: Exception) -> bool:
    """A lost server: retrying model by model would only fail again, slowly."""
    return "cannot reach" in str(exc) or "terminated the transaction" in str(exc)


def first_line(exc: Any) -> str:
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    first = text[0]
    if first.endswith(":") and len(text) > 1:  # "Couldn't connect to host:port (...):" + the reason below
        import re

        reason = re.search(r"\(reason (.+)\)\s*$", text[1])
        first = f"{first.rstrip(':')}: {reason.group(1) if reason else text[1].strip()}"
    if len(first) <= 300:
        return first
    return first[:300].rsplit(" ", 1)[0] + " ..."  # never cut mid-word
