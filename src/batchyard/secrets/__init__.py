"""Secrets for jobs: ``secrets[].valueFrom`` references (Secrets Manager and SSM Parameter Store
ARNs, or parameter names) resolved from a local file when an attempt starts."""
