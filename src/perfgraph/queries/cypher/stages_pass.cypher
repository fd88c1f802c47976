// Stages and critical-path distances in ONE pass over the subgraphs in index order, O(V + E): the ingest
// numbers kernels in a topological order (every FEEDS edge goes from a lower index to a higher one), so
// when a subgraph's turn comes its predecessors are final: stage = 1 + the latest predecessor's stage
// (0 for a source), distance = the heaviest predecessor's distance + its own weight, ties going to the
// lowest index as in the networkx twin. A CALL subquery runs once per row, in order, and sees what the
// earlier rows wrote. Only `stage` and the scratch `_dist` are written; each subgraph's best predecessor
// comes back with the rows (the caller walks the heaviest path back from them), so no second query reads
// them. `disorder` counts edges that break the order (a graph written by other means): the caller then
// ignores the rows and runs Kahn's frontier loop (stages_init / stages_round), which assumes no order.
// $model_ids: the models (a list); $weight: the property to weigh the path by (flops, external_bytes,
// macs) or null when `_w` was set beforehand (predicted latency).
// Returns one row per model: [index, distance, best predecessor's index] for each subgraph, and disorder.
MATCH (s:Subgraph) WHERE s.model_id IN $model_ids
WITH s ORDER BY s.model_id, s.index
CALL (s) {
  OPTIONAL MATCH (p:Subgraph)-[:FEEDS]->(s)
  WITH s, p ORDER BY p._dist DESC, p.index ASC
  WITH s, collect(p) AS preds, max(p.stage) AS last, max(p.index) AS latest
  WITH s, preds[0] AS best, last, latest,
       CASE WHEN $weight IS NULL THEN s._w ELSE toFloat(s[$weight]) END AS w
  WITH s, best, last, latest, coalesce(best._dist, 0.0) + w AS dist
  SET s.stage = coalesce(last + 1, 0), s._dist = dist
  RETURN CASE WHEN latest >= s.index THEN 1 ELSE 0 END AS disorder, [s.index, dist, best.index] AS row
}
RETURN s.model_id AS model_id, collect(row) AS subgraphs, sum(disorder) AS disorder;
