// The (hardware, batch, precision, runtime) overlays stored for one model. $model_id.
MATCH (:Model {id: $model_id})-[r:MAPPED_TO]->(h:Hardware)
RETURN h.id AS hardware, r.batch AS batch, r.precision AS precision, coalesce(r.runtime, 'compiled') AS runtime
ORDER BY hardware, batch, precision, runtime;
