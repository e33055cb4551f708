"""invoke verify's host-side reads and the pure parts of its judgement (stop-release rules, evidence entry)."""
