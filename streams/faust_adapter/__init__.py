"""The Faust adapter: how the worker reads, writes and commits through Faust and Kafka.

- `internals.py`: the only code relying on Faust's and aiokafka's private names (listed
  there, with the versions verified and a start-up check);
- `intake.py`: input records taken at the fetch, handed to the worker in contiguous batches,
  offsets committed when the checkpoint says (`agents.worker.ports.InputSource`);
- `refill.py`: offsets a partition jumped over, read from the broker;
- `outputs.py`: the producer of outputs and changelog records (librdkafka);
- `table.py`: the member table, written through its store's own API.
"""
