// perfgraph: stages of $model
// Kernels per stage: stage 0 has no predecessor, else 1 + the latest predecessor; the kernels of one
// stage may run at once. $model: a model id or name (`:param model => 'resnet18'`).
MATCH (m:Model)-[:HAS]->(s:Subgraph)
WHERE m.id = $model OR m.name = $model
WITH m.id AS model, s ORDER BY s.index
WITH model, s.stage AS stage, count(*) AS kernels, collect(s.index) AS kernel_indices, sum(s.flops) AS flops
RETURN model, stage, kernels, kernel_indices, round(flops / 1e6, 1) AS mflops
ORDER BY model, stage;
