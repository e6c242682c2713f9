"""The GX process that `scr ingest` and `scr build` start (see ``expectations.gx_process``).

Its argument is the folder of the sheets' files; requests come on standard input, answers go
out on the original standard output; anything GX itself prints goes to standard error
instead, so it cannot corrupt an answer."""

from __future__ import annotations

import os
import shutil
import sys

from warehouse.expectations import serve

if __name__ == "__main__":
    # Background work: on a busy machine the command's own process comes first (and a GX
    # process that is never needed, its submission rejected early, costs little).
    os.nice(10)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        serve(sys.stdin.buffer, answers)
        answers.flush()
    finally:
        shutil.rmtree(sys.argv[1], ignore_errors=True)  # the command's sheets, if it was killed
    # Nothing is left to write: skip tearing down GX's modules, about a second of the
    # command's wall time when it waits for this process to end.
    os._exit(0)
