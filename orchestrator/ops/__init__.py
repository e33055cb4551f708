"""Host operations the modules and procedures use: each pairs host-side commands with the parser of their
output and returns data (never prints). e2e: lease, journal, baseline, restore; prune; triage gathering;
parsers: the output of df and docker inspect, read in one place. The host-side commands are .sh files
beside the code that parses their output (README, "Host scripts")."""
