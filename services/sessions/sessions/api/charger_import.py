"""Parsing a charger import: a JSON document or a CSV file, into validated rows."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated

from common.openapi_errors import NOT_BLANK
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from sessions.charger_repository import ChargerInput
from sessions.errors import InvalidImportError

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)
]
CSV_COLUMNS = ("external_id", "name", "network", "lat", "lng", "connectors")


class ConnectorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=NOT_BLANK),
    ]
    power_kw: float | None = Field(default=None, gt=0, le=2_000)


class ChargerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: Text
    name: Text
    network: Text
    lat: float
    lng: float
    connectors: list[ConnectorIn] = Field(default_factory=list, max_length=32)


class ChargerImportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chargers: list[ChargerIn]


def _inputs(chargers: list[ChargerIn]) -> list[ChargerInput]:
    return [
        ChargerInput(
            external_id=c.external_id,
            name=c.name,
            network=c.network,
            lat=c.lat,
            lng=c.lng,
            connectors=[x.model_dump(exclude_none=True) for x in c.connectors],
        )
        for c in chargers
    ]


def _invalid(exc: ValidationError) -> InvalidImportError:
    errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()[:50]]
    return InvalidImportError("The import does not validate; nothing was imported.", errors=errors)


def parse_json(raw: bytes) -> list[ChargerInput]:
    try:
        return _inputs(ChargerImportBody.model_validate_json(raw).chargers)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _connectors(cell: str) -> list[dict[str, object]]:
    """``CCS:150;CHAdeMO:50`` -> ``[{"type": "CCS", "power_kw": 150}, …]``."""
    found: list[dict[str, object]] = []
    for part in filter(None, (p.strip() for p in cell.split(";"))):
        kind, _, power = part.partition(":")
        found.append({"type": kind, **({"power_kw": power} if power else {})})
    return found


def parse_csv(raw: bytes) -> list[ChargerInput]:
    """A header line with ``external_id,name,network,lat,lng,connectors``, then one row each."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidImportError("The CSV file must be UTF-8.") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or set(reader.fieldnames) != set(CSV_COLUMNS):
        raise InvalidImportError(
            "The CSV header must be exactly: " + ",".join(CSV_COLUMNS), columns=list(CSV_COLUMNS)
        )
    try:
        rows = [{**row, "connectors": _connectors(row.get("connectors") or "")} for row in reader]
        body = ChargerImportBody.model_validate_json(json.dumps({"chargers": rows}))
    except csv.Error as exc:
        raise InvalidImportError(f"The CSV file cannot be read: {exc}") from None
    except ValidationError as exc:
        raise _invalid(exc) from None
    return _inputs(body.chargers)
