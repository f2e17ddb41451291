"""The Batch scheduler: places RUNNABLE jobs on compute environments when capacity frees up.

``dispatcher`` (the event-driven loop that admits new jobs, runs passes and starts attempts),
``placement`` (one scheduling pass, pure, and the queues, environments and capacity it plans
with), ``ordering`` (which job of a queue goes next: FIFO and fair share), ``policies`` (the
ordering factory the dispatcher is built with: fair share and consumable resources per queue),
``consumables`` (the consumable-resource pool and the gate that holds a queue's head) and
``arrays`` (admitting and following array jobs, one queue entry per released array).
"""
