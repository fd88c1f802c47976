// Constraints and indexes, created on first use (idempotent). No parameters.
// Op and Subgraph uids are unique by construction (the model's id + "/op" or "/sg" + the index, and the
// model id is unique), so they get no uniqueness constraint: checking the constraint against the nodes a
// re-ingest just deleted in the same transaction made re-ingests 5x slower. Subgraph uids get a lookup
// index (the overlay writes find subgraphs by uid). Op uids get none: no query looks an op up by uid
// (ops are reached through their model_id index or their subgraph's CONTAINS), and maintaining one for
// every op cost ~10 % of the server's CPU in a zoo ingest. Stores created by perfgraph 0.1 had the
// constraints, and earlier 0.1 builds the op uid index; they are dropped here.
CREATE CONSTRAINT model_id IF NOT EXISTS FOR (m:Model) REQUIRE m.id IS UNIQUE;
// Writers of one model serialise on a lock node per id (model_lock.cypher): unique, so MERGEs wait.
CREATE CONSTRAINT model_write_lock IF NOT EXISTS FOR (l:ModelWriteLock) REQUIRE l.id IS UNIQUE;
DROP CONSTRAINT op_uid IF EXISTS;
DROP CONSTRAINT subgraph_uid IF EXISTS;
DROP INDEX op_uid_lookup IF EXISTS;
CREATE INDEX subgraph_uid_lookup IF NOT EXISTS FOR (s:Subgraph) ON (s.uid);
CREATE CONSTRAINT hardware_id IF NOT EXISTS FOR (h:Hardware) REQUIRE h.id IS UNIQUE;
CREATE INDEX op_model IF NOT EXISTS FOR (o:Op) ON (o.model_id);
CREATE INDEX subgraph_model IF NOT EXISTS FOR (s:Subgraph) ON (s.model_id);
CREATE INDEX subgraph_model_stage IF NOT EXISTS FOR (s:Subgraph) ON (s.model_id, s.stage);
