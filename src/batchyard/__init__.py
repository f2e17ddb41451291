"""batchyard: a self-hosted AWS Batch and Step Functions that speaks the AWS wire protocols."""

__version__ = "0.1.0"
