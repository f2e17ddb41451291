"""Queue health: why a queue's head is blocked (AWS's reason codes and texts) and the
fair-share part of a queue snapshot."""
