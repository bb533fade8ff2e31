"""The Trainyard API server: routes -> services -> executors and storage."""
