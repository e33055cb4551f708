"""The host-side shell of an e2e: each phase is one POSIX sh script, NAME.sh beside this file, one round trip.

Every user-given value (paths, branch, commands) reaches a script as a positional argument, quoted with
shlex.quote by `call()`, never pasted into the script text. The scripts only use what a Debian or Ubuntu
host has (coreutils, git, docker, awk, setsid). Each file's header says its arguments and output lines.

The journal records our scripts by these NAMES (journal.script), so that a restore runs the current, possibly
fixed, script: a name stays once it has been used, even if its file is renamed.
"""

from __future__ import annotations

from orchestrator.host.shellcmd import call, load  # noqa: F401  (call re-exported: modules use scripts.call)


def _sh(name: str) -> str:
    return load(__name__, name)


PREFLIGHT = _sh("preflight")
LEASE_TAKE = _sh("lease_take")
LEASE_RELEASE = _sh("lease_release")
LEASE_READ = _sh("lease_read")
JOURNAL_APPEND = _sh("journal_append")
JOURNAL_READ = _sh("journal_read")
JOURNAL_ARCHIVE = _sh("journal_archive")
CAPTURE = _sh("capture")
SNAPSHOT = _sh("snapshot")
RESTORE_FILES = _sh("restore_files")
PROTECT_IMAGES = _sh("protect_images")
UNPROTECT_IMAGES = _sh("unprotect_images")
DEPLOY = _sh("deploy")
DROP_IMAGES = _sh("drop_images")
DROP_BUILD_LEFTOVERS = _sh("drop_build_leftovers")
END_INFLIGHT = _sh("end_inflight")
REDEPLOY_BASELINE = _sh("redeploy_baseline")
TEST_LAUNCH = _sh("test_launch")
TEST_POLL = _sh("test_poll")
TEST_KILL = _sh("test_kill")
PEER_BORROW = _sh("peer_borrow")
PEER_RESTORE = _sh("peer_restore")
FILE_FACTS = _sh("file_facts")
MATRIX_APPLY = _sh("matrix_apply")
MATRIX_STACK = _sh("matrix_stack")
LINK_HEAL = _sh("link_heal")

# What a journal's `script` name may say: our scripts only, never an arbitrary attribute of this module.
BY_NAME: dict[str, str] = {name: text for name, text in globals().items() if name.isupper() and isinstance(text, str)}
