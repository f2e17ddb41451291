"""Fixtures of the compute tests: one private Podman for the session and its test images; the
Ray cluster every Ray test shares, and a provider on an event loop of its own.

Nothing is skipped when Podman or Ray is missing: the fixtures fail with what to install, so
a CI machine without them fails loudly instead of passing on nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tests.support.images import PYTHON, import_busybox_images, import_python_image
from tests.support.podman import PodmanService
from tests.support.ray_cluster import ProviderHarness, RayCluster


@pytest.fixture(scope="session")
def podman() -> Iterator[PodmanService]:
    """A running Podman service with the busybox images imported."""
    service = PodmanService().start()
    try:
        began = time.monotonic()
        import_busybox_images(service)
        print(f"\nbusybox test images imported in {time.monotonic() - began:.1f}s")
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def python_image(podman: PodmanService) -> str:
    """The Debian python3 + boto3 image (its root file system is built once and cached)."""
    began = time.monotonic()
    import_python_image(podman)
    print(f"\npython test image ready in {time.monotonic() - began:.1f}s")
    return PYTHON


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A head without CPUs (the supervisor lives there) and two worker nodes of 2 CPUs."""
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
