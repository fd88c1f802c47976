// Named query `memory_bound_share`: for one model, per mapped (hardware, batch, precision), how many of its
// subgraphs are memory-bound and what share of the predicted (sequential) latency they take.
// $model_id; $hardware: list of chip ids or null (all); $batch, $precision, $runtime: filters or null (all).
// Latencies are summed in subgraph-index order (reduce over an ordered collect), as the networkx twin does.
MATCH (s:Subgraph {model_id: $model_id})-[r:MAPPED_TO]->(h:Hardware)
WHERE ($hardware IS NULL OR h.id IN $hardware) AND ($batch IS NULL OR r.batch = $batch)
  AND ($precision IS NULL OR r.precision = $precision)
  AND ($runtime IS NULL OR coalesce(r.runtime, 'compiled') = $runtime)
WITH h.id AS hardware, r.batch AS batch, r.precision AS precision, s.index AS index, r.bound AS bound,
     r.latency_s AS latency
ORDER BY hardware, batch, precision, index
WITH hardware, batch, precision, count(*) AS subgraphs,
     sum(CASE WHEN bound = 'memory' THEN 1 ELSE 0 END) AS memory_bound,
     collect(latency) AS latencies, collect(CASE WHEN bound = 'memory' THEN latency END) AS memory_latencies
WITH hardware, batch, precision, subgraphs, memory_bound,
     reduce(a = 0.0, x IN latencies | a + x) AS latency_s,
     reduce(a = 0.0, x IN memory_latencies | a + x) AS memory_bound_latency_s
RETURN hardware, batch, precision, subgraphs, memory_bound, toFloat(memory_bound) / subgraphs AS subgraph_share,
       latency_s, memory_bound_latency_s,
       CASE WHEN latency_s > 0 THEN memory_bound_latency_s / latency_s ELSE 0.0 END AS latency_share
ORDER BY hardware, batch, precision;
