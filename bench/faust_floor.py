"""A bare Faust agent: what Faust's own agent machinery costs, for bench_pipeline.

It reads the receipts topic with the worker's Faust settings, through Faust's stream
(`stream.take(batch_size, within)`, which acknowledges each event), and does nothing with a
batch: no decoding, no rules, no outputs, no table. Faust commits its offsets. Run by the
bench as a subprocess:

    python -m bench.faust_floor   (settings from TIERFLOW_* variables, as the worker)
"""

from __future__ import annotations

from typing import Any

GROUP_SUFFIX = "-faust-floor"


def create_floor_app(settings: Any) -> Any:
    from streams.app import bare_app

    app = bare_app(settings, GROUP_SUFFIX)
    receipts = app.topic(
        settings.topic("receipts"),
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    @app.agent(receipts, name="tierflow.faust_floor")
    async def floor(stream: Any) -> None:
        async for _batch in stream.take(settings.batch_size, within=settings.batch_within):
            pass

    return app


def main() -> None:
    import faust

    from streams.settings import Settings

    app = create_floor_app(Settings())
    faust.Worker(app, loglevel="warning", redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
