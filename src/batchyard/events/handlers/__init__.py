"""EventBridge operation handlers; importing a module registers its operations."""
