"""Trigger type ``scheduler``: a recipe that runs on an interval or a cron schedule.

The seed's "New scheduled event": the first event is due the moment the recipe
starts (unless ``run_on_start`` is off); later ones follow the interval, counted
from the start, or the cron expression, in the configured time zone.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plugwire import TriggerType, hookimpl


class SchedulerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    interval_seconds: float | None = Field(None, ge=1, description="run every N seconds, counted from the start (give this or cron)")
    cron: str | None = Field(None, description="a five-field cron expression, e.g. '*/15 * * * *' (give this or interval_seconds)")
    timezone: str = Field("UTC", description="time zone of the cron expression (IANA name)")
    run_on_start: bool = Field(True, description="run once as soon as the recipe starts")

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = " ".join(v.split())
        from croniter import croniter  # on use: loading the plugins (plugwire suggest) needs no cron reader

        if not croniter.is_valid(v):
            raise ValueError(f"{v!r} is not a cron expression (five fields: minute hour day month weekday)")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not a known time zone (use an IANA name such as Europe/Paris)") from None
        return v

    @model_validator(mode="after")
    def _one_schedule(self) -> "SchedulerConfig":
        if (self.interval_seconds is None) == (self.cron is None):
            raise ValueError("give exactly one of interval_seconds or cron")
        return self


class SchedulerTrigger(TriggerType):
    name = "scheduler"
    title = "New scheduled event"
    description = "Runs the recipe on an interval or a cron schedule, and once as soon as it starts."
    Config = SchedulerConfig

    def sample_event(self, config: SchedulerConfig) -> dict[str, Any]:
        now = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)
        return self.event_at(config, now, now)

    def event_at(self, config: SchedulerConfig, due: datetime, fired: datetime) -> dict[str, Any]:
        return {
            "scheduled_at": due.astimezone(timezone.utc).isoformat(),
            "fired_at": fired.astimezone(timezone.utc).isoformat(),
            "schedule": config.cron or f"every {config.interval_seconds:g} s",
        }

    def next_fire(self, config: SchedulerConfig, started_at: datetime, after: datetime | None) -> datetime | None:
        if after is None and config.run_on_start:
            return started_at
        after = after or started_at
        if config.interval_seconds is not None:
            # Counting from the start keeps the slots fixed across restarts, so a
            # slot's event id is the same whoever computes it.
            n = math.floor((after - started_at).total_seconds() / config.interval_seconds) + 1
            return started_at + timedelta(seconds=max(n, 1) * config.interval_seconds)
        from croniter import croniter

        tz = ZoneInfo(config.timezone)
        return croniter(config.cron, after.astimezone(tz)).get_next(datetime).astimezone(timezone.utc)


@hookimpl
def register_triggers(register):
    register(SchedulerTrigger())
