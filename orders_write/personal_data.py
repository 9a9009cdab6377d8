"""Seal the personal fields of events under a key per customer, and open them again.

Crypto-shredding: a customer's name, e-mail address and postal addresses are stored in the
event store only sealed with AES-GCM under that customer's key (table `customer_keys`).
Forgetting the customer deletes the key; from then on their events open to placeholders,
everywhere events are read, and history is never rewritten.

Stored data keeps every other field in clear and holds the personal ones in one box:
`{"sealed": {"fields": [...], "box": base64(nonce + ciphertext)}}`, so an event is opened
with one decryption, and the box is bound to its customer (the id is the associated data).
"""

import base64
import binascii
import copy
import os
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .exceptions import ForgottenCustomer
from .models import CustomerKey

SEALED = "sealed"
NONCE_BYTES = 12
# Enough ids per query for SQLite's limit on parameters.
IDS_PER_QUERY = 900

# The fields that identify a person, per event type that carries them.
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "CustomerRegistered": ("name", "email"),
    "CustomerUpdated": ("name", "email"),
    "OrderCreated": ("customer_name", "customer_email", "shipping_address", "billing_address"),
}

FORGOTTEN_NAME = "Forgotten customer"
FORGOTTEN_EMAIL = ""
FORGOTTEN_ADDRESS: dict[str, str] = dict.fromkeys(
    ("line1", "line2", "city", "postal_code", "country"), ""
)
# What a forgotten customer's personal fields read as, wherever they are shown.
PLACEHOLDERS: dict[str, Any] = {
    "name": FORGOTTEN_NAME,
    "email": FORGOTTEN_EMAIL,
    "customer_name": FORGOTTEN_NAME,
    "customer_email": FORGOTTEN_EMAIL,
    "shipping_address": FORGOTTEN_ADDRESS,
    "billing_address": FORGOTTEN_ADDRESS,
}

Data = dict[str, Any]


class UnreadableEvent(RuntimeError):
    """A sealed box does not open under its customer's key (tampered or misfiled)."""


class KeyRing:
    """The keys of some customers, fetched together and kept for one reading or writing."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        self._ciphers = {customer_id: AESGCM(key) for customer_id, key in keys.items()}

    @classmethod
    def of(cls, customer_ids: Iterable[str | UUID]) -> "KeyRing":
        """Fetch the keys of `customer_ids` that still exist (a query per 900 customers)."""
        ids = sorted({str(customer_id) for customer_id in customer_ids})
        keys: dict[str, bytes] = {}
        for start in range(0, len(ids), IDS_PER_QUERY):
            rows = CustomerKey.objects.filter(customer_id__in=ids[start : start + IDS_PER_QUERY])
            keys.update((str(pk), bytes(key)) for pk, key in rows.values_list("customer_id", "key"))
        return cls(keys)

    @classmethod
    def of_rows(cls, rows: Iterable[tuple[UUID, bytes]]) -> "KeyRing":
        """Return the ring of `(customer_id, key)` rows read already."""
        return cls({str(customer_id): bytes(key) for customer_id, key in rows})

    def cipher(self, customer_id: str) -> AESGCM | None:
        return self._ciphers.get(customer_id)


def new_key() -> bytes:
    """Return a fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def create_key(customer_id: UUID) -> None:
    """Give a new customer the key their personal data will be sealed under."""
    CustomerKey.objects.create(customer_id=customer_id, key=new_key())


def delete_key(customer_id: UUID) -> bool:
    """Delete a customer's key, so that their sealed data can never be opened again."""
    deleted, _ = CustomerKey.objects.filter(customer_id=customer_id).delete()
    return bool(deleted)


def personal_fields(event_type: str, data: Data) -> list[str]:
    """Return the names of `data`'s fields that identify a person."""
    return [name for name in PERSONAL_FIELDS.get(event_type, ()) if name in data]


def seal(event_type: str, data: Data, ring: KeyRing) -> Data:
    """Return `data` as stored: its personal fields replaced by one box sealed under the
    customer's key."""
    names = personal_fields(event_type, data)
    if not names:
        return data
    customer_id = data["customer_id"]
    cipher = ring.cipher(customer_id)
    if cipher is None:
        raise ForgottenCustomer(f"Customer {customer_id} has no key: they were forgotten.")
    nonce = os.urandom(NONCE_BYTES)
    box = nonce + cipher.encrypt(
        nonce, orjson.dumps({name: data[name] for name in names}), customer_id.encode()
    )
    stored = {key: value for key, value in data.items() if key not in names}
    stored[SEALED] = {"fields": names, "box": base64.b64encode(box).decode()}
    return stored


def open_sealed(data: Data, ring: KeyRing) -> Data:
    """Put the personal fields back into stored `data`, in place: in clear while the
    customer's key exists, as placeholders once they are forgotten."""
    sealed = data.pop(SEALED, None)
    if sealed is None:
        return data
    customer_id = data["customer_id"]
    cipher = ring.cipher(customer_id)
    if cipher is None:
        data.update({name: copy.copy(PLACEHOLDERS.get(name, "")) for name in sealed["fields"]})
        return data
    box = binascii.a2b_base64(sealed["box"])
    try:
        clear = cipher.decrypt(box[:NONCE_BYTES], box[NONCE_BYTES:], customer_id.encode())
    except InvalidTag:
        raise UnreadableEvent(f"A sealed event of customer {customer_id} does not open.") from None
    data.update(orjson.loads(clear))
    return data


def open_all(datas: Iterable[Data]) -> None:
    """Open every sealed data in place, fetching the keys they need together."""
    sealed = [data for data in datas if SEALED in data]
    if sealed:
        ring = KeyRing.of(data["customer_id"] for data in sealed)
        for data in sealed:
            open_sealed(data, ring)
