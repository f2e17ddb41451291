"""Where an attempt runs: one small interface (``provider``) and its implementations."""
