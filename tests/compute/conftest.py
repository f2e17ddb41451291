"""The Ray cluster every Ray test shares, and a provider on an event loop of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.ray_cluster import ProviderHarness, RayCluster


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A head without CPUs (the supervisor lives there) and two worker nodes of 2 CPUs."""
    pytest.importorskip("ray")
    cluster = RayCluster()
    try:
        cluster.start_head(num_cpus=0)
        cluster.add_node(num_cpus=2)
        cluster.add_node(num_cpus=2)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def ray_harness(
    ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProviderHarness]:
    """The provider the Ray tests share, connected to ``ray_cluster``."""
    root = tmp_path_factory.mktemp("ray-provider")
    harness = ProviderHarness(ray_cluster.address, root / "attempts", root / "driver.log")
    yield harness
    harness.close()
