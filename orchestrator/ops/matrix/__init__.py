"""The live configuration matrix: the matrix file, coverage, shards, listing, merging, and applying a scenario."""
