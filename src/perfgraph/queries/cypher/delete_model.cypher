// Remove one model with its ops, subgraphs and their relationships.
// $model_id: the model's id.
MATCH (m:Model {id: $model_id})
OPTIONAL MATCH (m)-[:HAS]->(s:Subgraph)
OPTIONAL MATCH (s)-[:CONTAINS]->(o:Op)
DETACH DELETE o, s, m;
