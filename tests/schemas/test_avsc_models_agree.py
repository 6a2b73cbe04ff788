"""The pydantic models and the .avsc files say the same thing, field by field (no drift)."""

from __future__ import annotations

import json
import types
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import AwareDatetime, BaseModel

from schemas.codec import RECORD_NAMES, SCHEMA_DIR, load_schema
from schemas.models import MODELS

PRIMITIVES: dict[str, type] = {
    "string": str,
    "int": int,
    "long": int,
    "boolean": bool,
    "bytes": bytes,
}


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without None, whether None was allowed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        assert len(args) == 1, annotation
        return args[0], True
    return annotation, False


def _base(annotation: Any) -> Any:
    # Money is Annotated[Decimal, ...]; AwareDatetime is Annotated[datetime, ...].
    if annotation is AwareDatetime:
        return datetime
    metadata = getattr(annotation, "__metadata__", None)
    return get_args(annotation)[0] if metadata is not None else annotation


def _assert_same_type(avro: Any, annotation: Any, where: str) -> None:
    annotation = _base(annotation)
    if isinstance(avro, str):
        assert annotation is PRIMITIVES[avro], where
        return
    if avro["type"] == "record":
        _assert_record_matches(avro, annotation, where)
    elif avro["type"] == "array":
        assert get_origin(annotation) is list, where
        _assert_same_type(avro["items"], get_args(annotation)[0], f"{where}[]")
    elif avro["type"] == "enum":
        assert issubclass(annotation, Enum), where
        assert [member.value for member in annotation] == avro["symbols"], where
    elif avro.get("logicalType") == "decimal":
        assert annotation is Decimal, where
    elif avro.get("logicalType") == "timestamp-millis":
        assert annotation is datetime, where
    elif avro.get("logicalType") == "date":
        assert annotation is date, where
    else:
        raise AssertionError(f"{where}: no rule for {avro}")


def _assert_record_matches(schema: dict[str, Any], model: type[BaseModel], where: str) -> None:
    avro_fields = schema["fields"]
    assert [field["name"] for field in avro_fields] == list(model.model_fields), where
    for field in avro_fields:
        name = field["name"]
        info = model.model_fields[name]
        annotation, optional = _unwrap(info.annotation)
        avro_type = field["type"]
        nullable = isinstance(avro_type, list)
        assert nullable == optional, f"{where}.{name}: nullable in one, not the other"
        if nullable:
            assert avro_type[0] == "null" and len(avro_type) == 2, f"{where}.{name}"
            avro_type = avro_type[1]
        assert ("default" in field) == (not info.is_required()), f"{where}.{name}: default"
        if "default" in field:
            assert field["default"] == info.default, f"{where}.{name}: default value"
        _assert_same_type(avro_type, annotation, f"{where}.{name}")


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_model_mirrors_its_avsc_field_by_field(name: str) -> None:
    _assert_record_matches(load_schema(name), MODELS[name], name)


def test_every_avsc_has_a_model_and_every_model_an_avsc() -> None:
    files = {path.stem for path in Path(SCHEMA_DIR).glob("*.avsc")}
    assert files == set(RECORD_NAMES) == set(MODELS)


def _fields(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        for field in node.get("fields", []):
            found.append(field)
            found.extend(_fields(field["type"]))
        found.extend(_fields(node.get("items")))
    elif isinstance(node, list):
        for item in node:
            found.extend(_fields(item))
    return found


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_every_field_is_documented_and_every_option_defaults_to_null(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{name}.avsc").read_text())
    assert schema["namespace"] == "io.tierflow.v1"
    assert schema["doc"]
    for field in _fields(schema):
        assert field.get("doc"), f"{name}.{field['name']} has no doc"
        if isinstance(field["type"], list):
            assert field.get("default", "missing") is None, f"{name}.{field['name']}"


def test_money_is_decimal_12_2_everywhere() -> None:
    money = [
        field
        for field in _fields(load_schema("Receipt"))
        if field["name"] in ("unit_price", "amount", "total")
    ]
    assert len(money) == 3
    for field in money:
        assert field["type"] == {
            "type": "bytes",
            "logicalType": "decimal",
            "precision": 12,
            "scale": 2,
        }
