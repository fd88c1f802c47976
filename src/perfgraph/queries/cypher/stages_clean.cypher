// After a frontier loop that only reads a critical path (weights other than FLOPs, predicted latency):
// drop the scratch properties it left, so the stored graph keeps only the schema's properties.
// $model_ids.
MATCH (s:Subgraph) WHERE s.model_id IN $model_ids
REMOVE s._pending, s._best, s._w, s._back, s._dist;
