"""The Batch scheduler: places RUNNABLE jobs on compute environments when capacity frees up.

``ordering`` (which job of a queue goes next — replaceable, fair share swaps it),
``capacity`` (what each environment and the host have left), ``topology`` (the queues and
environments as the scheduler sees them), ``placement`` (one scheduling pass, pure) and
``dispatcher`` (the event-driven loop that runs passes and starts attempts).
"""
