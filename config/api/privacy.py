"""Who may see customers' e-mail and postal addresses, and how they look to everyone else."""

from typing import Any

PERMISSION = "orders_read.view_personal_data"
MASK = "***"
MASKED_HELP = (
    "Masked (e.g. `z***@***.org`, address lines `***`) unless the user has the permission "
    "orders_read.view_personal_data."
)


def may_see_personal_data(user: Any) -> bool:
    """Tell whether `user` sees e-mail and postal addresses in clear."""
    return bool(user and user.has_perm(PERMISSION))


def mask_email(email: str | None) -> str | None:
    """Keep an e-mail's first letter and top-level domain: `zoe@example.org` -> `z***@***.org`."""
    if not email:
        return email
    local, _, domain = email.partition("@")
    top = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[:1]}{MASK}@{MASK}" + (f".{top}" if top else "")


def mask_address(address: dict[str, str] | None) -> dict[str, str] | None:
    """Hide every line of an address but its country."""
    if not address:
        return address
    return {k: v if k == "country" or not v else MASK for k, v in address.items()}


# The fields of event data and read rows that hold e-mail or postal addresses.
MASKS = {
    "email": mask_email,
    "customer_email": mask_email,
    "shipping_address": mask_address,
    "billing_address": mask_address,
}


def masked(data: dict[str, Any]) -> dict[str, Any]:
    """Return `data` with its e-mail and address fields masked."""
    return {k: MASKS[k](v) if k in MASKS else v for k, v in data.items()}
