// perfgraph: memory-bound kernels of $model
// Per chip, the kernels whose predicted time is set by memory traffic, slowest first (needs
// `perfgraph map`). $model: id or name.
MATCH (m:Model)-[:HAS]->(s:Subgraph)-[r:MAPPED_TO {bound: 'memory'}]->(h:Hardware)
WHERE m.id = $model OR m.name = $model
RETURN h.id AS chip, s.index AS kernel, round(r.latency_s * 1e6, 2) AS latency_us,
       round(s.intensity, 1) AS flop_per_byte, s.pattern AS pattern, r.batch AS batch, r.precision AS precision
ORDER BY chip, batch, precision, latency_us DESC;
