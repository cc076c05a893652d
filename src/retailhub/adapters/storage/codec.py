"""Canonical documents to and from JSON bytes (msgspec understands our frozen dataclasses)."""

from __future__ import annotations

import msgspec

from retailhub.domain.orders import Order

_order_decoder = msgspec.json.Decoder(Order)
_encoder = msgspec.json.Encoder(decimal_format="string")


def encode_order(order: Order) -> bytes:
    return _encoder.encode(order)


def decode_order(data: bytes) -> Order:
    return _order_decoder.decode(data)
