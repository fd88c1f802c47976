// Named query `best_chip`: per model, batch and precision, the mapped chip with the lowest predicted latency
// (sequential) and the one with the lowest energy per inference; ties go to the smaller chip id.
// $hardware: list of chip ids to choose from, or null (all mapped); $batch, $precision, $runtime: filters or null.
// Overlays written before runtimes existed count as 'compiled'; before one row vocabulary, energy was
// energy_per_sample_j.
MATCH (m:Model)-[r:MAPPED_TO]->(h:Hardware)
WHERE ($hardware IS NULL OR h.id IN $hardware) AND ($batch IS NULL OR r.batch = $batch)
  AND ($precision IS NULL OR r.precision = $precision)
  AND ($runtime IS NULL OR coalesce(r.runtime, 'compiled') = $runtime)
WITH m.id AS model, r.batch AS batch, r.precision AS precision,
     collect({hw: h.id, lat: r.latency_s, e: coalesce(r.energy_per_inference_j, r.energy_per_sample_j)}) AS chips
WITH model, batch, precision, size(chips) AS chips,
     reduce(b = chips[0], c IN chips | CASE WHEN c.lat < b.lat OR (c.lat = b.lat AND c.hw < b.hw) THEN c ELSE b END) AS fast,
     reduce(b = chips[0], c IN chips | CASE WHEN c.e < b.e OR (c.e = b.e AND c.hw < b.hw) THEN c ELSE b END) AS frugal
RETURN model, batch, precision, chips, fast.hw AS fastest, fast.lat AS latency_s,
       frugal.hw AS most_efficient, frugal.e AS energy_per_inference_j
ORDER BY model, batch, precision;
