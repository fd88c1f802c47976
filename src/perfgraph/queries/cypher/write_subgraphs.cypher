// Create Subgraph nodes with HAS from their model and FEEDS among them, in one pass.
// $model_id; $subgraphs: property maps in index order; $edges: [{s: src index, d: dst index, b: bytes}].
MATCH (m:Model {id: $model_id})
UNWIND $subgraphs AS row
CREATE (s:Subgraph) SET s = row
CREATE (m)-[:HAS]->(s)
WITH collect(s) AS sgs
UNWIND $edges AS e
WITH sgs[e.s] AS a, sgs[e.d] AS b, e
CREATE (a)-[:FEEDS {bytes: e.b}]->(b);
