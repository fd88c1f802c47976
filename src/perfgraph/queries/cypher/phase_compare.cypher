// Named query `phase_compare`: per source model, phase, batch, context and chip, the latency of the phase
// from the mapping overlay -- prefill against decode of one model across chips.
// $source: a source model id or name, or null (all); $hardware: chip ids or null; $batch, $precision,
// $runtime: filters or null. Overlays written before runtimes existed count as 'compiled'.
MATCH (p:Model)-[l:PHASE_OF]->(s:Model)
WHERE $source IS NULL OR s.id = $source OR s.name = $source
MATCH (p)-[r:MAPPED_TO]->(h:Hardware)
WHERE ($hardware IS NULL OR h.id IN $hardware) AND ($batch IS NULL OR r.batch = $batch)
  AND ($precision IS NULL OR r.precision = $precision)
  AND ($runtime IS NULL OR coalesce(r.runtime, 'compiled') = $runtime)
RETURN s.id AS source, l.phase AS phase, l.batch AS batch, l.context AS context, h.id AS hardware,
       r.precision AS precision, coalesce(r.runtime, 'compiled') AS runtime, r.latency_s AS latency_s,
       p.id AS model
ORDER BY source, phase, batch, context, hardware, precision, runtime;
