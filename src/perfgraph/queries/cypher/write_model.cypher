// Create the Model node. $model: its properties (a map).
CREATE (m:Model) SET m = $model;
