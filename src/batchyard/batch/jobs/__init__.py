"""Batch jobs: the typed core, submission, the AWS lifecycle, attempts, queries, retention.

``model`` (the job, its statuses and texts), ``transitions`` (the one table that changes a
job's status, and announces it), ``records`` (rows), ``submit`` (SubmitJob), ``queries``
(DescribeJobs, ListJobs), ``attempts`` and ``multinode`` (running one attempt), ``arrays``
and ``nodes`` (array children and multi-node nodes), ``retention`` (purging finished jobs);
``commands`` is the ``batchyard`` CLI's job commands.
"""
