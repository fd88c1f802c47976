// Weigh each subgraph by its predicted latency on one chip (from the MAPPED_TO overlay), for the
// latency critical path. $model_id; $hardware: chip id; $batch; $precision; $runtime.
MATCH (s:Subgraph {model_id: $model_id})
OPTIONAL MATCH (s)-[r:MAPPED_TO {batch: $batch, precision: $precision}]->(:Hardware {id: $hardware})
WHERE coalesce(r.runtime, 'compiled') = $runtime
SET s._w = coalesce(r.latency_s, 0.0);
