// After the rounds: mark each model's critical path, drop the scratch properties, and store depth and
// width on the model. $paths: [{model_id, path: subgraph indices on its critical path}].
UNWIND $paths AS p
CALL (p) {
  MATCH (s:Subgraph {model_id: p.model_id})
  SET s.on_critical_path = s.index IN p.path
  REMOVE s._pending, s._best, s._w, s._back, s._dist
  WITH s.stage AS stage, count(*) AS width
  ORDER BY width DESC, stage ASC
  WITH collect({stage: stage, width: width}) AS widths, max(stage) + 1 AS depth
  MATCH (m:Model {id: p.model_id})
  SET m.depth = depth, m.widest_stage = widths[0].stage, m.width = widths[0].width
  RETURN depth, widths[0].stage AS widest_stage, widths[0].width AS width
}
RETURN p.model_id AS model_id, depth, widest_stage, width;
