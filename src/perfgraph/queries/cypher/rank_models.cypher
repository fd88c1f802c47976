// Named query `rank_models`: every stored model ranked by a property, largest first.
// $by: depth, width (widest stage), macs, flops, params, subgraphs or ops.
MATCH (m:Model) WHERE m.stub IS NULL  // not the source stubs that phase graphs link to
RETURN m.id AS model, m.name AS name, m[$by] AS value
ORDER BY value DESC, model ASC;
