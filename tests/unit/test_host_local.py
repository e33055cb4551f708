"""The one Host API, exercised for real on the `local` host (Invoke on this machine, no SSH)."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import subprocess
import time
from pathlib import Path

import pytest

from orchestrator import host as host_module
from orchestrator.config.inventory import HostSpec
from orchestrator.errors import CommandError, CommandTimeout
from orchestrator.host import Host

NASTY = "a b;$(touch pwned)`touch pwned2` 'q\" *"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def still_running(marker: str) -> str:
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True)
    return found.stdout if found.returncode == 0 else ""


@pytest.fixture
def tokens(monkeypatch) -> list[str]:
    """The random tokens the Host API draws during the test (they name its /tmp/.shakedown-* files)."""
    drawn: list[str] = []
    real = secrets.token_hex

    def spy(n: int | None = None) -> str:
        drawn.append(real(n))
        return drawn[-1]

    monkeypatch.setattr(host_module.secrets, "token_hex", spy)
    return drawn


def leftovers(tokens: list[str]) -> list[str]:
    """Files in /tmp made by the Host API during this test that are still there."""
    assert tokens, "the spy saw no token: the Host API no longer names its temp files this way"
    return [p.name for p in Path("/tmp").glob(".shakedown-*") if any(t in p.name for t in tokens)]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty directory (tmp_path itself holds the inventory)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


# -- run ----------------------------------------------------------------------------------------------
def test_run_returns_output_and_exit_code(local_host):
    result = local_host.run("echo out; echo err >&2; exit 3", warn=True)
    assert (result.host, result.exit_code, result.stdout, result.stderr) == ("local", 3, "out\n", "err\n")
    assert not result.ok
    assert local_host.run("true").ok


def test_run_is_posix_sh_with_quotes_kept(local_host):
    assert local_host.run("""printf '%s|' "it's" 'a  b' $((1+2))""").stdout == "it's|a  b|3|"


def test_run_forces_noninteractive_environment(local_host):
    out = local_host.run('echo "$LC_ALL $GIT_TERMINAL_PROMPT $DEBIAN_FRONTEND $EXTRA"', env={"EXTRA": "x y"}).stdout
    assert out == "C.UTF-8 0 noninteractive x y\n"


def test_nonzero_exit_raises_command_error_naming_everything(local_host):
    command = "for i in $(seq 1 20); do echo line$i >&2; done; exit 7"
    with pytest.raises(CommandError) as info:
        local_host.run(command)
    err = info.value
    assert (err.host, err.command, err.returncode) == ("local", command, 7)
    assert err.exit_code == 3  # infrastructure, not a failed check
    message = str(err)
    assert message.startswith("local: command ")
    assert "seq 1 20" in message and "exited 7" in message
    assert "line20" in message and "line16" in message
    assert "line1\n" not in message and "line15" not in message  # only the tail of stderr
    assert "was printed" not in message  # never Invoke's misleading UnexpectedExit text


@pytest.mark.timeout(20)  # an unbounded command must fail here, not hang the suite
def test_timeout_raises_and_kills_the_process_on_the_host(local_host, tokens):
    marker = f"sleep 600.{secrets.randbelow(10**6):06d}"
    start = time.monotonic()
    with pytest.raises(CommandTimeout) as info:
        local_host.run(marker, timeout=1)
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 4
    assert info.value.timeout == 1 and info.value.host == "local"
    assert "timed out after 1s" in str(info.value) and marker in str(info.value)
    assert still_running(marker) == ""
    assert leftovers(tokens) == []  # no pid file or other temp file left in /tmp


@pytest.mark.timeout(20)  # an unbounded command must fail here, not hang the suite
def test_timeout_is_not_swallowed_by_warn(local_host):
    with pytest.raises(CommandTimeout):
        local_host.run("sleep 30", timeout=0.3, warn=True)


def test_non_positive_timeout_raises_without_running(local_host, tmp_path):
    with pytest.raises(CommandTimeout):
        local_host.run(f"touch {tmp_path}/ran", timeout=0)
    assert not (tmp_path / "ran").exists()


@pytest.mark.timeout(20)  # an unbounded command must fail here, not hang the suite
def test_stdin_is_never_waited_on(local_host):
    start = time.monotonic()
    result = local_host.run("cat; echo done", timeout=2)
    assert result.stdout == "done\n"
    assert time.monotonic() - start < 1


def test_non_utf8_output_is_decoded_with_replacement(local_host):
    result = local_host.run(r"printf 'a\377b\n'; printf 'c\376\n' >&2")
    assert result.stdout == "a\ufffdb\n"
    assert result.stderr == "c\ufffd\n"


# -- files --------------------------------------------------------------------------------------------
def test_write_file_creates_private_file_and_cleans_up(local_host, workdir, tokens):
    target = workdir / "new.env"
    local_host.write_file(str(target), "TOKEN=abc\n")
    assert target.read_text() == "TOKEN=abc\n"
    assert mode_of(target) == 0o600
    assert sorted(p.name for p in workdir.iterdir()) == ["new.env"]  # no temp file beside it
    assert leftovers(tokens) == []


def test_write_file_with_mode(local_host, workdir):
    target = workdir / "public.txt"
    local_host.write_file(str(target), b"x", mode=0o644)
    assert mode_of(target) == 0o644


def test_write_file_keeps_mode_of_existing_file_and_replaces_atomically(local_host, workdir, tokens):
    target = workdir / "config.yml"
    target.write_text("old content\n")
    target.chmod(0o640)
    with target.open() as reader_before:
        local_host.write_file(str(target), "new content\n", mode=0o600)  # mode only applies to new files
        assert reader_before.read() == "old content\n"  # replaced by rename, never rewritten in place
    assert target.read_text() == "new content\n"
    assert mode_of(target) == 0o640
    assert sorted(p.name for p in workdir.iterdir()) == ["config.yml"]
    assert leftovers(tokens) == []


def test_write_file_binary_content_is_exact(local_host, workdir):
    data = bytes(range(256)) * 10
    local_host.write_file(str(workdir / "blob"), data)
    assert (workdir / "blob").read_bytes() == data


def test_write_file_into_missing_directory_fails_and_cleans_up(local_host, workdir, tokens):
    with pytest.raises(CommandError):
        local_host.write_file(str(workdir / "no" / "such" / "file"), "x")
    assert leftovers(tokens) == []


def test_sha256_matches_hashlib_and_is_none_when_absent(local_host, workdir):
    data = os.urandom(5000)
    (workdir / "f.bin").write_bytes(data)
    assert local_host.sha256(str(workdir / "f.bin")) == hashlib.sha256(data).hexdigest()
    assert local_host.sha256(str(workdir / "absent")) is None


@pytest.mark.parametrize("name", ["back\\slash", "new\nline"])
def test_sha256_of_awkward_file_names(local_host, workdir, name):
    (workdir / name).write_bytes(b"hi")
    assert local_host.sha256(str(workdir / name)) == hashlib.sha256(b"hi").hexdigest()


def test_exists_and_read_file(local_host, workdir):
    (workdir / "VERSION").write_text("1.10\n")
    assert local_host.exists(str(workdir / "VERSION"))
    assert local_host.exists(str(workdir))
    assert not local_host.exists(str(workdir / "nope"))
    assert local_host.read_file(str(workdir / "VERSION")) == "1.10\n"
    with pytest.raises(CommandError) as info:
        local_host.read_file(str(workdir / "nope"))
    assert "No such file" in str(info.value)


def test_put_get_round_trip_binary(local_host, workdir):
    data = bytes(range(256)) * 64 + b"\r\n\x00end"
    src, remote, back = workdir / "src.bin", workdir / "remote.bin", workdir / "back.bin"
    src.write_bytes(data)
    local_host.put(src, str(remote))
    local_host.get(str(remote), back)
    assert remote.read_bytes() == data
    assert back.read_bytes() == data


def test_get_missing_file_raises(local_host, workdir):
    with pytest.raises(FileNotFoundError):
        local_host.get(str(workdir / "absent"), workdir / "out")


def test_paths_with_shell_metacharacters_are_literal(local_host, workdir, monkeypatch):
    monkeypatch.chdir(workdir)  # a `$(touch pwned)` that ran would create the file here
    path = str(workdir / NASTY)
    local_host.write_file(path, "payload")
    assert Path(path).read_text() == "payload"
    assert local_host.exists(path)
    assert local_host.read_file(path) == "payload"
    assert local_host.sha256(path) == hashlib.sha256(b"payload").hexdigest()
    assert sorted(p.name for p in workdir.iterdir()) == [NASTY]
    repo = Path(__file__).resolve().parents[2]
    assert not (repo / "pwned").exists() and not (repo / "pwned2").exists()


# -- the command line sent to the host ------------------------------------------------------------------
def spec(**variables: object) -> HostSpec:
    return HostSpec("h", {"ansible_connection": "local", **variables}, ("all",), {})


def test_wrap_bounds_the_command_on_the_host():
    line = Host(spec()).wrap("echo 'hi'", 12.5)
    assert line.startswith("env LC_ALL=C.UTF-8 ")
    assert " timeout -k 5 12.5 sh -c " in line
    assert line.endswith(""" sh -c 'echo '"'"'hi'"'"''""")
    assert "sudo" not in line and "DOCKER_HOST" not in line


def test_wrap_with_become_and_docker_host():
    host = Host(spec(ansible_become=True, docker_host="unix:///var/run/x y.sock"))
    line = host.wrap("docker ps", 30)
    assert line.startswith("sudo -n -u root -- env ")
    assert "DOCKER_HOST='unix:///var/run/x y.sock'" in line
    assert "sudo" not in host.wrap("id", 30, sudo=False)
    assert Host(spec(ansible_become=True, ansible_become_user="svc")).wrap("id", 5).startswith("sudo -n -u svc -- ")


def test_default_timeout_comes_from_inventory():
    assert Host(spec(command_timeout=7)).default_timeout == 7
    assert Host(spec()).default_timeout == 60
