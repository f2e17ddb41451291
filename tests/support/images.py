"""Test images made here, without a registry, so the container tests pass offline.

- ``busybox``: a root file system of the host's busybox-static (one static binary and its
  applet links, a passwd with an unprivileged user), built in a fraction of a second at
  every session; ``entrypoint`` is the same files with an ENTRYPOINT and a CMD of its own.
- ``python``: Debian with python3 and boto3, made by mmdebstrap from the Debian archive
  the host's package sources name. Its suite is trixie, whatever the host runs: boto3 reads
  ``AWS_ENDPOINT_URL`` from 1.28 on, and bookworm's is 1.26, so a job in a bookworm image
  could not reach batchyard without code of its own. Building it takes about 40 s and
  downloads about 60 MB, so the root file system is kept, as a tar file keyed by its
  recipe, in ``$BATCHYARD_TEST_CACHE`` (default ``~/.cache/batchyard-tests``); each
  session imports it into its own Podman (about 5 s).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.podman import PodmanService

BUSYBOX = "localhost/batchyard-test/busybox:1"
ENTRYPOINT = "localhost/batchyard-test/entrypoint:1"
PYTHON = "localhost/batchyard-test/python:1"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The unprivileged user of the busybox image.
JOB_USER, JOB_UID = "jobuser", 1234

# Prints a container's CPU quota and period, memory limit and swap (cgroup v2 or v1), as
# "cpu <quota> <period>", "memory <bytes>", "swap <bytes>" (v1 also "swappiness <n>").
CGROUP_LIMITS = """
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  read quota period < /sys/fs/cgroup/cpu.max; echo cpu $quota $period
  echo memory $(cat /sys/fs/cgroup/memory.max)
  echo swap $(cat /sys/fs/cgroup/memory.swap.max)
else
  echo cpu $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
  echo memory $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
  echo swap $(( $(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes) - \
    $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) ))
  echo swappiness $(cat /sys/fs/cgroup/memory/memory.swappiness)
fi
"""

DEBIAN_SUITE = "trixie"
DEBIAN_PACKAGES = ("python3-minimal", "python3-boto3")
# botocore's models of the services a test job calls; the other 400 are 100 MB of JSON.
BOTOCORE_MODELS = ("batch", "stepfunctions", "lambda", "events", "logs", "sts")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
RECIPE_VERSION = 1


def busybox_rootfs(target: Path) -> Path:
    """Write the busybox root file system to the tar file ``target``."""
    busybox = shutil.which("busybox")
    if busybox is None or "statically linked" not in _describe(busybox):
        raise RuntimeError(
            "the busybox test image needs busybox-static: apt-get install busybox-static"
        )
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    with tarfile.open(target, "w") as tar:
        for directory, mode in (
            ("bin", 0o755),
            ("etc", 0o755),
            ("tmp", 0o1777),
            ("root", 0o700),
            ("home", 0o755),
            ("proc", 0o555),
            ("sys", 0o555),
            ("dev", 0o755),
        ):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(busybox, "bin/busybox")
        for applet in applets.stdout.split():
            if applet != "busybox":
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
        files = {
            "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"
            f"{JOB_USER}:x:{JOB_UID}:{JOB_UID}::/tmp:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/:/bin/false\n",
            "etc/group": f"root:x:0:\n{JOB_USER}:x:{JOB_UID}:\nnogroup:x:65534:\n",
        }
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return target


def _describe(path: str) -> str:
    found = shutil.which("file")
    if found is None:
        # Without file(1): a static binary has no program interpreter.
        return "statically linked" if b"ld-linux" not in Path(path).read_bytes()[:4096] else ""
    return subprocess.run([found, "-L", path], capture_output=True, text=True).stdout


def import_image(service: PodmanService, rootfs: Path, name: str, *changes: str) -> str:
    """Import ``rootfs`` into ``service`` as image ``name`` with Dockerfile ``changes``."""
    options = [f"--change={change}" for change in (f"ENV PATH={PATH}", *changes)]
    service.podman("import", *options, str(rootfs), name)
    return name


def import_busybox_images(service: PodmanService) -> None:
    """``BUSYBOX`` (CMD sh) and ``ENTRYPOINT`` (an echo entry point with a default CMD)."""
    with tempfile.TemporaryDirectory() as scratch:
        rootfs = busybox_rootfs(Path(scratch) / "busybox.tar")
        import_image(service, rootfs, BUSYBOX, 'CMD ["sh"]')
        import_image(
            service,
            rootfs,
            ENTRYPOINT,
            'ENTRYPOINT ["/bin/echo", "from-entrypoint"]',
            'CMD ["default-command"]',
        )


def import_python_image(service: PodmanService) -> None:
    """``PYTHON``, from the cached Debian root file system (built on first use)."""
    import_image(service, debian_python_rootfs(), PYTHON, 'CMD ["python3"]')


def cache_dir() -> Path:
    """Where built root file systems are kept between sessions."""
    configured = os.environ.get("BATCHYARD_TEST_CACHE")
    path = Path(configured) if configured else Path.home() / ".cache" / "batchyard-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def debian_sources() -> str:
    """A deb822 sources file for ``DEBIAN_SUITE`` on the Debian archive the host uses."""
    for uri in _configured_uris():
        if not uri.rstrip("/").endswith("-security"):
            return (
                f"Types: deb\nURIs: {uri}\nSuites: {DEBIAN_SUITE}\nComponents: main\n"
                f"Signed-By: {KEYRING}\n"
            )
    raise RuntimeError("no Debian archive in the host's apt sources (/etc/apt/sources.list*)")


def _configured_uris() -> Iterator[str]:
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        for line in path.read_text().splitlines():
            if line.startswith("URIs:") and "debian" in line:
                yield from line.split()[1:]
    for path in [Path("/etc/apt/sources.list"), *sorted(sources.glob("*.list"))]:
        if path.is_file():
            for line in path.read_text().splitlines():
                words = line.split()
                if len(words) > 2 and words[0] == "deb" and "debian" in line:
                    yield next(w for w in words[1:] if "://" in w)


def debian_python_rootfs() -> Path:
    """The Debian python3 + boto3 root file system as a tar file, built once per recipe."""
    sources = debian_sources()
    recipe = json.dumps(
        [RECIPE_VERSION, DEBIAN_SUITE, DEBIAN_PACKAGES, BOTOCORE_MODELS, sources], sort_keys=True
    )
    directory = cache_dir()
    target = directory / f"debian-python-{hashlib.sha256(recipe.encode()).hexdigest()[:16]}.tar"
    with _locked(directory / ".lock"):
        if target.exists():
            return target
        if shutil.which("mmdebstrap") is None:
            raise RuntimeError(
                "the python test image is built with mmdebstrap: apt-get install mmdebstrap"
            )
        with tempfile.TemporaryDirectory(dir=directory) as scratch:
            sources_file = Path(scratch) / "debian.sources"
            sources_file.write_text(sources)
            built = Path(scratch) / "rootfs.tar"
            data = "$1/usr/lib/python3/dist-packages/botocore/data"
            keep = "|".join(f"{model}/" for model in BOTOCORE_MODELS)
            finished = subprocess.run(
                [
                    "mmdebstrap",
                    "--quiet",
                    "--variant=essential",
                    f"--include={','.join(DEBIAN_PACKAGES)}",
                    *(f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("doc", "man", "locale")),
                    f'--customize-hook=cd "{data}" && for d in */; do case "$d" in {keep}) ;; '
                    '*) rm -rf "$d" ;; esac; done',
                    DEBIAN_SUITE,
                    str(built),
                    str(sources_file),
                ],
                capture_output=True,
                text=True,
                timeout=900,
            )
            if finished.returncode != 0:
                raise RuntimeError(f"mmdebstrap failed ({finished.returncode}):\n{finished.stderr}")
            os.replace(built, target)
    return target


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``: parallel sessions build an image only once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
