"""The Batch scheduler: places RUNNABLE jobs on compute environments when capacity frees up.

``ordering`` (which job of a queue goes next — replaceable, fair share swaps it),
``capacity`` (what each environment and the host have left), ``topology`` (the queues and
environments as the scheduler sees them), ``placement`` (one scheduling pass, pure) and
``dispatcher`` (the event-driven loop that runs passes and starts attempts).

Scheduling policies: ``fair_share`` (the fair-share ordering), ``share_usage`` (decayed
vCPU usage per share identifier), ``job_traits`` (share, priority and consumable needs of
waiting jobs) and ``policies`` (the ordering factory the dispatcher is built with, wrapping
each queue's ordering in the consumable-resource gate of ``batch/consumables``).
"""
