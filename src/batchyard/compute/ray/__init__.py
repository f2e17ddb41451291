"""The Ray provider: attempts as Ray work on a Ray cluster (``pip install batchyard[ray]``).

Importing this package does not import Ray: the server talks to the cluster through a driver
process of its own (``bridge``), and only that process and the cluster (``node``) load Ray.
"""

from batchyard.compute.ray.provider import (
    ClusterCapacity,
    ClusterHealth,
    ClusterStatus,
    NodeImages,
    NodeView,
    RayAttempt,
    RayProvider,
)

__all__ = [
    "ClusterCapacity",
    "ClusterHealth",
    "ClusterStatus",
    "NodeImages",
    "NodeView",
    "RayAttempt",
    "RayProvider",
]
