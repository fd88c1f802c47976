// stages_finish for graphs too big for one transaction: mark the critical path and drop the scratch
// properties, committed every 10 000 subgraphs. $model_id: one model; $path: its critical path's subgraph
// indices. (Depth and width: run `depth` after.)
MATCH (s:Subgraph {model_id: $model_id})
CALL (s) {
  SET s.on_critical_path = s.index IN $path
  REMOVE s._pending, s._best, s._w, s._back, s._dist
} IN TRANSACTIONS OF 10000 ROWS;
