"""Each lab host's login user and the group that owns its docker socket."""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Callable
from pathlib import Path

from .proc import run
from .spec import LabHost

# With UsePAM no, sshd rejects accounts whose password field starts with '!' (locked), even for key logins;
# '*' means "no password can match" without "locked".
LOCKED_PREFIX = "!"


def ensure(host: LabHost, echo: Callable[[str], None]) -> None:
    changed: list[str] = []
    try:
        grp.getgrnam(host.docker_group)
    except KeyError:
        run(["groupadd", "--system", host.docker_group])
        changed.append(f"group {host.docker_group} created")
    try:
        pw = pwd.getpwnam(host.user)
    except KeyError:
        # A plain shell and home from /etc/skel: not root's ~/.bashrc (pyenv init slows every remote command).
        run(["useradd", "-m", "-s", "/bin/bash", "-G", host.docker_group, host.user])
        pw = pwd.getpwnam(host.user)
        changed.append(f"user {host.user} created")
    if pw.pw_shell != "/bin/bash":
        run(["usermod", "-s", "/bin/bash", host.user])
        changed.append("shell set to /bin/bash")
    if host.user not in grp.getgrnam(host.docker_group).gr_mem:
        run(["usermod", "-aG", host.docker_group, host.user])
        changed.append(f"added to {host.docker_group}")
    if _password_field(host.user).startswith(LOCKED_PREFIX):
        run(["usermod", "-p", "*", host.user])
        changed.append("account unlocked for key login (password '*')")
    if _ensure_gitconfig(host, Path(pw.pw_dir), pw.pw_uid, pw.pw_gid):
        changed.append("~/.gitconfig written")
    if changed:
        echo(f"{host.name}: user {host.user}: {'; '.join(changed)}")
    else:
        echo(f"{host.name}: user {host.user} already set up")


def _password_field(user: str) -> str:
    for line in Path("/etc/shadow").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user and len(fields) > 1:
            return fields[1]
    return ""


def _ensure_gitconfig(host: LabHost, home: Path, uid: int, gid: int) -> bool:
    """Let the login user fetch from the root-owned lab repo (git refuses other owners' repos by default)."""
    if host.repo is None:
        return False
    content = (
        "# written by shakedown's lab\n"
        "[user]\n\tname = Shakedown Lab\n\temail = lab@shakedown.invalid\n"
        f"[safe]\n\tdirectory = {host.repo}\n"
    )
    path = home / ".gitconfig"
    try:
        if path.read_text() == content:
            return False
    except OSError:
        pass
    path.write_text(content)
    os.chown(path, uid, gid)
    return True
