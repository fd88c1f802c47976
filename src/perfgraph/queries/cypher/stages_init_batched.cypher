// stages_init for graphs too big for one transaction: the same per-node step, committed every 10 000
// subgraphs (auto-commit transaction, CALL ... IN TRANSACTIONS). $model_ids; $weight (see stages_init).
MATCH (s:Subgraph) WHERE s.model_id IN $model_ids
CALL (s) {
  WITH s, COUNT { (s)<-[:FEEDS]-() } AS pending,
       CASE WHEN $weight IS NULL THEN s._w ELSE toFloat(s[$weight]) END AS w
  SET s._pending = pending, s._w = w, s._best = 0.0, s._back = null,
      s.stage = CASE WHEN pending = 0 THEN 0 ELSE null END,
      s._dist = CASE WHEN pending = 0 THEN w ELSE null END
} IN TRANSACTIONS OF 10000 ROWS;
