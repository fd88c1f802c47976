// Kahn's algorithm, one round: the frontier (stage = $k) releases its successors. Each edge is visited once,
// when its source is in the frontier; a successor whose last predecessor finished gets stage $k + 1 and its
// critical-path distance. Ties between predecessors go to the lowest index, as in the networkx twin.
// $model_id; $k: the frontier's stage. Returns how many subgraphs got stage $k + 1 (0: done).
MATCH (p:Subgraph {model_id: $model_id, stage: $k})-[:FEEDS]->(s:Subgraph)
WITH s, p ORDER BY p._dist DESC, p.index ASC
WITH s, collect(p) AS preds
WITH s, preds[0] AS best, size(preds) AS released
SET s._pending = s._pending - released
WITH s, best
CALL (s, best) {
  WITH s, best WHERE s._back IS NULL OR best._dist > s._best OR (best._dist = s._best AND best.index < s._back)
  SET s._best = best._dist, s._back = best.index
}
WITH s WHERE s._pending = 0
SET s.stage = $k + 1, s._dist = s._best + s._w
RETURN count(s) AS released;
