"""A job's container as a provider runs it: the typed form of AWS's ``containerProperties``.

``container_spec`` reads the document once (after overrides and ``Ref::`` parameters, as
the job's ``container`` block holds it); providers use only the dataclasses. The command,
the environment and the resources (vCPUs, memory, GPUs) are not repeated here: they are on
``AttemptSpec``, where every provider, container or not, finds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batchyard.aws.documents import JsonObject

# linuxParameters.devices[].permissions as the engine's cgroup rule letters.
DEVICE_PERMISSIONS = {"READ": "r", "WRITE": "w", "MKNOD": "m"}


@dataclass(frozen=True, slots=True)
class Ulimit:
    """One resource limit (``nofile``, ``nproc``, ``core`` …) with its soft and hard values."""

    name: str
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class Device:
    """A host device made visible inside the container; ``permissions`` as cgroup letters."""

    host_path: str
    container_path: str
    permissions: str = "rwm"


@dataclass(frozen=True, slots=True)
class Tmpfs:
    """A tmpfs mount of ``size_mib`` MiB with extra mount options (``noexec`` …)."""

    container_path: str
    size_mib: int
    mount_options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LinuxParameters:
    """``linuxParameters``: devices, an init process, /dev/shm, tmpfs mounts and swap."""

    devices: tuple[Device, ...] = ()
    init_process_enabled: bool = False
    shared_memory_mib: int | None = None
    tmpfs: tuple[Tmpfs, ...] = ()
    # None: no swap for the container (AWS: the instance's swap configuration, which the
    # ECS-optimized AMIs leave off); a number: that much swap beyond the memory limit.
    max_swap_mib: int | None = None
    swappiness: int | None = None


@dataclass(frozen=True, slots=True)
class EfsVolume:
    """An EFS file system; the provider finds it under its configured EFS host directory."""

    file_system_id: str
    root_directory: str = "/"


@dataclass(frozen=True, slots=True)
class Volume:
    """A named volume: a host path, an EFS file system, or (neither) one the engine makes
    for the container and removes with it, as Docker does for a volume without a host."""

    name: str
    host_path: str | None = None
    efs: EfsVolume | None = None


@dataclass(frozen=True, slots=True)
class MountPoint:
    """Where the volume named ``source_volume`` appears in the container."""

    container_path: str
    source_volume: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class RuntimePlatform:
    """The operating system and CPU architecture the job's container needs (Fargate's
    ``runtimePlatform``, with AWS's defaults)."""

    operating_system_family: str = "LINUX"
    cpu_architecture: str = "X86_64"


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """How to run the job's image, everything but command, environment and resources."""

    image: str
    # None: the image's ENTRYPOINT, which Batch's containerProperties cannot change (the
    # command replaces the image's CMD); an EKS container's ``command`` sets one.
    entrypoint: tuple[str, ...] | None = None
    user: str | None = None
    privileged: bool = False
    readonly_root_filesystem: bool = False
    ulimits: tuple[Ulimit, ...] = ()
    linux: LinuxParameters = field(default_factory=LinuxParameters)
    volumes: tuple[Volume, ...] = ()
    mount_points: tuple[MountPoint, ...] = ()
    # None: whatever the engine's host is (EC2 jobs, and Fargate jobs that do not say).
    platform: RuntimePlatform | None = None
    ephemeral_storage_gib: int | None = None


def container_spec(properties: JsonObject) -> ContainerSpec:
    """The spec of a job's ``container`` block (a validated ``containerProperties``)."""
    linux = properties.get("linuxParameters") or {}
    return ContainerSpec(
        image=str(properties.get("image") or ""),
        user=properties.get("user") or None,
        privileged=bool(properties.get("privileged")),
        readonly_root_filesystem=bool(properties.get("readonlyRootFilesystem")),
        ulimits=tuple(
            Ulimit(u["name"], int(u["softLimit"]), int(u["hardLimit"]))
            for u in properties.get("ulimits") or []
        ),
        linux=LinuxParameters(
            devices=tuple(_device(d) for d in linux.get("devices") or []),
            init_process_enabled=bool(linux.get("initProcessEnabled")),
            shared_memory_mib=_optional_int(linux.get("sharedMemorySize")),
            tmpfs=tuple(
                Tmpfs(t["containerPath"], int(t["size"]), tuple(t.get("mountOptions") or ()))
                for t in linux.get("tmpfs") or []
            ),
            max_swap_mib=_optional_int(linux.get("maxSwap")),
            swappiness=_optional_int(linux.get("swappiness")),
        ),
        volumes=tuple(_volume(v) for v in properties.get("volumes") or []),
        mount_points=tuple(
            MountPoint(m["containerPath"], m["sourceVolume"], bool(m.get("readOnly")))
            for m in properties.get("mountPoints") or []
            if m.get("containerPath") and m.get("sourceVolume")
        ),
        platform=_platform(properties.get("runtimePlatform")),
        ephemeral_storage_gib=_optional_int(
            (properties.get("ephemeralStorage") or {}).get("sizeInGiB")
        ),
    )


def _platform(document: JsonObject | None) -> RuntimePlatform | None:
    if not document:
        return None
    return RuntimePlatform(
        operating_system_family=document.get("operatingSystemFamily") or "LINUX",
        cpu_architecture=document.get("cpuArchitecture") or "X86_64",
    )


def _device(document: JsonObject) -> Device:
    host = document["hostPath"]
    permissions = document.get("permissions") or list(DEVICE_PERMISSIONS)
    return Device(
        host_path=host,
        container_path=document.get("containerPath") or host,
        permissions="".join(DEVICE_PERMISSIONS[p] for p in permissions if p in DEVICE_PERMISSIONS),
    )


def _volume(document: JsonObject) -> Volume:
    efs = document.get("efsVolumeConfiguration")
    return Volume(
        name=document.get("name") or "",
        host_path=(document.get("host") or {}).get("sourcePath") or None,
        efs=EfsVolume(efs["fileSystemId"], efs.get("rootDirectory") or "/") if efs else None,
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
