"""Batch jobs: submission, the AWS lifecycle, attempts, retries, cancel/terminate, queries."""
