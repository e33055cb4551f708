"""The CI server's word on a deploy (Woodpecker's API): which pipeline built it, and whether it succeeded."""
