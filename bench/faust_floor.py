"""A bare Faust agent: the ceiling Faust itself puts on a worker, for bench_pipeline.

It reads the receipts topic with the worker's Faust settings and intake
(`agents.intake.take_batches`), and does nothing with a batch but acknowledge it: no
decoding, no rules, no outputs, no table. Run by the bench as a subprocess:

    python -m bench.faust_floor   (settings from TIERFLOW_* variables, as the worker)
"""

from __future__ import annotations

from typing import Any

GROUP_SUFFIX = "-faust-floor"


def create_floor_app(settings: Any) -> Any:
    import faust

    from agents.intake import take_batches
    from streams.app import app_settings, faust_app_id, tune_worker_consumer, worker_datadir

    tune_worker_consumer()
    worker_datadir(settings).mkdir(parents=True, exist_ok=True)
    app = faust.App(faust_app_id(settings) + GROUP_SUFFIX, **app_settings(settings))
    app.tierflow_fetch_max_wait_ms = round(settings.fetch_max_wait * 1000)
    receipts = app.topic(
        settings.topic("receipts"),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )

    @app.agent(receipts, name="tierflow.faust_floor")
    async def floor(stream: Any) -> None:
        async for batch in take_batches(stream, settings.batch_size, settings.batch_within):
            for event in batch:
                await stream.ack(event)

    return app


def main() -> None:
    import faust

    from streams.settings import Settings

    app = create_floor_app(Settings())
    faust.Worker(app, loglevel="warning", redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
