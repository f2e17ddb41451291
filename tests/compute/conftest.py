"""Fixtures of the container tests: one private Podman for the session and its test images.

Nothing is skipped when Podman is missing: the fixture fails with what to install, so a CI
machine without it fails loudly instead of passing on nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tests.support.images import PYTHON, import_busybox_images, import_python_image
from tests.support.podman import PodmanService


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
