// Constraints and indexes, created on first use (idempotent). No parameters.
// Op and Subgraph uids are unique by construction (the model's id + "/op" or "/sg" + the index, and the
// model id is unique), so they get a plain lookup index, not a uniqueness constraint: checking the
// constraint against the nodes a re-ingest just deleted in the same transaction made re-ingests 5x slower.
// Stores created by perfgraph 0.1 had such constraints; they are dropped here.
CREATE CONSTRAINT model_id IF NOT EXISTS FOR (m:Model) REQUIRE m.id IS UNIQUE;
DROP CONSTRAINT op_uid IF EXISTS;
DROP CONSTRAINT subgraph_uid IF EXISTS;
CREATE INDEX op_uid_lookup IF NOT EXISTS FOR (o:Op) ON (o.uid);
CREATE INDEX subgraph_uid_lookup IF NOT EXISTS FOR (s:Subgraph) ON (s.uid);
CREATE CONSTRAINT hardware_id IF NOT EXISTS FOR (h:Hardware) REQUIRE h.id IS UNIQUE;
CREATE INDEX op_model IF NOT EXISTS FOR (o:Op) ON (o.model_id);
CREATE INDEX subgraph_model IF NOT EXISTS FOR (s:Subgraph) ON (s.model_id);
CREATE INDEX subgraph_model_stage IF NOT EXISTS FOR (s:Subgraph) ON (s.model_id, s.stage);
