// Kahn's algorithm, step 0: every subgraph of the models gets the count of its predecessors still pending
// (a degree lookup) and its path weight; sources get stage 0 and distance = weight. Linear in nodes.
// $model_ids: the models (a list: one frontier loop serves every model of an ingest batch);
// $weight: the property to weigh the critical path by (flops, external_bytes, macs) or null when `_w`
// was set beforehand (predicted latency).
MATCH (s:Subgraph) WHERE s.model_id IN $model_ids
WITH s, COUNT { (s)<-[:FEEDS]-() } AS pending,
     CASE WHEN $weight IS NULL THEN s._w ELSE toFloat(s[$weight]) END AS w
SET s._pending = pending, s._w = w, s._best = 0.0, s._back = null,
    s.stage = CASE WHEN pending = 0 THEN 0 ELSE null END,
    s._dist = CASE WHEN pending = 0 THEN w ELSE null END
RETURN count(s) AS subgraphs;
