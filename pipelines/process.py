"""Ending the `scr` process quickly once its work is done.

Interpreter teardown after importing Dagster and Great Expectations takes 1.5-2 s here (it
clears tens of thousands of module objects one by one): longer than a whole small ingest.
Once the command has returned, nothing is left for teardown to do that matters: the
warehouse connections are closed by their context managers, the output is flushed here,
other threads are joined and the exit handlers run (temporary folders, logging) exactly as
at a normal exit. Only the module teardown is skipped.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int | None) -> NoReturn:
    """Exit with ``code`` after the command has finished, without the module teardown."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # a reader that went away (`scr ... | head`) or a closed stream
    os._exit(code or 0)
