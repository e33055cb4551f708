"""Procedures: what runs a task end to end. `playbook` loads, validates and runs a playbook (check, prune,
triage); e2e and restore keep in code only what a playbook cannot guarantee (lease, journal, restore in
`finally`, the deferred second signal); bench measures. Each hands its result to the run layer."""
