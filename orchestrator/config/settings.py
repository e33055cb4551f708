"""Every inventory variable shakedown itself reads, documented and type-checked in one place.

Connection variables use Ansible's names so an Ansible inventory mostly just works. Any other variable
is the user's own and only reaches playbooks as a template variable. README's "Inventory variables"
table is checked against this module by a unit test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Var:
    kind: str  # human name of the expected type, used in error messages
    check: Callable[[Any], bool]
    default: Any
    doc: str
    explain: Callable[[Any], list[str]] | None = None  # the precise problems, when check() fails


def _is_str(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_port(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536


def _is_positive(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v > 0


def _is_percent(v: Any) -> bool:
    return _is_positive(v) and v <= 100


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_str(x) for x in v)


PROBE_KEYS = {"name", "url", "via", "status", "match_version", "timeout"}


def probe_problems(probe: Any) -> list[str]:
    """What is wrong with one http_probes entry (shared by the inventory loader and the module)."""
    if not isinstance(probe, dict):
        return [f"probe must be a mapping, got {probe!r}"]
    problems = [f"unknown probe key {k!r} (allowed: {', '.join(sorted(PROBE_KEYS))})" for k in probe
                if k not in PROBE_KEYS]
    url = probe.get("url")
    if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        problems.append(f"probe url must be an http(s) URL, got {url!r}")
    if probe.get("via", "orchestrator") not in ("orchestrator", "host"):
        problems.append(f"probe via must be 'orchestrator' or 'host', got {probe.get('via')!r}")
    if not _is_port(probe.get("status", 200)) or probe.get("status", 200) > 599:
        problems.append(f"probe status must be an HTTP status code, got {probe.get('status')!r}")
    if not _is_bool(probe.get("match_version", False)):
        problems.append("probe match_version must be true or false")
    if not _is_positive(probe.get("timeout", 5)):
        problems.append(f"probe timeout must be a positive number, got {probe.get('timeout')!r}")
    return problems


PEER_KEYS = {"host", "file", "replace", "reload"}


def peer_problems(peer: Any) -> list[str]:
    """What is wrong with one e2e_peers entry: {host, file, replace: {old: new}, reload (optional command)}."""
    if not isinstance(peer, dict):
        return [f"peer must be a mapping, got {peer!r}"]
    problems = [f"unknown peer key {k!r} (allowed: {', '.join(sorted(PEER_KEYS))})" for k in peer
                if k not in PEER_KEYS]
    for key in ("host", "file"):
        if not _is_str(peer.get(key)):
            problems.append(f"peer {key} must be a non-empty string, got {peer.get(key)!r}")
    if isinstance(peer.get("file"), str) and not peer["file"].startswith("/"):
        problems.append(f"peer file must be an absolute path, got {peer['file']!r}")
    replace = peer.get("replace")
    if not (isinstance(replace, dict) and replace and all(_is_str(k) and isinstance(v, str)
                                                          for k, v in replace.items())):
        problems.append("peer replace must map each text to find to its replacement (strings), e.g. "
                        "{'http://ci:8080': 'http://dev:8080'}")
    if "reload" in peer and not _is_str(peer["reload"]):
        problems.append("peer reload must be a shell command")
    return problems


def _ssh_arg_problems(v: Any) -> list[str]:
    from orchestrator.config import sshargs  # same layer; kept local so settings stays import-light

    if not isinstance(v, str):
        return [f"must be a string of ssh options, got {v!r}"]
    try:
        sshargs.parse(v)
    except ValueError as exc:
        return [str(exc)]
    return []


def _is_ssh_args(v: Any) -> bool:
    return not _ssh_arg_problems(v)


def _sounds_secret(key: str) -> bool:
    from orchestrator.redact import looks_secret  # the one list of secret-sounding names (base layer)

    return looks_secret(key)


def _is_str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(_is_str(k) and isinstance(x, str) for k, x in v.items())


def _is_probe_list(v: Any) -> bool:
    return isinstance(v, list) and not any(probe_problems(p) for p in v)


CONNECTION_VARS: dict[str, Var] = {
    "ansible_host": Var("string", _is_str, None,
                        "Address or ~/.ssh/config alias to connect to (default: the host's name)."),
    "ansible_port": Var("port number", _is_port, None, "SSH port (default: from ssh config, else 22)."),
    "ansible_user": Var("string", _is_str, None, "SSH login user (default: from ssh config, else the local user)."),
    "ansible_ssh_private_key_file": Var("string", _is_str, None, "Private key to authenticate with."),
    "ansible_connection": Var("'ssh' or 'local'", lambda v: v in ("ssh", "local", "paramiko"), "ssh",
                              "`local` runs commands on this machine through the same host API, no SSH."),
    "ansible_become": Var("boolean", _is_bool, False, "Run every command through `sudo -n` (never prompts)."),
    "ansible_become_user": Var("string", _is_str, "root", "User to become with sudo."),
    "ansible_python_interpreter": Var("string", _is_str, None, "Accepted for Ansible compatibility; unused."),
    "ansible_ssh_common_args": Var("string of ssh options", _is_ssh_args, None,
                                   "OpenSSH options, as Ansible passes them to ssh: `-o ProxyJump=`/`-J` (jump "
                                   "host), `-o Port=`, `-o ServerAliveInterval=`, `-o ConnectTimeout=`, `-o User=`, "
                                   "`-o UserKnownHostsFile=`, `-o StrictHostKeyChecking=yes|accept-new` are "
                                   "honoured, ControlMaster/ControlPersist/ControlPath ignored; any other is refused.",
                                   explain=lambda v: _ssh_arg_problems(v)),
    "ansible_ssh_extra_args": Var("string of ssh options", _is_ssh_args, None,
                                  "More OpenSSH options, as ansible_ssh_common_args (read after them).",
                                  explain=lambda v: _ssh_arg_problems(v)),
    "ansible_become_method": Var("'sudo'", lambda v: v == "sudo", "sudo",
                                 "Only `sudo` (`sudo -n`, never prompting); any other method is refused."),
    "ansible_ssh_pipelining": Var("boolean", _is_bool, False,
                                  "Accepted and ignored: shakedown sends commands, never module files, so there "
                                  "is nothing to pipeline."),
    "ansible_pipelining": Var("boolean", _is_bool, False, "As ansible_ssh_pipelining: accepted and ignored."),
    "ansible_timeout": Var("positive number", _is_positive, None,
                           "Ansible's connect timeout (s): used when connect_timeout is not set."),
    "ansible_ssh_host": Var("string", _is_str, None, "Ansible's old name of ansible_host (honoured)."),
    "ansible_ssh_port": Var("port number", _is_port, None, "Ansible's old name of ansible_port (honoured)."),
    "ansible_ssh_user": Var("string", _is_str, None, "Ansible's old name of ansible_user (honoured)."),
    "ansible_group_priority": Var("whole number", lambda v: isinstance(v, int) and not isinstance(v, bool), 1,
                                  "Set in a group's inline vars: orders sibling groups at the same depth (higher "
                                  "merges later and wins); in group_vars/ files it is only a variable (as Ansible)."),
}

# Ansible reads these as booleans whatever their type ("yes", "on", "1" ...): INI gives them as text.
_TRUE = {"yes", "on", "1", "true", "y", "t"}
_FALSE = {"no", "off", "0", "false", "n", "f", ""}


def coerce(name: str, value: Any) -> Any:
    """An INI value as shakedown uses it: boolean variables take Ansible's boolean words."""
    spec = KNOWN_VARS.get(name)
    if spec is not None and spec.kind == "boolean" and isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return value

# Refused outright: a password in an inventory file is a secret on disk and in every copy of the repo.
REFUSED_VARS = {
    "ansible_password": "use key authentication (ansible_ssh_private_key_file)",
    "ansible_ssh_pass": "use key authentication (ansible_ssh_private_key_file)",
    "ansible_become_password": "configure passwordless sudo for the commands shakedown runs",
    "ansible_become_pass": "configure passwordless sudo for the commands shakedown runs",
}

TOOL_VARS: dict[str, Var] = {
    "ssh_known_hosts_file": Var("string", _is_str, "~/.ssh/known_hosts",
                                "known_hosts file host keys are verified against (plus the system files)."),
    "ssh_accept_new_host_keys": Var("boolean", _is_bool, False,
                                    "Accept and record an unknown host key (like OpenSSH accept-new). "
                                    "A changed key is always refused."),
    "ssh_config_file": Var("string", _is_str, "~/.ssh/config", "OpenSSH client config whose aliases are honoured."),
    "connect_timeout": Var("positive number", _is_positive, 10, "Seconds to open SSH (TCP, banner, auth)."),
    "command_timeout": Var("positive number", _is_positive, 60, "Default timeout (s) of any remote command."),
    "keepalive_interval": Var("positive number", _is_positive, 15,
                              "SSH keepalive (s): a peer that answers none for 3 intervals is dropped, so a "
                              "silent peer cannot hang a read."),
    "docker_host": Var("string", _is_str, None,
                       "DOCKER_HOST for commands on this host (default: the login environment's)."),
    "stack_dir": Var("string", _is_str, None, "Directory of the deployed stack (holds VERSION and the compose file)."),
    "compose_project": Var("string", _is_str, None, "Compose project name of the stack on this host."),
    "expected_services": Var("list of strings", _is_str_list, [], "Compose services that must be running and healthy."),
    "max_restarts": Var("positive number", lambda v: isinstance(v, int) and v >= 0, 3,
                        "A container restarted more often than this fails the check."),
    "disk_paths": Var("list of strings", _is_str_list, ["/"], "Filesystems whose usage is checked."),
    "disk_max_used_percent": Var("percent", _is_percent, 90, "Used space above this fails the disk check."),
    "http_probes": Var("list of probes", _is_probe_list, [],
                       "HTTP probes: {name, url, via: orchestrator|host, status (200), match_version (bool), "
                       "timeout (s)}.", explain=lambda v: [p for x in v for p in probe_problems(x)]
                       if isinstance(v, list) else []),
    "prune_lock_file": Var("string", _is_str, None,
                           "The flock every Docker cleanup on this host takes (e.g. "
                           "/opt/<stack>/.ci-docker-prune.lock); `invoke prune` needs it, `check` reports stuck "
                           "prunes."),
    "prune_keep_label": Var("label (key or key=value)", lambda v: isinstance(v, str)
                            and re.fullmatch(r"[A-Za-z0-9._/-]+(=[A-Za-z0-9._/-]*)?", v) is not None, None,
                            "Containers and images with this label are never pruned (e.g. warm base images)."),
    "prune_stuck_after": Var("positive number", _is_positive, 3600,
                             "A prune process, or the prune lock held, longer than this (s) is stuck."),
}

# What `invoke e2e` / `invoke restore` read (checked when an e2e starts, not by `check`).
E2E_VARS: dict[str, Var] = {
    "state_dir": Var("string", _is_str, None,
                     "Directory on the host (mode 0700) for shakedown's lease, journal, snapshots and e2e checkout."),
    "stack_repo": Var("string", _is_str, None,
                      "Git URL or path of the stack's repository (default: the stack checkout's origin)."),
    "config_files": Var("list of strings", _is_str_list, [".env"],
                        "Stack config files snapshotted and verified by hash (relative to stack_dir, or absolute); "
                        "relative ones seed the e2e checkout."),
    "secret_files": Var("list of strings", _is_str_list, [".env"],
                        "KEY=value files whose values are secrets: fingerprinted by hash on the host only."),
    "not_secret_keys": Var("list of key names that do not sound secret",
                           lambda v: _is_str_list(v) and not any(_sounds_secret(k) for k in v), [],
                           "Keys of the secret_files that hold plain configuration (e.g. BACKEND_MODE): their values "
                           "are shown in reports, not redacted, and not searched for as leaked secrets. A key that "
                           "sounds secret (TOKEN, PASSWORD, ...) is refused.",
                           explain=lambda v: [f"{k!r} sounds secret: its value is always redacted"
                                              for k in v if isinstance(k, str) and _sounds_secret(k)]
                           if isinstance(v, list) else []),
    "data_dirs": Var("list of strings", _is_str_list, [],
                     "Persistent data directories that must be the same before and after an e2e."),
    "test_command": Var("string", _is_str, None,
                        "The stack's test command, run on the host in the e2e checkout (--mode targeted)."),
    "test_results": Var("string", _is_str, None,
                        "How test_command itemises its tests: `tap` (TAP on its output) or a JUnit XML file it "
                        "writes, relative to the checkout. Unset: the exit code alone, and the report says so."),
    "min_tests": Var("whole number", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, 1,
                     "With test_results: fewer tests reported than this is not GREEN (\"ran no tests\")."),
    "test_causes": Var("string", _is_str, None,
                       "The stack repository's table of likely causes (test name or pattern -> cause -> where to "
                       "look), relative to the checkout; default playbooks/rules/test_causes.yml."),
    "compose_command": Var("string", _is_str, None,
                           "Compose CLI (default: `docker compose` if present, else `docker-compose`)."),
    "compose_env": Var("mapping of strings", _is_str_map, {},
                       "Environment for compose commands (no secrets: it is part of the command line)."),
    "e2e_peers": Var("list of peers", lambda v: isinstance(v, list) and not any(peer_problems(p) for p in v), [],
                     "Hosts borrowed during an e2e: {host, file, replace: {old: new}, reload}; file is backed up, "
                     "edited on its host and restored.",
                     explain=lambda v: [p for x in v for p in peer_problems(x)] if isinstance(v, list) else []),
    "deploy_timeout": Var("positive number", _is_positive, 900, "Seconds for checkout + build + start of a branch."),
    "ready_timeout": Var("positive number", _is_positive, 180,
                         "Seconds for the stack to become ready (after deploy and after restore)."),
    "min_free_mb": Var("positive number", _is_positive, 1024,
                       "An e2e refuses to start with less free space (MB) in state_dir."),
}

CI_KEYS = ("server", "token_env", "token_file", "wait", "poll", "timeout", "repos")
CI_REPO_KEYS = ("name", "id", "full_name", "branch", "event", "match", "steps")
CI_MATCHES = ("commit", "version", "newest")


def ci_problems(ci: Any) -> list[str]:
    """What is wrong with a host's `ci` declaration (the Woodpecker server and the repos that build the stack)."""
    if not isinstance(ci, dict):
        return ["must be a mapping {server, token_env and/or token_file, wait, repos: [...]}"]
    problems = [f"unknown key {k!r} (allowed: {', '.join(CI_KEYS)})" for k in ci if k not in CI_KEYS]
    server = ci.get("server")
    if not (isinstance(server, str) and server.startswith(("http://", "https://"))):
        problems.append(f"server must be the CI server's http(s) URL, got {server!r}")
    if not any(_is_str(ci.get(k)) for k in ("token_env", "token_file")):
        problems.append("needs token_env (an environment variable's name) or token_file (a 0600 file), or both")
    for key in ("token_env", "token_file"):
        if key in ci and not _is_str(ci[key]):
            problems.append(f"{key} must be a non-empty string, got {ci[key]!r}")
    for key in ("wait", "poll", "timeout"):
        if key in ci and not _is_positive(ci[key]):
            problems.append(f"{key} must be a positive number of seconds, got {ci[key]!r}")
    repos = ci.get("repos")
    if not (isinstance(repos, list) and repos):
        return [*problems, "repos must be a non-empty list of {name, id, branch, event, match, steps}"]
    names = [r.get("name") for r in repos if isinstance(r, dict)]
    problems += [f"repo name {n!r} is declared twice" for n in sorted({n for n in names if names.count(n) > 1})]
    return problems + [p for i, repo in enumerate(repos) for p in _repo_problems(i, repo)]


def _repo_problems(index: int, repo: Any) -> list[str]:
    from orchestrator.config.yamlsrc import where  # same layer; kept local so settings stays import-light

    if not isinstance(repo, dict):
        return [f"repos[{index}] must be a mapping, got {repo!r}"]
    label = f"repos[{index}] ({repo.get('name', '?')}) at {where(repo, None, '?')}"
    problems = [f"unknown key {k!r} (allowed: {', '.join(CI_REPO_KEYS)})" for k in repo if k not in CI_REPO_KEYS]
    if not _is_str(repo.get("name")):
        problems.append("name must be a non-empty string (e.g. backend)")
    repo_id = repo.get("id")
    if not (isinstance(repo_id, int) and not isinstance(repo_id, bool) and repo_id > 0):
        problems.append(f"id must be the repo's numeric Woodpecker id, got {repo_id!r}")
    for key in ("full_name", "branch", "event"):
        if key in repo and not _is_str(repo[key]):
            problems.append(f"{key} must be a non-empty string, got {repo[key]!r}")
    if repo.get("match", "newest") not in CI_MATCHES:
        problems.append(f"match must be one of {', '.join(CI_MATCHES)}, got {repo.get('match')!r}")
    if "steps" in repo and not _is_str_list(repo["steps"]):
        problems.append(f"steps must be a list of step names, got {repo['steps']!r}")
    return [f"{label}: {p}" for p in problems]


def _is_pair_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(p, list) and len(p) == 2 and _is_str_list(p) for p in v)


# What `invoke verify` reads (type-checked when the inventory loads, like every variable here).
VERIFY_VARS: dict[str, Var] = {
    "ci": Var("CI declaration", lambda v: not ci_problems(v), None,
              "The Woodpecker server and the repos that build this host's stack: {server, token_env, token_file "
              "(0600), wait (s), poll (s), timeout (s), repos: [{name, id, full_name, branch (main), event (push), "
              "match: commit|version|newest, steps}]}.", explain=ci_problems),
    "version_pairs": Var("list of [probe, probe] pairs", _is_pair_list, [],
                         "HTTP probes (by name) whose served versions must agree, e.g. "
                         "[[backend /api/version, frontend /version.json]]."),
}

def _is_http_url(v: Any) -> bool:
    return isinstance(v, str) and re.fullmatch(r"https?://[^\s/?#]+(/[^\s]*)?", v) is not None


def _is_env_name_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", x)
                                       for x in v)


# What `invoke flow` reads: the marketplace API it drives and where the flow's credentials come from (checked
# when the inventory loads, like every variable here; the secrets themselves never sit in the inventory).
FLOW_VARS: dict[str, Var] = {
    "flow_base_url": Var("http(s) URL", _is_http_url, None,
                         "flow: base URL of the marketplace API the flow drives (e.g. http://127.0.0.1:18110)."),
    "flow_secrets_file": Var("string", _is_str, None,
                             "flow: path of a KEY=value file (mode 0600) holding the flow's credentials (e.g. "
                             "ADMIN_EMAIL, ADMIN_PASSWORD)."),
    "flow_secret_env": Var("list of environment variable names", _is_env_name_list, [],
                           "flow: environment variables that may provide those credentials instead of the file."),
}

BROWSER_PROBE_KEYS = {"name", "url", "expect_text", "selector", "timeout"}


def browser_probe_problems(probe: Any) -> list[str]:
    """What is wrong with one browser_probes entry (shared by the inventory loader and the module)."""
    if not isinstance(probe, dict):
        return [f"browser probe must be a mapping, got {probe!r}"]
    problems = [f"unknown browser probe key {k!r} (allowed: {', '.join(sorted(BROWSER_PROBE_KEYS))})"
                for k in probe if k not in BROWSER_PROBE_KEYS]
    if not _is_str(probe.get("name")) or not re.fullmatch(r"[A-Za-z0-9._ -]+", str(probe.get("name"))):
        problems.append(f"browser probe name must be letters, digits, ' ._-' (it names the screenshot), "
                        f"got {probe.get('name')!r}")
    if not _is_http_url(probe.get("url")):
        problems.append(f"browser probe url must be an http(s) URL, got {probe.get('url')!r}")
    if not (_is_str(probe.get("expect_text")) or _is_str(probe.get("selector"))):
        problems.append("a browser probe needs expect_text or selector (what proves the page rendered)")
    if "timeout" in probe and not _is_positive(probe["timeout"]):
        problems.append(f"browser probe timeout must be a positive number, got {probe['timeout']!r}")
    return problems


BROWSER_VARS: dict[str, Var] = {
    "browser_probes": Var("list of browser probes", lambda v: isinstance(v, list) and not any(
                          browser_probe_problems(p) for p in v), [],
                          "check: pages loaded in headless Chromium on this machine: {name, url, expect_text, "
                          "selector, timeout (20 s)}; a screenshot of each goes into the run directory.",
                          explain=lambda v: [p for x in v for p in browser_probe_problems(x)]
                          if isinstance(v, list) else []),
    "browser_chromium": Var("string", _is_str, "chromium",
                            "check: the Chromium executable browser_probes run (a name on PATH or a path); "
                            "missing: the probes are SKIPPED with the reason."),
}

KNOWN_VARS = {**CONNECTION_VARS, **TOOL_VARS, **E2E_VARS, **VERIFY_VARS, **FLOW_VARS, **BROWSER_VARS}


def default(name: str) -> Any:
    return KNOWN_VARS[name].default
