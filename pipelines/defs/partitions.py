"""Each submission received is a dynamic partition keyed by its content hash."""

import dagster as dg

submissions = dg.DynamicPartitionsDefinition(name="submissions")
