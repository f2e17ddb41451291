"""The EventBridge service: rules, event patterns, schedules, targets and Batch's events."""
