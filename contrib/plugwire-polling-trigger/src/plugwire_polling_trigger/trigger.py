"""Trigger type ``polling``: "new items since the last poll" of a paginated list API.

Its configuration says where the list is (URL, connection), how to read it (where
the items are in a page, which field is an item's id, how to reach the next page,
which end is newest) and how often to look. Each new item becomes one event:
``{"item": ..., "item_id": ..., "polled_at": ..., "source": URL}``.

It uses plugwire's polling delivery mode (``polls = True``): ``plugwire serve``
calls :meth:`PollingTrigger.poll` every ``interval_seconds`` for each started
recipe, with a context that sends as the recipe's connection under the server's
network policy, keeps the cursor in the store and stores each new item as a job.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plugwire import PollContext, TriggerType, UserInputError, validate_absolute_url

__all__ = ["PollingConfig", "PollingTrigger"]


class PollingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="the list endpoint, e.g. https://api.example.com/v1/orders?per_page=100")
    connection: str | None = Field(None, description="the connection to send with (its auth, TLS and agent); none: anonymous")
    items_path: str = Field("", description="dotted path to the list of items in a page ('' when the page is the list)")
    id_field: str = Field("id", description="dotted path to an item's unique id inside the item")
    order: Literal["newest_first", "oldest_first"] = Field("newest_first", description="which end of the list is newest")
    next_path: str | None = Field(None, description="dotted path to the next page (a URL or a token); default: a Link rel=next header")
    next_param: str | None = Field(None, description="query parameter that carries a next-page token")
    since_param: str | None = Field(None, description="query parameter asking only for items newer than the cursor")
    since_field: str | None = Field(None, description="dotted path, in an item, of the value sent as since_param (e.g. created_at)")
    interval_seconds: float = Field(300, ge=1, le=86400, description="seconds between polls")
    max_pages: int = Field(20, ge=1, le=1000, description="most pages read in one poll")
    emit_existing: bool = Field(False, description="emit the items already there at the first poll (default: only newer ones)")
    remember: int = Field(5000, ge=10, le=1_000_000, description="how many recent item ids are kept to recognise repeats")
    sample_item: dict[str, Any] = Field(default_factory=lambda: {"id": "1"}, description="an example item (for datapills)")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        try:
            return validate_absolute_url(v, "url")
        except UserInputError as exc:  # as a ValueError pydantic names the field's full path
            raise ValueError(str(exc)) from None

    @field_validator("id_field")
    @classmethod
    def _id_field(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must name the field that identifies an item, e.g. id")
        return v.strip()


class PollingTrigger(TriggerType):
    name = "polling"
    title = "New items (polling)"
    description = "Polls a paginated list API and starts the recipe once per new item, deduplicated by its id."
    Config = PollingConfig
    polls = True

    def sample_event(self, config: PollingConfig) -> dict[str, Any]:
        from plugwire_polling_trigger.poller import dig

        return {
            "item": config.sample_item,
            "item_id": str(dig(config.sample_item, config.id_field) or "1"),
            "polled_at": "2024-01-01T09:00:00+00:00",
            "source": config.url,
        }

    def dynamic_paths(self, config: PollingConfig) -> list[str]:
        return ["item"]  # items carry fields the sample may not show

    def poll_interval(self, config: PollingConfig) -> float:
        """Return the seconds between two polls."""
        return config.interval_seconds

    def poll(self, config: PollingConfig, context: PollContext) -> None:
        """Emit the items that are new since the last poll, oldest first, then save
        the cursor. Raises ``PollError`` when a page cannot be read."""
        from plugwire_polling_trigger.poller import Poller

        Poller(config, context).poll()
