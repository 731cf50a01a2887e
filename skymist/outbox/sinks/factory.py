"""Build the sinks the settings ask for."""

from __future__ import annotations

from typing import TextIO

from skymist.config import Settings
from skymist.kafka_clients import KafkaProducer, make_notice_producer, notice_config
from skymist.outbox.queue import SINK_KAFKA, SINK_SLACK
from skymist.outbox.sinks.base import Sink
from skymist.outbox.sinks.circulars import SINK_CIRCULARS, CircularsApiSink, CircularsFileSink
from skymist.outbox.sinks.datacite import SINK_DATACITE, DataCiteSink
from skymist.outbox.sinks.kafka import KafkaSink
from skymist.outbox.sinks.slack import ConsoleSink, SlackWebApiSink, SlackWebhookSink


class SettingsError(ValueError):
    """A setting is missing or inconsistent (the message names it)."""


def build_sinks(
    settings: Settings, console: TextIO | None = None, producer: KafkaProducer | None = None
) -> dict[str, Sink]:
    sinks: dict[str, Sink] = {
        SINK_KAFKA: KafkaSink(
            producer or make_notice_producer(settings), notice_config(settings), settings.sink_timeout_s
        )
    }
    mode = settings.slack_mode
    if mode == "webhook":
        if settings.slack_webhook_url is None:
            raise SettingsError(
                "slack_mode is 'webhook' but slack_webhook_url (SKYMIST_SLACK_WEBHOOK_URL) is not set"
            )
        sinks[SINK_SLACK] = SlackWebhookSink(
            settings.slack_webhook_url.get_secret_value(), settings.sink_timeout_s
        )
    elif mode == "web_api":
        if settings.slack_bot_token is None or not settings.slack_channel:
            raise SettingsError("slack_mode is 'web_api' but slack_bot_token or slack_channel is not set")
        sinks[SINK_SLACK] = SlackWebApiSink(
            settings.slack_api_url,
            settings.slack_bot_token.get_secret_value(),
            settings.slack_channel,
            settings.sink_timeout_s,
        )
    elif mode == "console":
        sinks[SINK_SLACK] = ConsoleSink(console)
    if settings.circulars_enabled:
        if settings.circulars_token is None:
            raise SettingsError(
                "circulars_enabled is true but circulars_token (SKYMIST_CIRCULARS_TOKEN) is not set"
            )
        sinks[SINK_CIRCULARS] = CircularsApiSink(
            settings.circulars_api_url, settings.circulars_token.get_secret_value(), settings.sink_timeout_s
        )
    else:
        sinks[SINK_CIRCULARS] = CircularsFileSink(settings.data_dir / "circulars")
    if settings.datacite_enabled:
        if not settings.datacite_username or settings.datacite_password is None:
            raise SettingsError(
                "datacite_enabled is true but datacite_username or datacite_password "
                "(SKYMIST_DATACITE_USERNAME / SKYMIST_DATACITE_PASSWORD) is not set"
            )
        sinks[SINK_DATACITE] = DataCiteSink(
            settings.datacite_api_url,
            settings.datacite_username,
            settings.datacite_password.get_secret_value(),
            settings.sink_timeout_s,
        )
    return sinks
