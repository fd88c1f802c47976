// The (hardware, batch, precision) overlays stored for one model. $model_id.
MATCH (:Model {id: $model_id})-[r:MAPPED_TO]->(h:Hardware)
RETURN h.id AS hardware, r.batch AS batch, r.precision AS precision
ORDER BY hardware, batch, precision;
