"""Where cluster state comes from: files (snapshots, bundles), the bundled demo clusters, and the live
cluster (the only module that imports `kubernetes`). Each returns a model.Cluster."""
