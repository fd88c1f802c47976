// Kahn's algorithm, rounds $k, $k+1, ...: the frontier (stage = $k) releases its successors. Each edge is
// visited once, when its source is in the frontier; a successor whose last predecessor finished gets the
// next stage and its critical-path distance. Ties between predecessors go to the lowest index, as in the
// networkx twin. The block between BEGIN ROUND and END ROUND is repeated by the store (a fixed count, no
// user text) so that one query advances several stages: fewer round trips, still O(V + E) overall.
// $model_id; $k: the frontier's stage. Returns the size of the last frontier reached (0: done) and its stage.
MATCH (f:Subgraph {model_id: $model_id, stage: $k})
WITH collect(f) AS frontier, $k AS k
// BEGIN ROUND
CALL (frontier, k) {
  UNWIND frontier AS p
  MATCH (p)-[:FEEDS]->(s:Subgraph)
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
  SET s.stage = k + 1, s._dist = s._best + s._w
  RETURN collect(s) AS next
}
WITH next AS frontier, k + 1 AS k
// END ROUND
RETURN size(frontier) AS released, k AS stage;
