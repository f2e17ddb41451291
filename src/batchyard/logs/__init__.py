"""The Logs service: a CloudWatch-Logs-shaped store of log groups, streams and events."""
