// Kahn's algorithm, step 0: every subgraph of the model gets the count of its predecessors still pending
// and its path weight; sources get stage 0. Linear in nodes + edges.
// $model_id; $weight: the property to weigh the critical path by (flops, external_bytes, macs) or null
// when `_w` was set beforehand (predicted latency).
MATCH (s:Subgraph {model_id: $model_id})
SET s.stage = null, s._pending = COUNT { (:Subgraph)-[:FEEDS]->(s) },
    s._w = CASE WHEN $weight IS NULL THEN s._w ELSE toFloat(s[$weight]) END,
    s._best = 0.0, s._back = null
WITH s
SET s.stage = CASE WHEN s._pending = 0 THEN 0 ELSE null END,
    s._dist = CASE WHEN s._pending = 0 THEN s._w ELSE null END
RETURN count(s) AS subgraphs;
