"""Ray configuration, the capacity arithmetic, and that nothing outside the driver needs Ray."""

from __future__ import annotations

import ast
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from tests.support.podman import PodmanService

from batchyard.compute.provider import AttemptSpec, LaunchError
from batchyard.compute.ray import ClusterCapacity, node_container
from batchyard.config import load_settings, ray_cluster_address
from batchyard.server.compose import ray_endpoint_url


def test_default_and_named_clusters_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "batchyard.toml"
    config.write_text(
        '[batchyard]\nray_address = "10.0.0.5:6379"\n'
        '[batchyard.ray_clusters]\ngpu = "10.0.1.5:6379"\ncpu = "10.0.2.5:6379"\n'
    )
    settings = load_settings(environ={}, config_file=config)
    assert ray_cluster_address(settings) == "10.0.0.5:6379"
    assert ray_cluster_address(settings, "gpu") == "10.0.1.5:6379"
    with pytest.raises(LookupError, match=r"no Ray cluster named 'tpu'.*named: cpu, gpu"):
        ray_cluster_address(settings, "tpu")
    settings = load_settings(
        environ={
            "BATCHYARD_RAY_ADDRESS": "127.0.0.1:7000",
            "BATCHYARD_RAY_CLUSTERS": "a=h:1, b=h:2",
        },
        config_file=config,
    )
    assert ray_cluster_address(settings, "default") == "127.0.0.1:7000"
    assert settings.ray_clusters == {"a": "h:1", "b": "h:2"}
    with pytest.raises(ValueError, match="name=value pairs"):
        load_settings(environ={"BATCHYARD_RAY_CLUSTERS": "nameless"}, config_file=config)
    with pytest.raises(LookupError, match="BATCHYARD_RAY_ADDRESS"):
        ray_cluster_address(load_settings(environ={}, config_file=tmp_path / "absent.toml"))


def test_whether_ray_nodes_run_images_is_none_auto_or_an_engine_address() -> None:
    assert load_settings(environ={}).ray_container_engine == "none"
    for given, kept in (
        ("Auto", "auto"),
        ("unix:///run/podman/podman.sock", "unix:///run/podman/podman.sock"),
        ("tcp://10.0.0.7:2375", "tcp://10.0.0.7:2375"),
    ):
        settings = load_settings(environ={"BATCHYARD_RAY_CONTAINER_ENGINE": given})
        assert settings.ray_container_engine == kept
    for wrong in ("docker", "/run/docker.sock", "unix://"):
        with pytest.raises(ValueError, match="ray_container_engine must be none, auto or"):
            load_settings(environ={"BATCHYARD_RAY_CONTAINER_ENGINE": wrong})


def test_a_node_finds_its_engine_by_its_docker_host_or_says_which_node_has_none(
    podman: PodmanService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What ``auto`` and an address find, as the attempt task calls it on its node."""
    monkeypatch.setenv("DOCKER_HOST", podman.url)
    found = node_container.find_engine("auto", "10.0.0.7")
    try:
        assert found.url == podman.url and found.podman
    finally:
        found.api.close()
    missing = f"unix://{tmp_path}/none.sock"
    with pytest.raises(LaunchError) as refused:
        node_container.find_engine(missing, "10.0.0.7")
    assert refused.value.reason.startswith(
        f"CannotStartContainerError: the Ray node 10.0.0.7 has no container engine answering "
        f"at {missing}: "
    )


def test_the_node_code_needs_only_the_standard_library_and_ray_to_run_commands() -> None:
    """``node`` is shipped to the cluster by value: what it imports at its top is all a node
    needs; batchyard is imported there only for images (``node_container``)."""
    from batchyard.compute.ray import node

    tree = ast.parse(Path(node.__file__).read_text())
    top = set()
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            top.update(alias.name.split(".")[0] for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom) and statement.module:
            top.add(statement.module.split(".")[0])
    assert top - set(sys.stdlib_module_names) - {"__future__"} == {"ray"}
    inner = {
        statement.module
        for statement in ast.walk(tree)
        if isinstance(statement, ast.ImportFrom) and statement not in tree.body
    }
    assert inner == {"batchyard.compute.ray"}


def test_importing_batchyard_and_the_ray_provider_does_not_import_ray() -> None:
    script = (
        "import sys, batchyard.cli, batchyard.server.compose, batchyard.compute.ray\n"
        "print('ray' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def _node(vcpus: float, memory_mib: int, free_vcpus: float) -> dict[str, object]:
    mib = 1024 * 1024
    return {
        "node_id": uuid.uuid4().hex,
        "ip": "127.0.0.2",
        "total": {"CPU": vcpus, "memory": memory_mib * mib, "node:127.0.0.2": 1.0},
        "available": {"CPU": free_vcpus, "memory": memory_mib * mib},
    }


def _spec(vcpus: float, memory_mib: int | None = None, gpus: int = 0) -> AttemptSpec:
    return AttemptSpec("a", "j", ["true"], {}, vcpus=vcpus, memory_mib=memory_mib, gpus=gpus)


def test_what_fits_is_decided_node_by_node() -> None:
    cluster = ClusterCapacity.parse([_node(4, 8192, 1), _node(2, 16384, 2)])
    assert (cluster.total.vcpus, cluster.total.memory_mib, cluster.available.vcpus) == (
        6.0, 24576, 3.0
    )
    # 4 vCPU and 16 GiB exist in the cluster, but not on one node.
    assert cluster.fits(_spec(4, 8192)) and not cluster.fits(_spec(4, 16384))
    assert cluster.fits(_spec(2)) and cluster.fits_now(_spec(2)) and not cluster.fits_now(_spec(3))
    assert not cluster.fits(_spec(1, gpus=1))
    assert cluster.gang_fits([_spec(2), _spec(4)]) and not cluster.gang_fits([_spec(3), _spec(3)])
    assert not cluster.gang_fits([_spec(1)] * 3)


def test_rays_own_failures_become_exits_with_reasons() -> None:
    # Ray is imported here only: the other tests of this module check that batchyard itself
    # never imports it.
    import ray.exceptions

    from batchyard.compute.provider import OUT_OF_MEMORY_REASON
    from batchyard.compute.ray import node

    out_of_memory = node._failure(ray.exceptions.OutOfMemoryError("Task was killed due to OOM"))
    assert out_of_memory == {"code": 137, "reason": OUT_OF_MEMORY_REASON, "out_of_memory": True}
    died = node._failure(ray.exceptions.NodeDiedError("The node 127.0.0.2 died.\nmore text"))
    assert died == {
        "code": None, "reason": "NodeDiedError: The node 127.0.0.2 died.", "out_of_memory": False
    }


def test_where_jobs_on_ray_reach_this_server(tmp_path: Path) -> None:
    def url(cluster: str, **environ: str) -> str | None:
        settings = load_settings(environ=environ, config_file=tmp_path / "absent.toml")
        return ray_endpoint_url(settings, cluster)

    # A cluster on this machine's loopback reaches the loopback listener.
    assert url("127.0.0.2:6379") == "http://127.0.0.1:4580"
    assert url("localhost:6379") == "http://127.0.0.1:4580"
    # Other machines' nodes: the configured address, or a specific listen address.
    assert url("10.0.0.5:6379") is None
    assert url("10.0.0.5:6379", BATCHYARD_RAY_ENDPOINT_URL="http://10.0.0.9:4580") == (
        "http://10.0.0.9:4580"
    )
    assert url("10.0.0.5:6379", BATCHYARD_HOST="10.0.0.9") == "http://10.0.0.9:4580"
