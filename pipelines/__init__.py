"""The Dagster pipeline and the ``scr`` command line."""

import os

# polars allocates through its own jemalloc, which it configures to keep freed pages for
# 0.5 s (and 1 s more half-returned): a national submission's read, typing, staging and GX
# steps each free hundreds of MB that would then stay resident while the next step allocates
# its own. Purging after 0.1 s in jemalloc's background thread keeps a national ingest's
# peak some 150 MB lower at the same speed. Read by jemalloc when polars is first loaded, so
# set before anything imports it. polars writes its own settings into the environment, so a
# command started by any Python process that imported polars inherits them: these come
# after whatever is inherited (jemalloc takes the last value of each option).
ALLOCATOR = "background_thread:true,dirty_decay_ms:100,muzzy_decay_ms:0"
_inherited = os.environ.get("_RJEM_MALLOC_CONF", "")
if not _inherited.endswith(ALLOCATOR):
    os.environ["_RJEM_MALLOC_CONF"] = ",".join(filter(None, [_inherited, ALLOCATOR]))
