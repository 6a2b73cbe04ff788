"""The bytes each wire example encodes to, pinned: consumers read exactly these, whichever
writer (fastavro or schemas.avro_writer) produced them."""

from __future__ import annotations

import pytest
from wire_examples import every_message

from schemas.codec import Codec

# (record type, single-object encoding as hex), in the order of `every_message()`.
PINNED: list[tuple[str, str]] = [
    (
        "Receipt",
        (
            "c301b8b668b544c9d9ad1a522d323032352d303030313233104d2d3030303034320a532d30313702"
            "06542d338eea9fd3b2650655534400000a10534b552d303030301267726f63657269657304040145"
            "04028a10534b552d303030310e6170706172656c0404014504028a10534b552d3030303208686f6d"
            "650404014504028a10534b552d303030330c6265617574790404014504028a10534b552d30303034"
            "08686f6d650404014504028a00040cb2"
        ),
    ),
    (
        "Receipt",
        (
            "c301b8b668b544c9d9ad1a522d323032352d303030323030104d2d3030303034320a532d30313702"
            "06542d338eea9fd3b2650655534402021a522d323032352d3030303132330210534b552d30303031"
            "0e6170706172656c0204014504014500040145"
        ),
    ),
    (
        "MemberEvent",
        (
            "c3012502ac64fdae08d00006452d31104d2d3030303034328eea9fd3b265021e5a6fc3ab20c3856e"
            "67737472c3b66d021e7a6f65406578616d706c652e636f6d02162b31203535352030313030020102"
            "000000000000"
        ),
    ),
    (
        "MemberEvent",
        (
            "c3012502ac64fdae08d00406452d32104d2d3030303034328eea9fd3b265000000000002f303020e"
            "6167656e742d370222676f6f6477696c6c20726576657273616c0100"
        ),
    ),
    (
        "MemberEvent",
        (
            "c3012502ac64fdae08d00606452d33104d2d3030303034328eea9fd3b265000000000002d00f0000"
            "00020852572d39"
        ),
    ),
    (
        "MemberEvent",
        (
            "c3012502ac64fdae08d00806452d34064d2d318eea9fd3b26500000000000002087269736b020a66"
            "726175640000"
        ),
    ),
    (
        "MemberEvent",
        "c3012502ac64fdae08d00c06452d35064d2d318eea9fd3b265000000000000020664706f000000",
    ),
    (
        "LedgerEntry",
        (
            "c3011235bdaa3173ba5d284c2d522d323032352d3030303132332d4541524e104d2d303030303432"
            "8eea9fd3b265006040b0100c53696c766572043a98021a522d323032352d30303031323300003a53"
            "696c766572202878312e35293b206578636c756465643a206e6f6e650000"
        ),
    ),
    (
        "LedgerEntry",
        (
            "c3011235bdaa3173ba5d0a4c2d452d33104d2d3030303034328eea9fd3b2650a0000170c4d656d62"
            "65720200000206452d330000000228696e73756666696369656e742062616c616e6365"
        ),
    ),
    (
        "TierChange",
        (
            "c3015fd105a78b06bd8006542d31104d2d3030303034320c53696c76657208476f6c6400d086038e"
            "ea9fd3b2651a72656163686564203235303030"
        ),
    ),
    (
        "Notification",
        (
            "c3014f772367a1538678064e2d31104d2d303030303432000e746965725f75701e7a6f6540657861"
            "6d706c652e636f6d0448690a476f6c64218eea9fd3b265"
        ),
    ),
    (
        "Notification",
        (
            "c3014f772367a1538678064e2d32104d2d303030303432020e746965725f75700c2b312035353500"
            "0a476f6c64218eea9fd3b265"
        ),
    ),
    (
        "DeadLetter",
        (
            "c3016739b2cc2e33ce6518706f732e726563656970747306f2c00102064d2d31106261645f617672"
            "6f046e6f0400ff8eea9fd3b265"
        ),
    ),
    (
        "DeadLetter",
        (
            "c3016739b2cc2e33ce6518706f732e726563656970747300010020756e6d6174636865645f726574"
            "75726e0c776169746564008eea9fd3b265"
        ),
    ),
    (
        "ReviewTickMessage",
        "c30174c7aa5e2b0a783982bb020e8eea9fd3b265",
    ),
    (
        "MemberSnapshot",
        (
            "c3019c24fab96322c242104d2d3030303034320008476f6c6417e486030210506c6174696e756dbc"
            "8603ec04044e20028eea9fd3b2658eea9fd3b265021e5a6fc3ab20c3856e67737472c3b66d021e7a"
            "6f65406578616d706c652e636f6d00"
        ),
    ),
]


def test_every_example_is_pinned() -> None:
    assert [type(message).__name__ for message in every_message()] == [name for name, _ in PINNED]


@pytest.mark.parametrize(
    ("message", "pinned"),
    list(zip(every_message(), PINNED, strict=True)),
    ids=[f"{n}-{name}" for n, (name, _) in enumerate(PINNED)],
)
def test_an_example_encodes_to_its_pinned_bytes(message: object, pinned: tuple[str, str]) -> None:
    assert Codec().encode(message).hex() == pinned[1]
