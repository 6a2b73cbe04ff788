"""The live worker: the loop that applies input batches to members and commits them.

`loop.py` (the loop), `checkpoint.py` (what commits together), `alignment.py` (the order of
inputs across topics), `ports.py` (the interfaces to Kafka and Faust, implemented by
streams/faust_adapter/), `ticks.py` (daily review ticks), `api.py` (the member lookup API).
"""
