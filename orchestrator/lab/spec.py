"""The lab's fixed shape: every path, address, port and name. inventory/lab.yml is written against these.

All addresses are loopback (127.0.0.0/8): the lab must never listen on, or talk to, anything else.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from orchestrator.paths import ROOT

LAB_DIR = Path("/var/lib/shakedown-lab")
RUN_DIR = Path("/run/shakedown-lab")  # pidfiles and docker exec-roots: tmpfs, gone after a reboot

SSH_DIR = LAB_DIR / "ssh"
CLIENT_KEY = SSH_DIR / "id_ed25519"  # the orchestrator's key, accepted by every lab host
KNOWN_HOSTS = SSH_DIR / "known_hosts"
REPO_DIR = LAB_DIR / "repo" / "app.git"

SSHD_PRIVSEP_DIR = Path("/run/sshd")  # Debian's sshd refuses to start without it
SSHD_BIN = "/usr/sbin/sshd"  # sshd insists on an absolute path (it re-execs itself)

BASE_IMAGE = "shakedown/base:1"
LAB_SRC = ROOT / "tests" / "lab"  # the lab's own files in this repository
APP_SRC = LAB_SRC / "app"  # the sample app: main branch of the lab repo
BRANCHES_SRC = LAB_SRC / "branches"  # one overlay folder per extra branch, applied on top of main

STACK_SERVICES = ("backend", "frontend", "scanner")
BACKEND_PORT = 18080
FRONTEND_PORT = 18081

# Persistent data of the sample stack, which no deploy may re-create (e2e proves it survives):
# the named compose volume backend-data (backend's /data) and a host directory bind-mounted as scanner's /data.
VOLUME = "sample_backend-data"  # docker volume name: compose project "sample" + volume key "backend-data"
DATA_DIR = LAB_DIR / "dev" / "data"  # owned by the dev login user, 0755; deleted only by `lab.down --purge`
# The dev host's e2e state directory (lease.json, journal.jsonl): owned by the login user, 0700, never emptied.
STATE_DIR = LAB_DIR / "dev" / "shakedown"

# Written to the stack checkout's .env (not in git): the lab's deployment settings for the sample app.
# .env also holds API_TOKEN_VAR, a random secret generated at the first lab.up and kept afterwards.
# The last four are the app's runtime axes, at their defaults (tests/lab/app/README.md): each reaches only the
# service that uses it, so changing one recreates only that service (SCANNER_SCALE=0 removes the scanner).
STACK_ENV = {"SCANNER_INTERVAL": "1", "BACKEND_PORT": str(BACKEND_PORT), "FRONTEND_PORT": str(FRONTEND_PORT),
             "DATA_DIR": str(DATA_DIR), "BACKEND_MODE": "normal", "BACKEND_POOL": "4", "FRONTEND_SECURE": "true",
             "SCANNER_SCALE": "1"}
API_TOKEN_VAR = "SAMPLE_API_TOKEN"
ENV_MODE = 0o640
# config.json in the stack checkout (not in git), mounted read-only into backend as ./config.json:/app/config.json.
STACK_CONFIG = {"backend_url": f"http://127.0.0.1:{BACKEND_PORT}", "scan_interval": 1}
STACK_CONFIG_MODE = 0o640

# The agent host's borrowed-peer config: {"stack_url": WORKER_STACK_URL, "token": <random, kept>}, 0600.
WORKER_DIR = LAB_DIR / "agent" / "worker"
WORKER_CONFIG = WORKER_DIR / "config.json"
WORKER_STACK_URL = "http://127.0.0.1:18090"
WORKER_CONFIG_MODE = 0o600

# The agent's CI state for `invoke prune`: the flock every pipeline and prune on the agent shares. AGENT_CI_DIR
# is owned by the agent's login user (0755); the lock file is created empty (sd-agent, 0644) and never truncated.
# (CI_DIR, below, is the lab's CI server's directory: another thing.)
AGENT_CI_DIR = LAB_DIR / "agent" / "ci"
AGENT_CI_DIR_MODE = 0o755
PRUNE_LOCK = AGENT_CI_DIR / ".ci-docker-prune.lock"
PRUNE_LOCK_MODE = 0o644

# Build leftovers on the agent's engine, for a prune to remove (made by lab.up; tests re-make them):
# - the named volume CI_VOLUME holding CI_VOLUME_FILE (a build cache: persistent data no prune may delete),
#   written by the stopped container CI_VOLUME_WRITER, so a prune of stopped containers meets a volume in use;
# - the stopped containers LEFTOVER_CONTAINERS; every lab-made leftover container has label LEFTOVER_LABEL=1;
# - the unused image LEFTOVER_IMAGE, built from LEFTOVER_BUILD_SRC twice with different payloads, which leaves
#   the first build dangling (<none>:<none>).
CI_VOLUME = "ci-cache"
CI_VOLUME_FILE = "keep-me.txt"
CI_VOLUME_CONTENT = "ci build cache of the lab's agent: no prune may delete this\n"
CI_VOLUME_WRITER = "ci-cache-writer"
LEFTOVER_LABEL = "shakedown.lab.leftover"
LEFTOVER_CONTAINERS = ("leftover-1", "leftover-2")
LEFTOVER_IMAGE = "ci-leftover/app:old"
LEFTOVER_BUILD_SRC = LAB_SRC / "agent"  # Dockerfile and payload.txt

# The lab's Woodpecker-compatible CI API (ciserver.py, its own process, controlled through ci.py): the documented
# Woodpecker routes on loopback, answered from CI_STATE_FILE, which it re-reads (with CI_TOKEN_FILE) on every
# request. CI_TOKEN_FILE holds a random token made at the first lab.up and kept afterwards (root, 0600);
# CI_STATE_FILE is {"repos": [{"id", "full_name", "pipelines": [Woodpecker pipeline JSON, ...]}]} (0644), which
# lab.up rewrites to the seed (every repo green at the deployed commit) whenever it differs.
CI_DIR = LAB_DIR / "ci"
CI_DIR_MODE = 0o755
CI_TOKEN_FILE = CI_DIR / "token"
CI_TOKEN_MODE = 0o600
CI_STATE_FILE = CI_DIR / "state.json"
CI_STATE_MODE = 0o644
CI_LOG = CI_DIR / "ciserver.log"  # the server's access log: method, path (no query string), status; no token
CI_RUN_DIR = RUN_DIR / "ci"
CI_PIDFILE = CI_RUN_DIR / "ciserver.pid"
CI_HOST = "127.0.0.1"
CI_PORT = 18700
CI_URL = f"http://{CI_HOST}:{CI_PORT}"
CI_BRANCH = "main"  # every lab repo's default branch, which the seed's pipelines build
CI_EVENT = "push"


# The lab's marketplace API (marketplace_server.py, its own process, controlled through marketplace.py): the
# marketplace contract (the routes in marketplace_server.py's docstring) on loopback, for `invoke flow`. Its
# state (users, requests, offers, notifications) lives in the process's memory; it re-reads
# MARKETPLACE_CONFIG_FILE (the defects and the rate limit, 0644) on every request, and its admin logs in with
# MARKETPLACE_ADMIN_FILE's credentials (KEY=value, root 0600, a random password made at the first lab.up and kept).
MARKETPLACE_DIR = LAB_DIR / "marketplace"
MARKETPLACE_DIR_MODE = 0o755
MARKETPLACE_CONFIG_FILE = MARKETPLACE_DIR / "config.json"
MARKETPLACE_CONFIG_MODE = 0o644
MARKETPLACE_ADMIN_FILE = MARKETPLACE_DIR / "admin.env"
MARKETPLACE_ADMIN_MODE = 0o600
MARKETPLACE_ADMIN_EMAIL = "admin@lab.test"
MARKETPLACE_LOG = MARKETPLACE_DIR / "marketplace.log"  # access log: method, path, status, ms; no token or password
MARKETPLACE_RUN_DIR = RUN_DIR / "marketplace"
MARKETPLACE_PIDFILE = MARKETPLACE_RUN_DIR / "marketplace.pid"
MARKETPLACE_HOST = "127.0.0.1"
MARKETPLACE_PORT = 18110
MARKETPLACE_URL = f"http://{MARKETPLACE_HOST}:{MARKETPLACE_PORT}"


@dataclass(frozen=True)
class CiRepo:
    """One repository the lab's CI server knows; `number` is its newest seeded pipeline's (the one before it is
    number - 1)."""

    id: int
    full_name: str
    steps: tuple[str, ...]
    number: int


CI_REPOS: tuple[CiRepo, ...] = (
    CiRepo(5, "team/backend", ("typecheck", "build-and-deploy", "notify"), 42),
    CiRepo(7, "team/frontend", ("build-and-deploy", "notify"), 18),
    CiRepo(8, "team/scanner", ("build", "test", "deploy"), 9),
)

# Fixed identity and dates make the sample repo's commits a pure function of the sources.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Shakedown Lab",
    "GIT_AUTHOR_EMAIL": "lab@shakedown.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "Shakedown Lab",
    "GIT_COMMITTER_EMAIL": "lab@shakedown.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000",
}
MAIN_BRANCH = "main"


@dataclass(frozen=True)
class LabHost:
    name: str
    ssh_host: str
    ssh_port: int
    user: str
    docker_group: str
    stack_dir: Path | None = None
    compose_project: str | None = None
    repo: Path | None = None

    def __post_init__(self) -> None:
        if not ipaddress.ip_address(self.ssh_host).is_loopback:
            raise ValueError(f"lab host {self.name}: {self.ssh_host} is not a loopback address")

    @property
    def dir(self) -> Path:
        return LAB_DIR / self.name

    @property
    def run_dir(self) -> Path:
        return RUN_DIR / self.name

    @property
    def docker_socket(self) -> Path:
        return self.dir / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.docker_socket}"

    @property
    def data_root(self) -> Path:
        return self.dir / "docker"

    @property
    def exec_root(self) -> Path:
        return self.run_dir / "docker"

    @property
    def daemon_json(self) -> Path:
        # Our own (empty) daemon config, so a stray /etc/docker/daemon.json cannot change the lab.
        return self.dir / "daemon.json"

    @property
    def dockerd_pidfile(self) -> Path:
        return self.run_dir / "dockerd.pid"

    @property
    def dockerd_log(self) -> Path:
        return self.dir / "dockerd.log"

    @property
    def containerd_namespace(self) -> str:
        return f"shakedown-{self.name}"

    @property
    def sshd_config(self) -> Path:
        return self.dir / "sshd_config"

    @property
    def host_key(self) -> Path:
        return self.dir / "ssh_host_ed25519_key"

    @property
    def authorized_keys(self) -> Path:
        return self.dir / "authorized_keys"

    @property
    def sshd_pidfile(self) -> Path:
        return self.run_dir / "sshd.pid"

    @property
    def sshd_log(self) -> Path:
        return self.dir / "sshd.log"

    @property
    def known_hosts_name(self) -> str:
        return f"[{self.ssh_host}]:{self.ssh_port}"


DEV = LabHost(
    name="dev",
    ssh_host="127.0.0.1",
    ssh_port=2222,
    user="sd-dev",
    docker_group="sd-dev-docker",
    stack_dir=LAB_DIR / "dev" / "stack",
    compose_project="sample",
    repo=REPO_DIR,
)

AGENT = LabHost(
    name="agent",
    ssh_host="127.0.0.2",
    ssh_port=2223,
    user="sd-agent",
    docker_group="sd-agent-docker",
)

HOSTS: tuple[LabHost, ...] = (DEV, AGENT)


@dataclass(frozen=True)
class LabLink:
    """A latency-and-fault link in front of a lab host's sshd: the lab's own TCP relay (relay.py), since netem
    is not available on these machines. The inventory host `name` is `target` reached through it: same login
    user and key, and the same host key (known_hosts lists it under this address too)."""

    name: str
    listen_host: str
    listen_port: int
    target: LabHost
    delay_ms: float  # one way, per chunk, both directions: the round trip gains twice this

    def __post_init__(self) -> None:
        if not ipaddress.ip_address(self.listen_host).is_loopback:
            raise ValueError(f"lab link {self.name}: {self.listen_host} is not a loopback address")

    @property
    def run_dir(self) -> Path:
        # control.json (what link.py asks for), state.json (what the relay acknowledged), relay.pid
        return RUN_DIR / "link"

    @property
    def log(self) -> Path:
        return LAB_DIR / "link" / "relay.log"

    @property
    def known_hosts_name(self) -> str:
        return f"[{self.listen_host}]:{self.listen_port}"


# 2322 is also fleet22's port, but on 127.0.1.22: one port on two addresses, no clash.
LINK = LabLink(name="dev-wan", listen_host="127.0.0.1", listen_port=2322, target=DEV, delay_ms=20.0)


# The lab's bastion (bastion.py): one more sshd on loopback, for jumps only. Its own login user (no shell, no
# session: ForceCommand /bin/false, PermitTTY no), host key (in KNOWN_HOSTS) and client key BASTION_CLIENT_KEY,
# the only key it accepts (and one no other lab host accepts). It forwards only to dev's sshd, directly or through
# the link (BASTION_PERMIT_OPEN). BASTION_SSH_CONFIG (an OpenSSH client config lab.up writes) gives the jump its
# IdentityFile: inventory host dev-via-bastion names it as ssh_config_file. No docker engine: docker_group unused.
BASTION = LabHost(name="bastion", ssh_host="127.0.0.3", ssh_port=2224, user="sd-bastion", docker_group="")
BASTION_CLIENT_KEY = SSH_DIR / "bastion_ed25519"
BASTION_SSH_CONFIG = SSH_DIR / "ssh_config"
BASTION_PERMIT_OPEN = (f"{DEV.ssh_host}:{DEV.ssh_port}", f"{LINK.listen_host}:{LINK.listen_port}")
