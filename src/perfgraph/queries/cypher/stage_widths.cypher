// Named query `stage_widths`: how many subgraphs (and FLOPs) each stage holds: the parallelism per stage.
// $model_id.
MATCH (s:Subgraph {model_id: $model_id})
RETURN s.stage AS stage, count(*) AS subgraphs, sum(s.flops) AS flops
ORDER BY stage;
