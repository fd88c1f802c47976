// Named query `top_intensity`: the $n subgraphs of a model with the highest arithmetic intensity.
// $model_id; $n: how many rows.
MATCH (s:Subgraph {model_id: $model_id})
RETURN s.index AS index, s.pattern AS pattern, s.intensity AS intensity, s.flops AS flops,
       s.external_bytes AS external_bytes
ORDER BY intensity DESC, index ASC
LIMIT $n;
