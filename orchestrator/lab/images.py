"""The base image shakedown/base:1, built offline from Debian's busybox-static (no registry is reachable)."""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Callable

from .dockerd import docker
from .proc import env, run, run_bytes
from .spec import BASE_IMAGE, LabHost

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def rootfs_tar() -> bytes:
    """A minimal root filesystem: busybox plus one symlink per applet, at the path busybox itself names."""
    busybox = shutil.which("busybox", path=env()["PATH"])
    assert busybox is not None  # prereqs.check() ran first
    applets = run([busybox, "--list-full"]).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs = {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "tmp", "var", "var/www", "proc",
                "sys", "dev", "run"}
        dirs |= {a.rsplit("/", 1)[0] for a in applets if "/" in a}
        for d in sorted(dirs):
            _add(tar, d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else (0o700 if d == "root" else 0o755))
        with open(busybox, "rb") as fh:
            data = fh.read()
        _add(tar, "bin/busybox", tarfile.REGTYPE, 0o755, data=data)
        for applet in applets:
            if applet != "bin/busybox":
                _add(tar, applet, tarfile.SYMTYPE, 0o777, link="/bin/busybox")
        _add(tar, "etc/passwd", tarfile.REGTYPE, 0o644, data=PASSWD.encode())
        _add(tar, "etc/group", tarfile.REGTYPE, 0o644, data=GROUP.encode())
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 0  # same bytes on every build
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def has_image(host: LabHost, ref: str) -> bool:
    return docker(host, "image", "inspect", "--format", "{{.Id}}", ref, check=False).returncode == 0


def ensure_base(host: LabHost, echo: Callable[[str], None], cache: dict[str, bytes]) -> None:
    if has_image(host, BASE_IMAGE):
        echo(f"{host.name}: image {BASE_IMAGE} already present")
        return
    if "tar" not in cache:
        cache["tar"] = rootfs_tar()
    image_id = run_bytes(
        ["docker", "-H", host.docker_host, "import",
         "--change", f"ENV PATH={PATH}", "--change", 'CMD ["/bin/sh"]',
         "-", BASE_IMAGE],
        cache["tar"],
        timeout=120,
    ).strip()
    echo(f"{host.name}: image {BASE_IMAGE} imported ({image_id[:19]})")

