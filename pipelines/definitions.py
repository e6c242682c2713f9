"""Dagster definitions: `dagster dev -m pipelines.definitions` opens them in the UI.

Every module under `pipelines/defs/` is loaded as it is (its assets, checks, jobs and sensors
found at module scope, nothing listed by hand), then merged with the resources.
"""

import importlib
import pkgutil
import warnings
from types import ModuleType

import dagster as dg

import pipelines.defs
from pipelines.defs.resources import warehouse_from_env


def defs_modules() -> list[ModuleType]:
    """Every module in the pipelines.defs package, sub-packages included, by name."""
    found = pkgutil.walk_packages(pipelines.defs.__path__, prefix=f"{pipelines.defs.__name__}.")
    return [importlib.import_module(m.name) for m in sorted(found, key=lambda m: m.name)]


def load_defs() -> dg.Definitions:
    """The defs modules' objects, merged with the warehouse resource."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # the module loader is in preview
        loaded = dg.load_definitions_from_modules(defs_modules())
    return dg.Definitions.merge(
        loaded, dg.Definitions(resources={"warehouse": warehouse_from_env()})
    )


# The only Definitions object at module scope (the one `dagster dev -m` finds).
defs = load_defs()
