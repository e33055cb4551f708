"""The process-wide cancel flag: set on SIGINT/SIGTERM so waits end at once and no new task starts.

Its own module so that modules (which must not import the engine) can wait on it too.
"""

from __future__ import annotations

import threading

CANCEL = threading.Event()
