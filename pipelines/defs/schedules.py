"""Schedules: the weekly tracking digest, Mondays at 07:00 London time."""

import dagster as dg

from pipelines.defs.assets.tracking import DIGEST_TIMEZONE, TrackingDigestConfig, tracking_digest


def _digest_run_config(context: dg.ScheduleEvaluationContext) -> dg.RunConfig:
    """The digest is as of the day the schedule fires (in London), so a run that starts
    late, or is re-executed later, still writes that Monday's lists."""
    when = context.scheduled_execution_time
    as_of = when.date().isoformat() if when is not None else ""
    return dg.RunConfig(ops={tracking_digest.op.name: TrackingDigestConfig(as_of=as_of)})


weekly_tracking_digest = dg.ScheduleDefinition(
    name="weekly_tracking_digest",
    target=tracking_digest,
    cron_schedule="0 7 * * 1",
    execution_timezone=DIGEST_TIMEZONE,
    run_config_fn=_digest_run_config,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every Monday at 07:00 (Europe/London): the overdue list of every board as of "
    "that day, one CSV per board in digests/<date>/ beside the warehouse.",
)
