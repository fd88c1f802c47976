// perfgraph: chips compared for $model
// Predicted latency, throughput, energy and utilisation per chip, fastest first, from the overlay that
// `perfgraph map MODEL --hardware ...` writes. $model: id or name.
MATCH (m:Model)-[r:MAPPED_TO]->(h:Hardware)
WHERE m.id = $model OR m.name = $model
RETURN h.id AS chip, h.kind AS kind, round(r.latency_s * 1e6, 1) AS latency_us,
       round(coalesce(r.throughput_per_s, r.throughput), 1) AS inferences_per_s,
       round(coalesce(r.energy_per_inference_j, r.energy_per_sample_j) * 1e3, 3) AS mj_per_inference,
       round(r.utilization * 100, 1) AS pct_of_peak, r.memory_bound_kernels AS memory_bound_kernels,
       r.batch AS batch, r.precision AS precision, m.id AS model
ORDER BY model, batch, precision, latency_us;
