"""The only code that knows two services: Step Functions tasks that call Batch, Lambda,
EventBridge and Step Functions itself; EventBridge targets; Batch's state changes into
EventBridge; job and function output into CloudWatch Logs."""
