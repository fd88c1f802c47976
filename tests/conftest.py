"""Shared fixtures: `neo4j_conn` (a real Neo4j, never skipped; see neo4j_fixture.py) and `store` on it."""

import atexit
import os
import pathlib
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

# Per-user files (graph cache, calibration profiles) go to a throw-away home, never the real ~/.perfgraph.
# The graph cache is off so that tests of tracing do trace; tests/test_graph_cache.py turns it on.
_TEST_HOME = tempfile.mkdtemp(prefix="perfgraph-test-home-")
atexit.register(shutil.rmtree, _TEST_HOME, ignore_errors=True)
os.environ["PERFGRAPH_HOME"] = _TEST_HOME
os.environ["PERFGRAPH_NO_CACHE"] = "1"

from neo4j_fixture import neo4j_conn  # noqa: E402, F401

from perfgraph.store.neo4j_store import Neo4jStore  # noqa: E402


@pytest.fixture(scope="module")
def store(neo4j_conn):  # noqa: F811 - the fixture above, by name
    """A Neo4jStore on the session's real Neo4j."""
    user, password = neo4j_conn.auth if neo4j_conn.auth else (None, None)
    s = Neo4jStore(neo4j_conn.uri, user, password)
    yield s
    s.close()
