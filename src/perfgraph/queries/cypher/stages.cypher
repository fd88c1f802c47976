// Named query `stages`: the stage of every subgraph of a model (computed at ingest by the frontier loop).
// $model_id.
MATCH (s:Subgraph {model_id: $model_id})
RETURN s.index AS index, s.stage AS stage
ORDER BY index;
