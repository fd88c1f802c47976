// Delete the lock nodes model_lock.cypher made, at the end of the same transaction (the locks themselves
// are held until it commits or rolls back). $ids: the model ids.
UNWIND $ids AS id
MATCH (l:ModelWriteLock {id: id})
DELETE l;
