"""group_vars/ and host_vars/ beside the inventory, found and read as Ansible's host_group_vars plugin does.

For a group or host NAME, in `<basedir>/group_vars/` (or host_vars/): the first of `NAME`, `NAME.yml`,
`NAME.yaml`, `NAME.json` that exists; if that is a directory, every file in it (recursively, sorted by name,
hidden files and `~` backups skipped, only files with no extension or one of those), later files winning.
`<basedir>` is the inventory file's directory, or the inventory directory itself. Each file is a YAML mapping
of variables (or empty), checked like inline ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.config import yamlsrc
from orchestrator.errors import BadInput

EXTENSIONS = ("", ".yml", ".yaml", ".json")


def load_into(basedir: Path, loader: Any) -> None:
    """Fill each group's and host's file_vars from group_vars/ and host_vars/ under `basedir`."""
    from orchestrator.config.inventory import check_var

    for folder, targets in (("group_vars", loader.groups), ("host_vars", loader.hosts)):
        root = basedir / folder
        if not root.is_dir():
            continue
        for name, target in targets.items():
            for path in find(root, name):
                for key, value, where in read(path):
                    check_var(str(key), value, where)
                    target.file_vars[key] = value
                    target.file_origins[key] = where


def find(root: Path, name: str) -> list[Path]:
    for ext in EXTENSIONS:
        candidate = root / f"{name}{ext}"
        if candidate.is_dir():
            return _walk(candidate)
        if candidate.is_file():
            return [candidate]
    return []


def _walk(directory: Path) -> list[Path]:
    found: list[Path] = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name.endswith("~"):
            continue
        if entry.is_dir() and not entry.suffix:
            found.extend(_walk(entry))
        elif entry.is_file() and entry.suffix in EXTENSIONS:
            found.append(entry)
    return found


def read(path: Path) -> list[tuple[Any, Any, str]]:
    """(name, value, file:line) of each variable in one vars file."""
    try:
        head = path.read_bytes()[:14]
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    if head.startswith(b"$ANSIBLE_VAULT"):
        raise BadInput(f"{path}:1: Ansible Vault files are not supported (shakedown reads no vault password); "
                       "keep secrets out of the inventory")
    data = yamlsrc.load(path)
    if data is None:
        return []
    if not isinstance(data, dict):
        raise BadInput(f"{path}:1: a vars file must be a mapping of variable names to values")
    return [(key, value, yamlsrc.where(data, key, f"{path}:1")) for key, value in data.items()]
