// perfgraph: kernel graph of $model
// The kernels (subgraphs) and the bytes flowing between them, as a picture. $model: id or name.
MATCH (m:Model)-[:HAS]->(s:Subgraph)
WHERE m.id = $model OR m.name = $model
OPTIONAL MATCH p = (s)-[:FEEDS]->(:Subgraph)
RETURN s, p;
