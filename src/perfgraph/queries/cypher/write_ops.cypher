// Create Op nodes and the FEEDS edges among them in one pass (edges index the op list, no lookups).
// $ops: op property maps in index order; $edges: [{s: src index, d: dst index, b: bytes}].
UNWIND $ops AS row
CREATE (o:Op) SET o = row
WITH collect(o) AS ops
UNWIND $edges AS e
WITH ops[e.s] AS a, ops[e.d] AS b, e
CREATE (a)-[:FEEDS {bytes: e.b}]->(b);
