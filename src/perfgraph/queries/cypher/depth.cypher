// Named query `depth`: number of stages, the widest stage and its width, for one model.
// $model_id.
MATCH (s:Subgraph {model_id: $model_id})
WITH s.stage AS stage, count(*) AS width
ORDER BY width DESC, stage ASC
WITH collect({stage: stage, width: width}) AS widths, max(stage) + 1 AS depth
RETURN depth, widths[0].stage AS widest_stage, widths[0].width AS width;
