// Named query `bound_flip`: subgraphs of one model that are memory-bound on one chip and compute-bound on
// another, at the same batch and precision. $model_id; $a: chip ids where memory-bound (null: any);
// $b: chip ids where compute-bound (null: any); $batch, $precision, $runtime: filters or null (all); both
// mappings of a pair ran under the same runtime.
MATCH (ha:Hardware)<-[ra:MAPPED_TO]-(s:Subgraph {model_id: $model_id})-[rb:MAPPED_TO]->(hb:Hardware)
WHERE ra.bound = 'memory' AND rb.bound = 'compute' AND ra.batch = rb.batch AND ra.precision = rb.precision
  AND coalesce(ra.runtime, 'compiled') = coalesce(rb.runtime, 'compiled')
  AND ($runtime IS NULL OR coalesce(ra.runtime, 'compiled') = $runtime)
  AND ha.id <> hb.id AND ($a IS NULL OR ha.id IN $a) AND ($b IS NULL OR hb.id IN $b)
  AND ($batch IS NULL OR ra.batch = $batch) AND ($precision IS NULL OR ra.precision = $precision)
RETURN ha.id AS memory_bound_on, hb.id AS compute_bound_on, ra.batch AS batch, ra.precision AS precision,
       s.index AS index, s.pattern AS pattern, s.intensity AS intensity,
       ra.latency_s AS latency_memory_bound_s, rb.latency_s AS latency_compute_bound_s
ORDER BY memory_bound_on, compute_bound_on, batch, precision, index;
