"""Registry subjects named as Confluent's serializers name them: `<topic>-value` by default
(TopicNameStrategy), or by record (RecordNameStrategy) or both (TopicRecordNameStrategy), as
`TIERFLOW_SCHEMA_SUBJECT_NAMING` says."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from pydantic import ValidationError
from wire_examples import InMemoryRegistry, a_receipt

from schemas.codec import Codec, subject_name
from streams.settings import Settings


def test_the_three_strategies_name_subjects_as_confluent_does() -> None:
    assert subject_name("topic", "pos.receipts", "Receipt") == "pos.receipts-value"
    assert subject_name("record", "pos.receipts", "Receipt") == "io.tierflow.v1.Receipt"
    assert (
        subject_name("topic_record", "pos.receipts", "Receipt")
        == "pos.receipts-io.tierflow.v1.Receipt"
    )
    with pytest.raises(ValueError, match="topic, record, topic_record"):
        subject_name("topics", "pos.receipts", "Receipt")


@pytest.mark.parametrize(
    ("naming", "subject"),
    [
        (None, "t.pos.receipts-value"),  # the default
        ("record", "io.tierflow.v1.Receipt"),
        ("topic_record", "t.pos.receipts-io.tierflow.v1.Receipt"),
    ],
)
def test_the_settings_codec_registers_under_the_subject_of_its_naming(
    naming: str | None, subject: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = InMemoryRegistry()
    monkeypatch.setattr(SchemaRegistryClient, "new_client", staticmethod(lambda _: registry))
    overrides = {} if naming is None else {"schema_subject_naming": naming}
    settings = Settings(schema_registry_url="mock://subjects", topic_prefix="t.", **overrides)

    data = settings.codec().encode(a_receipt())

    assert registry.subjects == {subject: int.from_bytes(data[1:5], "big")}


def test_a_codec_made_without_subjects_names_them_by_record() -> None:
    registry = InMemoryRegistry()
    Codec(registry_client=registry).encode(a_receipt())
    assert list(registry.subjects) == ["io.tierflow.v1.Receipt"]


def test_an_unknown_naming_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="schema_subject_naming"):
        Settings(schema_subject_naming="topics")  # type: ignore[arg-type]
