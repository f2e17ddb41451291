"""AWS Batch: compute environments, job queues, job definitions, scheduling policies,
consumable resources and jobs. :class:`Batch` is the service's one door; the bus topics it
announces job state changes and blocked queues on are in ``batch.events``."""

from batchyard.batch.events import JOB_TOPIC, QUEUE_BLOCKED_TOPIC, RESOURCES_TOPIC
from batchyard.batch.jobs.attempts import JobLogs
from batchyard.batch.jobs.model import Job, JobStatus
from batchyard.batch.jobs.submit import JobRequest
from batchyard.batch.service import Batch

__all__ = [
    "JOB_TOPIC",
    "QUEUE_BLOCKED_TOPIC",
    "RESOURCES_TOPIC",
    "Batch",
    "Job",
    "JobLogs",
    "JobRequest",
    "JobStatus",
]
