"""The durable execution engine: runs the ASL interpreter, persists history and checkpoints,
resumes Standard executions after a restart, and dispatches tasks to activities and callbacks."""
