"""Canaries: pinned branches with expected verdicts and assertions over their e2e reports (`invoke canaries`).

model (the canary file, checked with file:line before anything runs), judge (assertions over a report.json, and
the tampered copies `--tamper` judges them against), refs (where each pinned branch is now, read on the host).
No module here runs an e2e: procedures/canaries.py does, as a subprocess, so the real exit code is judged.
"""
