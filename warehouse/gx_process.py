"""The GX process that `scr ingest` and `scr build` start (see ``expectations.gx_process``).

Its argument is the folder of the sheets' files; requests come on standard input, answers go
out on the original standard output; anything GX itself prints goes to standard error
instead, so it cannot corrupt an answer."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

# GX imports scipy.stats as it is imported (for its distribution expectations), which the
# suites do not use: about 0.7 s of this process's start, which the command's first
# submission waits for. It is loaded when first used instead.
DEFERRED_IMPORTS = ("scipy.stats",)


def defer_import(name: str) -> None:
    """Put a module in ``sys.modules`` that is only executed when first used."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


if __name__ == "__main__":
    for deferred in DEFERRED_IMPORTS:
        defer_import(deferred)
    from warehouse.expectations import serve

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
