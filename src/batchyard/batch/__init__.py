"""The AWS Batch service."""
