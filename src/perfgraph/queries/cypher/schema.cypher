// Constraints and indexes, created on first use (idempotent). No parameters.
CREATE CONSTRAINT model_id IF NOT EXISTS FOR (m:Model) REQUIRE m.id IS UNIQUE;
CREATE CONSTRAINT op_uid IF NOT EXISTS FOR (o:Op) REQUIRE o.uid IS UNIQUE;
CREATE CONSTRAINT subgraph_uid IF NOT EXISTS FOR (s:Subgraph) REQUIRE s.uid IS UNIQUE;
CREATE CONSTRAINT hardware_id IF NOT EXISTS FOR (h:Hardware) REQUIRE h.id IS UNIQUE;
CREATE INDEX op_model IF NOT EXISTS FOR (o:Op) ON (o.model_id);
CREATE INDEX subgraph_model IF NOT EXISTS FOR (s:Subgraph) ON (s.model_id);
CREATE INDEX subgraph_model_stage IF NOT EXISTS FOR (s:Subgraph) ON (s.model_id, s.stage);
