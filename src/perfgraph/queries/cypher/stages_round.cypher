// Kahn's algorithm, rounds $k, $k+1, ...: the frontier (stage = $k) releases its successors. Each edge is
// visited once, when its source is in the frontier; a successor whose last predecessor finished gets the
// next stage and its critical-path distance. Ties between predecessors go to the lowest index, as in the
// networkx twin. The block between BEGIN ROUND and END ROUND is repeated by the store (a fixed count, no
// user text) so that one query advances several stages: fewer round trips, still O(V + E) overall.
// $model_ids: the models (their frontiers advance together); $k: the frontier's stage.
// Returns the size of the last frontier reached (0: done) and its stage.
MATCH (f:Subgraph {stage: $k}) WHERE f.model_id IN $model_ids
WITH collect(f) AS frontier, $k AS k
// BEGIN ROUND
CALL (frontier, k) {
  UNWIND frontier AS p
  MATCH (p)-[:FEEDS]->(s:Subgraph)
  WITH s, p ORDER BY p._dist DESC, p.index ASC
  WITH s, collect(p)[0] AS best, count(p) AS released
  // the heaviest predecessor so far (this frontier's best against the earlier frontiers' best)
  WITH s, best, released,
       s._back IS NULL OR best._dist > s._best OR (best._dist = s._best AND best.index < s._back) AS better
  SET s._pending = s._pending - released,
      s._best = CASE WHEN better THEN best._dist ELSE s._best END,
      s._back = CASE WHEN better THEN best.index ELSE s._back END
  WITH s WHERE s._pending = 0
  SET s.stage = k + 1, s._dist = s._best + s._w
  RETURN collect(s) AS next
}
WITH next AS frontier, k + 1 AS k
// END ROUND
RETURN size(frontier) AS released, k AS stage;
