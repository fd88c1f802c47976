// After the rounds: mark the critical path, drop the scratch properties, and store depth and width on the
// model. $model_id; $path: subgraph indices on the critical path; $weight_name: what the path weighed.
MATCH (s:Subgraph {model_id: $model_id})
SET s.on_critical_path = s.index IN $path
REMOVE s._pending, s._best, s._w, s._back, s._dist
WITH s.stage AS stage, count(*) AS width
ORDER BY width DESC, stage ASC
WITH collect({stage: stage, width: width}) AS widths, max(stage) + 1 AS depth
MATCH (m:Model {id: $model_id})
SET m.depth = depth, m.widest_stage = widths[0].stage, m.width = widths[0].width
RETURN depth, widths[0].stage AS widest_stage, widths[0].width AS width;
