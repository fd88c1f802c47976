// Overlay write, step 2: remove the MAPPED_TO relationships of one (model, hardware, batch, precision, runtime), from
// the model and from its subgraphs, so that a re-run replaces them. $model_id; $hardware: chip id; $batch;
// $precision; $runtime (relationships written before runtimes existed count as 'compiled').
// Returns how many relationships went.
MATCH (h:Hardware {id: $hardware})
CALL (h) {
  MATCH (:Subgraph {model_id: $model_id})-[r:MAPPED_TO {batch: $batch, precision: $precision}]->(h)
  WHERE coalesce(r.runtime, 'compiled') = $runtime
  DELETE r
  RETURN count(*) AS subgraph_rels
}
CALL (h) {
  MATCH (:Model {id: $model_id})-[r:MAPPED_TO {batch: $batch, precision: $precision}]->(h)
  WHERE coalesce(r.runtime, 'compiled') = $runtime
  DELETE r
  RETURN count(*) AS model_rels
}
RETURN subgraph_rels, model_rels;
