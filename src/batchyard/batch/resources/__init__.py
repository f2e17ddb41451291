"""Batch resources: compute environments, job queues, job definitions, scheduling policies,
consumable resources, and the tags of every taggable Batch resource.

``model`` holds the typed resources; one module per resource family holds what its
operations do on a store connection (the facade commits, announces on ``batch.resources`` and
settles CREATING/UPDATING/DELETING), and the lookups SubmitJob and the scheduler need;
``store`` the shared row access and the tags; ``environment_rules`` and ``definition_rules``
AWS's validation of compute environments, job definitions and containers.
"""
