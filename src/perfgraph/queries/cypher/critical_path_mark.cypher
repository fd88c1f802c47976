// After the stage rounds: read the back pointers so the caller can walk the heaviest path.
// $model_id. Returns every subgraph's index, distance and best predecessor.
MATCH (s:Subgraph {model_id: $model_id})
RETURN s.index AS index, s._dist AS dist, s._back AS back ORDER BY index;
