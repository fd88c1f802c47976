// Serialise the writers of the same models: MERGE one lock node per model id before reading whether the
// models are stored. The id is unique (schema.cypher), so a second transaction that MERGEs the same id
// waits on the first one's lock until that transaction ends, then reads what it committed. The Model
// node itself cannot serve: a new model has none yet, and a replace deletes it. model_unlock.cypher
// deletes the lock nodes in the same transaction, so none outlives it (a killed one rolls them back).
// $ids: the model ids, sorted (every writer locks in the same order, so two never deadlock).
UNWIND $ids AS id
MERGE (:ModelWriteLock {id: id});
