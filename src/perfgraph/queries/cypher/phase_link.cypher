// Link a stored phase graph to its source model: (:Model {id: $phase_id})-[:PHASE_OF {phase, batch,
// context}]->(:Model {id: $source}); the source is created as a stub ({id, name, stub: true}) when it is
// not stored. Re-running replaces the link's properties (never a second link).
// $phase_id, $source, $source_name: ids and name; $props: {phase, batch, context}.
MATCH (p:Model {id: $phase_id})
MERGE (s:Model {id: $source})
  ON CREATE SET s.name = $source_name, s.stub = true
MERGE (p)-[l:PHASE_OF]->(s)
SET l = $props
RETURN count(l) AS links;
