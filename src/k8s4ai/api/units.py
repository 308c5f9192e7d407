"""Kubernetes-style quantities ("80Gi", "500m") and durations ("1h30m").

Manifests keep the text the user wrote, so that `get -o yaml` output applied again is a no-op;
the parsed value is what the scheduler and cost model compute with. Values compare by amount,
so "1024Mi" equals "1Gi".
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
}
_QUANTITY = re.compile(r"^(?P<num>[0-9]+(\.[0-9]+)?|\.[0-9]+)(?P<suffix>[a-zA-Z]*)$")
_DURATION = re.compile(
    r"^(?:(?P<h>[0-9]+(?:\.[0-9]+)?)h)?(?:(?P<m>[0-9]+(?:\.[0-9]+)?)m)?"
    r"(?:(?P<s>[0-9]+(?:\.[0-9]+)?)s)?$"
)


def parse_quantity(text: str) -> Decimal:
    """The amount a quantity string stands for; raises ValueError with the accepted forms."""
    match = _QUANTITY.match(text.strip())
    suffix = match.group("suffix") if match else ""
    if match is None or suffix not in _SUFFIXES:
        raise ValueError(
            f"{text!r} is not a quantity: use a number with an optional suffix "
            "m, k, M, G, T, Ki, Mi, Gi, Ti (e.g. '80Gi', '500m', '2')"
        )
    try:
        return Decimal(match.group("num")) * _SUFFIXES[suffix]
    except InvalidOperation as err:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{text!r} is not a quantity") from err


class Quantity:
    """An amount of CPU, memory or VRAM, remembered as written."""

    __slots__ = ("text", "value")

    def __init__(self, text: str | int | float) -> None:
        if isinstance(text, bool):
            raise ValueError("a quantity cannot be a boolean")
        self.text = str(text).strip()
        self.value = parse_quantity(self.text)
        if self.value < 0:  # pragma: no cover - the regex admits no sign
            raise ValueError("a quantity cannot be negative")

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Quantity({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __le__(self, other: Quantity) -> bool:
        return self.value <= other.value

    @property
    def bytes(self) -> int:
        return int(self.value)

    @property
    def gib(self) -> float:
        return float(self.value / _SUFFIXES["Gi"])

    @property
    def cores(self) -> float:
        return float(self.value)

    @property
    def millis(self) -> int:
        return int(self.value * 1000)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(raw: Any) -> Quantity:
            if isinstance(raw, Quantity):
                return raw
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise PydanticCustomError(
                    "quantity_type", "expected a quantity such as '80Gi', '500m' or 2"
                )
            try:
                return cls(raw)
            except ValueError as err:
                raise PydanticCustomError("quantity", str(err)) from None

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": _QUANTITY.pattern,
        }


class Duration:
    """A span of time written as Go/Kubernetes durations do ("90s", "30m", "1h30m")."""

    __slots__ = ("seconds", "text")

    def __init__(self, text: str | int | float) -> None:
        if isinstance(text, bool):
            raise ValueError("a duration cannot be a boolean")
        if isinstance(text, int | float):
            self.text, self.seconds = f"{text}s", float(text)
            return
        self.text = text.strip()
        match = _DURATION.match(self.text)
        if not self.text or match is None or not any(match.groups()):
            raise ValueError(f"{text!r} is not a duration: use e.g. '90s', '30m' or '1h30m'")
        hours, minutes, seconds = (float(g) if g else 0.0 for g in match.group("h", "m", "s"))
        self.seconds = hours * 3600 + minutes * 60 + seconds

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Duration({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duration) and self.seconds == other.seconds

    def __hash__(self) -> int:
        return hash(self.seconds)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(raw: Any) -> Duration:
            if isinstance(raw, Duration):
                return raw
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise PydanticCustomError("duration_type", "expected a duration such as '30m'")
            try:
                return cls(raw)
            except ValueError as err:
                raise PydanticCustomError("duration", str(err)) from None

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "minLength": 1, "pattern": _DURATION.pattern}
