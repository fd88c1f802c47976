// Remove models with their ops, subgraphs and all their relationships (the mapping overlay included).
// Each label is found through its model_id index, so every node is deleted once (no row per op-subgraph pair).
// $model_ids: the models' ids (a list).
CALL () {
  MATCH (o:Op) WHERE o.model_id IN $model_ids
  DETACH DELETE o
}
CALL () {
  MATCH (s:Subgraph) WHERE s.model_id IN $model_ids
  DETACH DELETE s
}
MATCH (m:Model) WHERE m.id IN $model_ids
DETACH DELETE m;
