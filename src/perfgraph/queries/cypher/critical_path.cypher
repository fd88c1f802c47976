// Named query `critical_path`: the subgraphs on a model's FLOP-weighted critical path (marked at ingest),
// in order. For other weights (bytes, predicted latency) the frontier loop is re-run by the store.
// $model_id.
MATCH (s:Subgraph {model_id: $model_id})
WHERE s.on_critical_path
RETURN s.index AS index, s.stage AS stage, s.flops AS flops
ORDER BY stage;
