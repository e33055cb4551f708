"""shakedown: an Ansible-style remote test orchestrator."""

__version__ = "0.1.0"
