"""invoke matrix's pure parts: the matrix file (axes, expectations, scenarios) and its coverage guarantee, shards,
the --list listing, and the merge of shard reports. Nothing here touches a host; the runtime that applies a
scenario on the host is procedures/matrix/runner.py."""
