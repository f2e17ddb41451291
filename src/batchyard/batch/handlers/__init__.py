"""Batch operation handlers, one module per resource family; thin wrappers over the domain."""
