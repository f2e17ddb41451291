"""Step Functions operation handlers, one module per resource family; thin wrappers over the
resource functions and the engine."""
