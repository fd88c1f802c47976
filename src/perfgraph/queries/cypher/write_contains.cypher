// CONTAINS from each subgraph to its ops, by index into both lists (no per-row lookups).
// $model_id; $contains: [{s: subgraph index, o: op index}].
MATCH (o:Op {model_id: $model_id})
WITH o ORDER BY o.index
WITH collect(o) AS ops
MATCH (s:Subgraph {model_id: $model_id})
WITH ops, s ORDER BY s.index
WITH ops, collect(s) AS sgs
UNWIND $contains AS c
WITH sgs[c.s] AS s, ops[c.o] AS o
CREATE (s)-[:CONTAINS]->(o);
