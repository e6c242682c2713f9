"""The Dagster pipeline and the ``scr`` command line."""

import os

# polars allocates through its own jemalloc, which by default keeps freed pages for 10 s
# before giving them back: a national submission's read, typing, staging and GX steps each
# free hundreds of MB that would then stay resident while the next step allocates its own.
# Purging after 0.5 s (in jemalloc's background thread) keeps peak memory some 300 MB lower
# at the same speed. Read by jemalloc when polars is first loaded, so set before anything
# imports it; a value already in the environment wins.
os.environ.setdefault(
    "_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:500,muzzy_decay_ms:0"
)
