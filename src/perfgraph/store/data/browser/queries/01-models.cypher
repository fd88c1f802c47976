// perfgraph: models in the store
// Every stored model with its size, depth (stages) and widest stage (graph-level parallelism).
MATCH (m:Model)
RETURN m.id AS model, m.name AS name, m.batch AS batch, m.dtype AS dtype, m.subgraphs AS kernels,
       m.depth AS stages, m.width AS widest_stage_kernels, round(m.macs / 1e9, 3) AS gmacs,
       round(m.params / 1e6, 2) AS mparams
ORDER BY name, batch, model;
