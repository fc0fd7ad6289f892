"""Reading what go commands print with -json: a stream of JSON objects, not an array."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from plugin_builder.errors import BuildError


def objects(text: str, what: str) -> Iterator[dict[str, Any]]:
    """Each object of the concatenated JSON ``go list -json`` and friends print."""
    decoder, index, end = json.JSONDecoder(), 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index >= end:
            return
        try:
            item, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as error:
            raise BuildError(f"reading the output of {what}", str(error)) from None
        yield item
