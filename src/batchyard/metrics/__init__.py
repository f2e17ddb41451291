"""The server's Prometheus metrics: what the services announce on the bus, what the HTTP API
answers and how long the store's commits take, in one registry per server.

Nothing here imports a service: the composition root subscribes :class:`Metrics` to the bus
topics and hands it the one query it needs (jobs by queue and status), so the bus's documents
(AWS-shaped, as DescribeJobs and EventBridge show them) are all it reads.
"""

from batchyard.metrics.registry import CONTENT_TYPE, JobCounts, Metrics

__all__ = ["CONTENT_TYPE", "JobCounts", "Metrics"]
