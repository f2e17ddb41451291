"""Batch resources: compute environments, job queues, job definitions, scheduling policies
and the tags of every Batch resource.

The API handlers (``batch/handlers/resources.py``) call the async operations of each family
(``create`` / ``update`` / ``delete`` / ``describe`` ...). Other parts of the service use
these plain, synchronous lookups on a SQLAlchemy ``Connection`` — run them inside
``await runtime.store.read(fn)`` or inside your own ``runtime.store.write(fn)`` transaction:

``job_definitions.resolve(conn, ref)``
    Definition for ``name`` (latest ACTIVE revision), ``name:revision`` or ARN; the
    Describe-shaped dict (no tags) or None. Check ``["status"] == "ACTIVE"`` yourself.
``job_queues.get(conn, ref)``
    Queue by name or ARN (Describe shape, no tags) or None.
``job_queues.compute_environments_of(conn, queue)``
    The queue's compute environment documents, lowest ``order`` first.
``job_queues.list_enabled(conn)`` / ``job_queues.list_all(conn)``
    ENABLED queues by descending priority / every queue.
``compute_environments.get(conn, ref)`` / ``compute_environments.get_many(conn, refs)``
    Compute environment(s) by name or ARN.
``scheduling_policies.get(conn, arn)``
    Scheduling policy (``fairsharePolicy`` with defaults filled in) or None.
``tags.get_tags(conn, arn)`` / ``tags.add_tags(conn, arn, tags)`` / ``tags.drop_tags(conn, arn)``
    The shared tag store, keyed by ARN.
``tags.register_taggable("job", exists)``
    Make another resource type's ARNs work with TagResource / UntagResource /
    ListTagsForResource; ``exists(conn, arn) -> bool``.
``job_definition_rules.check_retry_strategy / check_timeout``, ``container_rules.check_environment``
    The same validation for SubmitJob overrides.
``job_definition_rules.node_range_for(nodeProperties, index)``
    The node range that configures one node of a multi-node job (narrowest range wins).
``names.require_name(value, "Job name")`` / ``names.client_error(message)``
    AWS's name rule and message; the ClientException every refusal uses.

Changes are announced on ``runtime.bus`` topic ``events.TOPIC`` (``"batch.resources"``) once
committed; see ``events`` for the event shape. Status settles asynchronously (CREATING ->
VALID), so a freshly created queue or environment is usable once its ``"status"`` event says
VALID.
"""
