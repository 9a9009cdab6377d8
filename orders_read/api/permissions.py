"""Reads need the view permission of the read model they show (the `viewer` group has all)."""

from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request


class CanViewReadModel(IsAuthenticated):
    """Allow a logged-in user who has `orders_read.view_<model>` of the view's `read_model`."""

    message = "You need permission to view this data."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        model = view.read_model._meta
        return request.user.has_perm(f"{model.app_label}.view_{model.model_name}")
