// Overlay write, step 1: MERGE the (:Hardware) node by id and set its properties.
// $hardware: property map (id, name, kind, vendor, peaks, memory bandwidth, units, ...).
MERGE (h:Hardware {id: $hardware.id})
SET h = $hardware;
