// Write one model in one statement: the Model, its Ops with FEEDS among them, its Subgraphs with HAS from
// the model and FEEDS among them, and CONTAINS from each subgraph to its ops. Edges index into the lists
// of nodes just created, so no row needs an index lookup.
// $model: the model's properties; $ops, $subgraphs: property maps in index order;
// $op_edges, $subgraph_edges: [{s: src index, d: dst index, b: bytes}]; $contains: [{s: subgraph, o: op}].
CREATE (m:Model)
SET m = $model
WITH m
UNWIND $ops AS row
CREATE (o:Op)
SET o = row
WITH m, collect(o) AS ops
CALL (ops) {
  UNWIND $op_edges AS e
  WITH ops[e.s] AS a, ops[e.d] AS b, e
  CREATE (a)-[:FEEDS {bytes: e.b}]->(b)
}
UNWIND $subgraphs AS row
CREATE (s:Subgraph)
SET s = row
CREATE (m)-[:HAS]->(s)
WITH ops, collect(s) AS sgs
CALL (sgs) {
  UNWIND $subgraph_edges AS e
  WITH sgs[e.s] AS a, sgs[e.d] AS b, e
  CREATE (a)-[:FEEDS {bytes: e.b}]->(b)
}
CALL (ops, sgs) {
  UNWIND $contains AS c
  WITH sgs[c.s] AS s, ops[c.o] AS o
  CREATE (s)-[:CONTAINS]->(o)
}
RETURN size(ops) AS ops, size(sgs) AS subgraphs;
