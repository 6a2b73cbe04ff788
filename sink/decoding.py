"""Decoding in worker processes: message values -> Arrow tables, off the consumer's core.

Avro decoding and building Arrow columns are pure Python work that holds the GIL; with
`--decode-workers N` the sink hands each consumed batch to N spawned processes (contiguous
chunks, so arrival order survives) and appends the merged tables in order.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from sink.batch import BatchBuilder, UnknownRecord

_codec: Any = None

Chunk = tuple[list[str], list[int], list[int], list[bytes | None], list[bytes | None]]


def dead_letter_record(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes, code: str, error: str
) -> dict[str, Any]:
    """A `DeadLetter` record for a message the sink could not use."""
    return {
        "source_topic": topic,
        "partition": partition,
        "offset": offset,
        "key": key,
        "error_code": code,
        "error": error,
        "payload": value,
        "failed_at": datetime.now(UTC),
    }


@dataclass
class DecodedChunk:
    tables: dict[str, pa.Table]
    records: int
    undecodable: list[tuple[str, int, int, str]]  # topic, partition, offset, code (for logs)
    tombstones: int


def _start_worker(schema_registry_url: str | None) -> None:
    global _codec
    from schemas.codec import Codec

    _codec = Codec(schema_registry_url=schema_registry_url)


def decode_messages(
    codec: Any, messages: Iterable[tuple[str, int, int, bytes | None, bytes | None]]
) -> DecodedChunk:
    """Decode (topic, partition, offset, key, value) messages straight into batch tables.

    Undecodable values become dead letters (counted), tombstones are counted and skipped.
    """
    from schemas.errors import CodecError

    builder = BatchBuilder()
    undecodable: list[tuple[str, int, int, str]] = []
    tombstones = 0
    for topic, partition, offset, key, value in messages:
        if value is None:
            tombstones += 1
            continue
        try:
            name, record = codec.decode_record(value)
            builder.add(name, record, (topic, partition, offset))
        except CodecError as error:
            undecodable.append((topic, partition, offset, error.code))
            letter = dead_letter_record(
                topic, partition, offset, key, value, error.code, str(error)
            )
            builder.add("DeadLetter", letter, (topic, partition, offset))
        except UnknownRecord as error:
            letter = dead_letter_record(
                topic, partition, offset, key, value, error.code, str(error)
            )
            builder.add("DeadLetter", letter, (topic, partition, offset))
    return DecodedChunk(builder.tables(), len(builder), undecodable, tombstones)


def decode_chunk(chunk: Chunk) -> DecodedChunk:
    """Decode one chunk of messages into batch tables (runs in a worker process)."""
    return decode_messages(_codec, zip(*chunk, strict=True))


def merge(chunks: list[DecodedChunk]) -> dict[str, pa.Table]:
    """The chunks' tables concatenated in order (members keep their arrival order)."""
    names = [name for name in dict.fromkeys(n for chunk in chunks for n in chunk.tables)]
    tables = {
        name: pa.concat_tables([chunk.tables[name] for chunk in chunks if name in chunk.tables])
        for name in names
    }
    members = tables.get("members")
    if members is not None:
        seq = members.schema.get_field_index("batch_seq")
        tables["members"] = members.set_column(
            seq, "batch_seq", pa.array(range(members.num_rows), pa.int64())
        )
    return tables


class DecodePool:
    """N spawned decoder processes (spawned, not forked: librdkafka's threads do not fork)."""

    def __init__(self, workers: int, schema_registry_url: str | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.workers = workers
        self._pool = context.Pool(
            workers, initializer=_start_worker, initargs=(schema_registry_url,)
        )

    def submit(self, messages: list[Any]) -> list[Any]:
        """Start decoding `messages` (confluent-kafka Messages without errors); the handles
        to pass to `results`."""
        size = -(-len(messages) // self.workers)
        handles = []
        for start in range(0, len(messages), size):
            part = messages[start : start + size]
            chunk: Chunk = (
                [m.topic() for m in part],
                [m.partition() for m in part],
                [m.offset() for m in part],
                [m.key() for m in part],
                [m.value() for m in part],
            )
            handles.append(self._pool.apply_async(decode_chunk, (chunk,)))
        return handles

    @staticmethod
    def results(handles: list[Any]) -> list[DecodedChunk]:
        return [handle.get(timeout=600) for handle in handles]

    def close(self) -> None:
        self._pool.close()
        self._pool.join()
