// After the stage rounds: read the back pointers so the caller can walk each model's heaviest path.
// $model_ids. Returns every subgraph's model, index, distance and best predecessor.
MATCH (s:Subgraph) WHERE s.model_id IN $model_ids
RETURN s.model_id AS model_id, s.index AS index, s._dist AS dist, s._back AS back ORDER BY model_id, index;
