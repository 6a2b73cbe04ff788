"""The sink loop's handling of what it cannot use, without a broker."""

from __future__ import annotations

from pathlib import Path

from sink_records import ledger, receipt, snapshot

from sink.consumer import Sink, _Item
from sink.store import Store
from streams.settings import Settings


class _NoCodec:
    def decode_record(self, data: bytes) -> tuple[str, dict[str, object]]:
        from schemas.errors import CodecError

        raise CodecError("bad_framing", "not a tierflow message")


def _sink(store: Store) -> Sink:
    return Sink(Settings(topic_prefix="t."), store, codec=_NoCodec())


def test_a_record_the_store_refuses_becomes_an_unstorable_dead_letter(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb", "UTC")
    sink = _sink(store)
    items = [
        _Item(*receipt("r1", "m1", "2024-05-01T12:00", "10.00"), ("t.pos.receipts", 0, 0)),
        _Item(
            *ledger("l1", "m1", "2024-05-01T12:00", "EARN", 10, tier=None),
            ("t.loyalty.ledger", 1, 7),
        ),
        _Item(*ledger("l2", "m1", "2024-05-01T12:00", "EARN", 10), ("t.loyalty.ledger", 1, 8)),
    ]
    sink._append(items, {("t.pos.receipts", 0): 1, ("t.loyalty.ledger", 1): 9})

    con = store.connection
    assert con.execute("SELECT entry_id FROM ledger").fetchall() == [("l2",)]
    assert con.execute("SELECT count(*) FROM receipts").fetchone() == (1,)
    letters = con.execute('SELECT source_topic, "offset", error_code FROM dead_letters')
    assert letters.fetchall() == [("t.loyalty.ledger", 7, "unstorable")]
    assert store.stored_offsets() == {("t.pos.receipts", 0): 1, ("t.loyalty.ledger", 1): 9}
    assert sink.stats.unstorable == 1
    store.close()


def test_undecodable_bytes_are_kept_as_a_dead_letter(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb", "UTC")
    sink = _sink(store)
    item = sink._decode("t.loyalty.ledger", 2, 5, b"m9", b"\x01garbage")
    assert item is not None and item.name == "DeadLetter"
    assert item.source == ("t.loyalty.ledger", 2, 5)
    sink._append([item], {("t.loyalty.ledger", 2): 6})
    row = store.connection.execute("SELECT key, payload, error_code FROM dead_letters").fetchone()
    assert row == ("m9", b"\x01garbage", "bad_framing")
    assert sink.stats.undecodable == 1
    assert sink._decode("t.loyalty.members", 0, 1, b"m9", None) is None, "tombstone skipped"
    assert sink.stats.tombstones == 1
    store.close()


def test_chunks_decoded_apart_keep_the_last_snapshot_last(tmp_path: Path) -> None:
    from sink.batch import BatchBuilder
    from sink.decoding import DecodedChunk, merge

    def chunk(*balances: int) -> DecodedChunk:
        builder = BatchBuilder()
        for balance in balances:
            builder.add(*snapshot("m1", "2024-01-01T12:00", balance=balance))
        return DecodedChunk(builder.tables(), len(builder), [], 0)

    tables = merge([chunk(1, 2), chunk(3)])
    assert tables["members"]["batch_seq"].to_pylist() == [0, 1, 2]
    store = Store(tmp_path / "s.duckdb", "UTC")
    store.append_batch(tables)
    assert store.connection.execute("SELECT balance FROM members").fetchone() == (3,)
    store.close()
