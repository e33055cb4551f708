"""Configuration: the inventory (Ansible-shaped), the tool's own settings, YAML with line numbers."""
