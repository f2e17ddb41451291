"""Array jobs: a parent ``<uuid>`` standing for ``size`` children ``<uuid>:<index>``.

Children are stored lazily. The parent row holds the array; a child gets a row of its own
only when something happens to it alone (it is dispatched, cancelled, released by a
dependency, blocked at the head of its queue). Until then ``children`` synthesizes it from
the parent, so DescribeJobs, ListJobs and the scheduler see every child while a 10,000-child
submission writes one row.

``children`` (ids and synthesized documents), ``ordering`` (one cursor per array in a
queue's RUNNABLE index instead of one entry per child), ``admission`` (releasing an array
whose own dependencies are met, in the store writer), ``progress`` (the in-memory count of
ended children that settles the parent, and cancel/terminate of a whole array),
``listing`` (``statusSummary`` and ListJobs ``arrayJobId``) and ``submission`` (SubmitJob
rules for ``arrayProperties`` and array ``dependsOn``).
"""
