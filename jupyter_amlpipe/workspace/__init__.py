"""The workspace on disk: config, metadata store, datastores, snapshots and run folders."""
