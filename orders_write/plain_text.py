"""The one rule for free text in commands (names, categories, addresses, reasons): it must show
something once invisible characters are set aside, and carry no bidirectional controls, which
can make text display in another order than it is stored (a name that reads as another)."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# Embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069).
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Format characters (zero-width spaces and joiners, marks, ...), controls and separators.
INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})

BLANK = "This field may not be blank (invisible characters do not count)."
BIDI = "Remove the bidirectional control characters (U+202A to U+202E, U+2066 to U+2069)."


def text_error(value: str, *, required: bool = True) -> ValidationError | None:
    """Return why `value` breaks the rule, or None; a text not `required` may be blank."""
    if any(c in BIDI_CONTROLS for c in value):
        return ValidationError(BIDI, code="bidi_control")
    if required and all(_invisible(c) for c in value):
        return ValidationError(BLANK, code="blank")
    return None


def _invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in INVISIBLE_CATEGORIES


@deconstructible
class PlainTextValidator:
    """A Django validator applying `text_error` (for forms and serializer fields)."""

    def __init__(self, *, required: bool = True) -> None:
        self.required = required

    def __call__(self, value: str) -> None:
        error = text_error(value, required=self.required)
        if error is not None:
            raise error

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlainTextValidator) and other.required == self.required


validate_plain_text = PlainTextValidator()
validate_optional_plain_text = PlainTextValidator(required=False)
