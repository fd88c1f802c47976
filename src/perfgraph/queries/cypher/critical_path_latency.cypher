// Named query `critical_path` with weight=latency, second step: after the store's frontier loop found the
// path on the MAPPED_TO latencies, return its subgraphs in order with their predicted latency.
// $model_id; $path: subgraph indices, source to sink; $hardware: chip id; $batch; $precision; $runtime.
UNWIND range(0, size($path) - 1) AS k
MATCH (s:Subgraph {model_id: $model_id, index: $path[k]})
OPTIONAL MATCH (s)-[r:MAPPED_TO {batch: $batch, precision: $precision}]->(:Hardware {id: $hardware})
WHERE coalesce(r.runtime, 'compiled') = $runtime
RETURN s.index AS index, s.stage AS stage, coalesce(r.latency_s, 0.0) AS weight
ORDER BY k;
