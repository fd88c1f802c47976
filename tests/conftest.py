import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).parent))
from neo4j_fixture import neo4j_conn  # noqa: F401
