"""What the benchmark runs: the same checks through shakedown, one batched plain `ssh`, and ansible-playbook;
per-command overhead through the host API and OpenSSH ControlMaster; the redactor; CLI start-up; the marketplace
flow through `invoke flow` and through Locust (locust_marketplace.py).

Every contender targets the same lab hosts on loopback with the same key and known_hosts.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestrator.host.shellcmd import load
from orchestrator.lab import spec
from orchestrator.paths import ROOT

BENCH_DIR = ROOT / ".bench"  # benchmark-only tools (ansible's and Locust's venvs), git-ignored
ANSIBLE_VENV = BENCH_DIR / "ansible-venv"
LOCUST_VENV = BENCH_DIR / "locust-venv"
LOCUST_SPEC = "locust>=2.20,<3"
LOCUSTFILE = Path(__file__).resolve().with_name("locust_marketplace.py")
# Locust's user classes (locust_marketplace.py): its fast client (geventhttpclient) and its default (requests).
LOCUST_USERS = {"Locust FastHttpUser": "FastMarketplaceUser", "Locust HttpUser": "MarketplaceUser"}
# Every Locust user starts at once (1000 a second), as every `invoke flow` worker of a level does: a spawn rate of
# N a second would start them over a whole second, idling the first part of a short level.
LOCUST_SPAWN_RATE = 1000
SSH_OPTS = ["-F", "/dev/null", "-i", str(spec.CLIENT_KEY), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={spec.KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"]

# `invoke check --host dev`'s commands as one batched script, one command a line (check.sh says why).
CHECK_SCRIPT = load("orchestrator.procedures.bench", "check")


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    user: str


DEV = Target("dev", spec.DEV.ssh_host, spec.DEV.ssh_port, spec.DEV.user)
# The same dev host through the lab's link (a relay adding 20 ms each way: a 40 ms RTT, as from a laptop).
DEV_WAN = Target(spec.LINK.name, spec.LINK.listen_host, spec.LINK.listen_port, spec.DEV.user)


def shakedown_check(hosts: str, inventory: Path | None = None) -> list[str]:
    argv = [sys.executable, "-m", "invoke", "check", "--host", hosts]
    return argv + (["--inventory", str(inventory)] if inventory else [])


def plain_ssh(target: Target = DEV) -> list[str]:
    return ["ssh", *SSH_OPTS, "-p", str(target.port), f"{target.user}@{target.host}", CHECK_SCRIPT]


def startup() -> list[str]:
    return [sys.executable, "-m", "invoke", "--list"]


# -- ansible-playbook (a benchmark-only dependency, in its own venv) ------------------------------------------
def ensure_ansible() -> Path:
    """ansible-playbook from PyPI in .bench/ansible-venv (installed once); returns its path."""
    exe = ANSIBLE_VENV / "bin" / "ansible-playbook"
    if not exe.exists():
        BENCH_DIR.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True, timeout=300)
        subprocess.run([str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q", "ansible-core>=2.16,<2.19"],
                       check=True, timeout=900)
    return exe


def ansible_files(targets: list[Target], work: Path, *, fan_out: bool) -> tuple[Path, Path]:
    """An inventory for `targets` and a playbook running the same checks as `invoke check`."""
    work.mkdir(parents=True, exist_ok=True)
    common = (f"ansible_ssh_private_key_file={spec.CLIENT_KEY} ansible_python_interpreter=/usr/bin/python3 "
              f"ansible_ssh_common_args='-o UserKnownHostsFile={spec.KNOWN_HOSTS} -o StrictHostKeyChecking=yes'")
    lines = ["[targets]"] + [f"{t.name} ansible_host={t.host} ansible_port={t.port} ansible_user={t.user} {common}"
                             for t in targets]
    inventory = work / "hosts.ini"
    inventory.write_text("\n".join(lines) + "\n")
    if fan_out:  # the fleet hosts run what `check` runs there: reachability, docker engine, disk
        tasks = ["echo reachable", "docker version --format '{{.Server.Version}}'", "df -Pk /"]
    else:
        tasks = CHECK_SCRIPT.strip().splitlines()
    body = "\n".join(f"    - name: check {i}\n      ansible.builtin.shell: {_yaml_str(cmd)}"
                     for i, cmd in enumerate(tasks, 1))
    playbook = work / "check.yml"
    playbook.write_text(f"- hosts: targets\n  gather_facts: false\n  tasks:\n{body}\n")
    return inventory, playbook


def ansible(inventory: Path, playbook: Path, forks: int) -> tuple[list[str], dict[str, str]]:
    env = {"ANSIBLE_PIPELINING": "1", "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_FORKS": str(forks),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_LOCAL_TEMP": "/tmp/.ansible-bench",
           "ANSIBLE_SSH_CONTROL_PATH_DIR": "/tmp/.ansible-bench-cp"}
    return [str(ensure_ansible()), "-i", str(inventory), str(playbook)], env


def _yaml_str(text: str) -> str:
    """A YAML string ansible will not read as Jinja (docker's Go templates use braces too)."""
    return "'{% raw %}" + text.replace("'", "''") + "{% endraw %}'"


# -- pyinfra (what a Python user would pick instead; benchmark-only, in its own venv) ---------------------------
PYINFRA_VENV = BENCH_DIR / "pyinfra-venv"


def ensure_pyinfra() -> Path:
    """pyinfra from PyPI in .bench/pyinfra-venv (installed once); returns its path."""
    exe = PYINFRA_VENV / "bin" / "pyinfra"
    if not exe.exists():
        BENCH_DIR.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(PYINFRA_VENV)], check=True, timeout=300)
        subprocess.run([str(PYINFRA_VENV / "bin" / "pip"), "install", "-q", "pyinfra>=3,<4"], check=True, timeout=900)
    return exe


def pyinfra_files(target: Target, work: Path) -> tuple[Path, Path]:
    """An inventory for `target` and a deploy running the same commands as `invoke check`, one operation each."""
    work.mkdir(parents=True, exist_ok=True)
    data = {"ssh_port": target.port, "ssh_user": target.user, "ssh_key": str(spec.CLIENT_KEY),
            "ssh_known_hosts_file": str(spec.KNOWN_HOSTS), "ssh_strict_host_key_checking": "yes"}
    inventory = work / "inventory.py"
    inventory.write_text(f"targets = [({target.host!r}, {data!r})]\n")
    ops = [f"server.shell(name={f'check {i}'!r}, commands=[{cmd!r}])"
           for i, cmd in enumerate(CHECK_SCRIPT.strip().splitlines(), 1)]
    deploy = work / "deploy.py"
    deploy.write_text("from pyinfra.operations import server\n" + "\n".join(ops) + "\n")
    return inventory, deploy


def pyinfra(inventory: Path, deploy: Path) -> list[str]:
    return [str(ensure_pyinfra()), "-y", str(inventory), str(deploy)]


def check_commands() -> int:
    """How many commands the batched check script holds: Ansible and pyinfra run each as its own exchange."""
    return len(CHECK_SCRIPT.strip().splitlines())


# -- e2e time to verdict -----------------------------------------------------------------------------------------
# Runs one e2e and prints the seconds from the end of its deploy to its verdict (the readiness phase: for a
# crash-looping branch that is the wait for a RED that was certain early), then the exit code.
VERDICT = r"""
import json, subprocess, sys
argv = [sys.executable, "-m", "invoke", "e2e", "--branch", sys.argv[1], "--host", "dev", "--ready-timeout",
        sys.argv[2], "--json"]
report = json.loads(subprocess.run(argv, capture_output=True, text=True).stdout)
checks = report["hosts"]["dev"]["checks"]
after = checks[[c["name"] for c in checks].index("deploy") + 1:]
ready = [c["duration"] for c in after if c["name"].startswith(("containers ready", "version served"))]
print(sum(ready), report["exit_code"])
"""


def e2e_verdict(branch: str, ready_timeout: int = 60) -> list[str]:
    return [sys.executable, "-c", VERDICT, branch, str(ready_timeout)]


# -- per-command overhead on one open connection -------------------------------------------------------------
HOST_API_LOOP = r"""
import sys, time
from orchestrator.config import inventory
from orchestrator.host import Host
n = int(sys.argv[1])
spec = inventory.load(sys.argv[2]).hosts["dev"]
with Host(spec) as host:
    host.run("true")
    t = time.perf_counter()
    for _ in range(n):
        host.run("true")
    print((time.perf_counter() - t) / n)
"""


def host_api_loop(n: int, inventory: Path) -> list[str]:
    return [sys.executable, "-c", HOST_API_LOOP, str(n), str(inventory)]


def control_master_loop(n: int, socket: Path, target: Target = DEV) -> list[str]:
    """n `ssh -S socket host true` in a row through an already open ControlMaster; prints seconds each."""
    ssh = " ".join(shlex.quote(a) for a in ["ssh", *SSH_OPTS, "-S", str(socket), "-p", str(target.port),
                                               f"{target.user}@{target.host}", "true"])
    loop = (f"import subprocess,sys,time\nt=time.perf_counter()\nfor _ in range({n}):\n"
            f"    subprocess.run({ssh!r}, shell=True, check=True)\nprint((time.perf_counter()-t)/{n})")
    return [sys.executable, "-c", loop]


def control_master_open(socket: Path, target: Target = DEV) -> list[str]:
    return ["ssh", *SSH_OPTS, "-M", "-S", str(socket), "-o", "ControlPersist=120", "-fN", "-p", str(target.port),
            f"{target.user}@{target.host}"]


def control_master_close(socket: Path, target: Target = DEV) -> list[str]:
    return ["ssh", *SSH_OPTS, "-S", str(socket), "-O", "exit", "-p", str(target.port), f"{target.user}@{target.host}"]


# -- the redactor on a generated log -------------------------------------------------------------------------
REDACT_RUN = r"""
import sys, time
from orchestrator.redact import Redactor
path, secrets = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
r = Redactor(secrets)
stream = r.stream()
size = 0
leaked = False
t = time.perf_counter()
with open(path, encoding="utf-8") as fh:
    while chunk := fh.read(1 << 20):
        size += len(chunk)
        out = stream.feed(chunk)
        leaked = leaked or any(v in out for v in secrets.values())
    leaked = leaked or any(v in stream.close() for v in secrets.values())
print(size / (time.perf_counter() - t) / 1e6, int(leaked))
"""


def make_log(path: Path, megabytes: int, secrets: dict[str, str]) -> None:
    """A service log of `megabytes` MB with the given secrets sprinkled in (1 line in 97), deterministic."""
    if path.exists() and path.stat().st_size >= megabytes * 10**6:
        return
    import random

    rnd = random.Random(7)
    words = ["GET", "POST", "/api/v1/orders", "200", "201", "ok", "user_id=4711", "took", "12ms", "cache", "miss",
             "backend", "scanner", "queue=default", "retry=0", "region=eu"]
    values = list(secrets.values())
    lines = []
    for i in range(20000):
        text = " ".join(rnd.choices(words, k=14))
        if i % 97 == 0:
            text += " token " + values[i % len(values)]
        lines.append(f"2026-11-21T10:{i % 60:02d}:{i % 60:02d}.123Z INFO {text}\n")
    block = "".join(lines).encode()
    with path.open("wb") as fh:
        written = 0
        while written < megabytes * 10**6:
            fh.write(block)
            written += len(block)


def redactor_run(path: Path, secrets: dict[str, str]) -> list[str]:
    return [sys.executable, "-c", REDACT_RUN, str(path), *(f"{k}={v}" for k, v in secrets.items())]


# -- the marketplace flow: `invoke flow` against Locust, the same request mix ----------------------------------
def flow_run(concurrency: int, rounds: int) -> list[str]:
    """`invoke flow` as a user runs it: the lab's dev target (its marketplace, the admin from its secrets file)."""
    return [sys.executable, "-m", "invoke", "flow", "--flow", "marketplace", "--host", "dev", "--mode", "live",
            "--concurrency", str(concurrency), "--rounds", str(rounds), "--json"]


def ensure_locust() -> Path:
    """locust from PyPI in .bench/locust-venv (installed once); returns its path."""
    exe = LOCUST_VENV / "bin" / "locust"
    if not exe.exists():
        BENCH_DIR.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(LOCUST_VENV)], check=True, timeout=300)
        subprocess.run([str(LOCUST_VENV / "bin" / "pip"), "install", "-q", LOCUST_SPEC], check=True, timeout=900)
    return exe


def locust(exe: Path, user_class: str, concurrency: int, rounds: int, out: Path, admin: tuple[str, str]
           ) -> tuple[list[str], dict[str, str]]:
    """Locust headless, `concurrency` users of `user_class` each running `rounds` flows, then quitting; its CSV
    stats at `out`_stats.csv, the locustfile's own figures (load seconds, CPU, requests, flows) in `out`.json.
    The admin's login goes by environment, as `invoke flow` reads it from a file: never on a command line."""
    argv = [str(exe), "-f", str(LOCUSTFILE), "--headless", "-u", str(concurrency), "-r", str(LOCUST_SPAWN_RATE),
            "--run-time", "900s", "--stop-timeout", "5", "--host", spec.MARKETPLACE_URL, "--csv", str(out),
            "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0", user_class]
    env = {"ADMIN_EMAIL": admin[0], "ADMIN_PASSWORD": admin[1], "SHAKEDOWN_FLOW_ROUNDS": str(rounds),
           "SHAKEDOWN_LOCUST_RESULT": f"{out}.json", "NO_PROXY": "*", "no_proxy": "*"}
    return argv, env
