// Write several models in one statement: for each, the Model, its Ops with FEEDS among them, its Subgraphs
// with HAS from the model and FEEDS among them, and CONTAINS from each subgraph to its ops.
// $graphs: one map per model, in columns (a list per property, so no key is sent once per row):
//   model: the model's properties;
//   ops: {uid: [...], model_id: [...], index: [...], ...} one list per Op property, in index order;
//   subgraphs: the same for Subgraph properties;
//   op_edges, subgraph_edges: {s: [src index], d: [dst index], b: [bytes]}; contains: {s: [subgraph], o: [op]}.
// Edges index into the lists of nodes just created, so no row needs an index lookup. Each UNWIND sits in
// its own subquery, so an empty list (a model without ops) cuts nothing short. A null value sets nothing.
UNWIND $graphs AS g
CALL (g) {
  CREATE (m:Model)
  SET m = g.model
  WITH m
  CALL (g) {
    UNWIND range(0, size(g.ops.uid) - 1) AS i
    CREATE (o:Op {
      uid: g.ops.uid[i], model_id: g.ops.model_id[i], index: g.ops.index[i], name: g.ops.name[i],
      target: g.ops.target[i], kind: g.ops.kind[i], macs: g.ops.macs[i], flops: g.ops.flops[i],
      bytes_read: g.ops.bytes_read[i], bytes_written: g.ops.bytes_written[i],
      weight_bytes: g.ops.weight_bytes[i], output_shape: g.ops.output_shape[i], dtype: g.ops.dtype[i],
      module_path: g.ops.module_path[i], parallelism_batch: g.ops.parallelism_batch[i],
      parallelism_channels: g.ops.parallelism_channels[i], parallelism_spatial: g.ops.parallelism_spatial[i],
      costed: g.ops.costed[i], groups: g.ops.groups[i]
    })
    RETURN collect(o) AS ops
  }
  CALL (g, ops) {
    UNWIND range(0, size(g.op_edges.s) - 1) AS j
    WITH ops[g.op_edges.s[j]] AS a, ops[g.op_edges.d[j]] AS b, g.op_edges.b[j] AS bytes
    CREATE (a)-[:FEEDS {bytes: bytes}]->(b)
  }
  CALL (g, m) {
    UNWIND range(0, size(g.subgraphs.uid) - 1) AS i
    CREATE (s:Subgraph {
      uid: g.subgraphs.uid[i], model_id: g.subgraphs.model_id[i], index: g.subgraphs.index[i],
      pattern: g.subgraphs.pattern[i], macs: g.subgraphs.macs[i], flops: g.subgraphs.flops[i],
      external_bytes: g.subgraphs.external_bytes[i], input_bytes: g.subgraphs.input_bytes[i],
      output_bytes: g.subgraphs.output_bytes[i], weight_bytes: g.subgraphs.weight_bytes[i],
      intensity: g.subgraphs.intensity[i], parallelism_batch: g.subgraphs.parallelism_batch[i],
      parallelism_channels: g.subgraphs.parallelism_channels[i],
      parallelism_spatial: g.subgraphs.parallelism_spatial[i], anchor_kind: g.subgraphs.anchor_kind[i],
      uncosted_ops: g.subgraphs.uncosted_ops[i]
    })
    CREATE (m)-[:HAS]->(s)
    RETURN collect(s) AS sgs
  }
  CALL (g, sgs) {
    UNWIND range(0, size(g.subgraph_edges.s) - 1) AS j
    WITH sgs[g.subgraph_edges.s[j]] AS a, sgs[g.subgraph_edges.d[j]] AS b, g.subgraph_edges.b[j] AS bytes
    CREATE (a)-[:FEEDS {bytes: bytes}]->(b)
  }
  CALL (g, ops, sgs) {
    UNWIND range(0, size(g.contains.s) - 1) AS j
    WITH sgs[g.contains.s[j]] AS s, ops[g.contains.o[j]] AS o
    CREATE (s)-[:CONTAINS]->(o)
  }
  RETURN size(ops) AS ops, size(sgs) AS subgraphs
}
RETURN sum(ops) AS ops, sum(subgraphs) AS subgraphs;
