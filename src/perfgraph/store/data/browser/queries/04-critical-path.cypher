// perfgraph: critical path of $model
// The heaviest path through the kernel DAG by FLOPs (marked at ingest), source to sink. $model: id or name.
MATCH (m:Model)-[:HAS]->(s:Subgraph {on_critical_path: true})
WHERE m.id = $model OR m.name = $model
RETURN m.id AS model, s.stage AS stage, s.index AS kernel, s.pattern AS pattern,
       round(s.flops / 1e6, 1) AS mflops, round(s.intensity, 1) AS flop_per_byte
ORDER BY model, stage;
