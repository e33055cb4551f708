"""Host operations the modules and procedures use: each pairs host-side commands with the parser of their
output and returns data (never prints). e2e: lease, journal, baseline, restore; prune; triage gathering."""
