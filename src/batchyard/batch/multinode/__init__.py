"""Multi-node parallel jobs: one job ``<id>`` run as ``numNodes`` node jobs ``<id>#<n>``.

``nodes`` (node ids, the per-node containers a submission resolves, the whole job's demand,
node documents), ``run`` (one attempt of the whole job: the main node first, the others once
it runs, the job's end when the main node ends) and ``listing`` (ListJobs
``multiNodeJobId``). The job is placed as one demand, the sum of its nodes', so either every
node starts or none does. All nodes run on this host, so the main node's address is
127.0.0.1; nodes are not single-tenant here.
"""
