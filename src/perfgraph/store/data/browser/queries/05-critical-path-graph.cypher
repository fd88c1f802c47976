// perfgraph: critical path of $model, as a picture
// The critical-path kernels in stage order, joined by the FEEDS edge between each consecutive pair.
// $model: id or name.
MATCH (m:Model)-[:HAS]->(s:Subgraph {on_critical_path: true})
WHERE m.id = $model OR m.name = $model
WITH m, s ORDER BY s.stage
WITH m, collect(s) AS path
UNWIND range(0, size(path) - 2) AS i
WITH path[i] AS a, path[i + 1] AS b
MATCH p = (a)-[:FEEDS]->(b)
RETURN p;
