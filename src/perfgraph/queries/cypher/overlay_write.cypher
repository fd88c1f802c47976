// Overlay write, step 3: one MAPPED_TO from the model and one from each subgraph to the chip.
// $model_id; $hardware: chip id; $batch; $precision; $runtime; $model: the model relationship's properties;
// $rows: [{uid: subgraph uid, index, props: relationship properties}]. Returns the subgraph rels written.
MATCH (h:Hardware {id: $hardware})
MATCH (m:Model {id: $model_id})
CREATE (m)-[mr:MAPPED_TO]->(h)
SET mr = $model, mr.batch = $batch, mr.precision = $precision, mr.runtime = $runtime
WITH h
UNWIND $rows AS row
MATCH (s:Subgraph {uid: row.uid})
WHERE s.model_id = $model_id
CREATE (s)-[r:MAPPED_TO]->(h)
SET r = row.props, r.batch = $batch, r.precision = $precision, r.runtime = $runtime
RETURN count(r) AS subgraphs;
