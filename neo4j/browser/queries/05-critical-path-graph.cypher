// perfgraph: critical path of $model, as a picture
// The critical-path kernels and the FEEDS edges between them. $model: id or name.
MATCH (m:Model)-[:HAS]->(s:Subgraph {on_critical_path: true})
WHERE m.id = $model OR m.name = $model
MATCH p = (s)-[:FEEDS]->(:Subgraph {on_critical_path: true})
RETURN p;
