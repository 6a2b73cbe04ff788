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
    from agents.intake import take_batches
    from streams.app import bare_app, declare_topics

    app = bare_app(settings, GROUP_SUFFIX)
    receipts = declare_topics(app, settings).by_name["receipts"]

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
