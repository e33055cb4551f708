"""YAML loading that remembers where each mapping came from, so errors can name file:line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import BadInput, did_you_mean


class Node(dict):
    """A YAML mapping that knows its source file and line (1-based), and the line of each key."""

    file: str = "?"
    line: int = 0
    key_lines: dict[str, int]

    def where(self, key: str | None = None) -> str:
        line = self.key_lines.get(key, self.line) if key is not None else self.line
        return f"{self.file}:{line}"


class _Loader(yaml.SafeLoader):
    source = "?"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Node:
    loader.flatten_mapping(node)
    out = Node()
    out.file, out.line, out.key_lines = loader.source, node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            # PyYAML silently keeps the last duplicate; in an inventory that hides a typo'd override.
            raise BadInput(f"{loader.source}:{key_node.start_mark.line + 1}: duplicate key {key!r}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _vault(loader: _Loader, node: yaml.Node) -> Any:
    raise BadInput(f"{loader.source}:{node.start_mark.line + 1}: Ansible Vault values (!vault) are not supported "
                   "(shakedown reads no vault password); keep secrets out of the inventory")


def _unsafe(loader: _Loader, node: yaml.Node) -> Any:
    # Ansible's !unsafe marks a string it must not template; shakedown keeps it as the plain string.
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else loader.construct_object(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("!vault", _vault)
_Loader.add_constructor("!unsafe", _unsafe)


def load(path: str | Path) -> Any:
    """Parse one YAML file; syntax errors become BadInput naming file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    return loads(text, str(path))


def loads(text: str, source: str = "<string>") -> Any:
    loader = _Loader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise BadInput(f"{source}:{line}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{source}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def where(obj: Any, key: str | None = None, fallback: str = "?") -> str:
    return obj.where(key) if isinstance(obj, Node) else fallback



def reject_unknown(raw: dict[str, Any], allowed: Iterable[str], what: str, fallback: str, *, suffix: str = "",
                   list_allowed: bool = False) -> None:
    """The one check for misspelt keys: bad input naming file:line, the key, and the closest allowed one."""
    known = list(allowed)
    for key in raw:
        if key not in known:
            listing = f" (allowed: {', '.join(known)})" if list_allowed else ""
            raise BadInput(f"{where(raw, key, fallback)}: unknown {what} {key!r}{suffix}{did_you_mean(key, known)}"
                           f"{listing}")
