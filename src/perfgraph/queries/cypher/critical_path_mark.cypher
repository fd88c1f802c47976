// After Kahn's frontier loop (stages_round): read the back pointers so the caller can walk each model's heaviest
// path. $model_ids. One row per model holding [index, distance, best predecessor] for each of its
// subgraphs (a few rows instead of one per subgraph: the driver's per-record cost dominated).
MATCH (s:Subgraph) WHERE s.model_id IN $model_ids
WITH s ORDER BY s.model_id, s.index
RETURN s.model_id AS model_id, collect([s.index, s._dist, s._back]) AS subgraphs;
