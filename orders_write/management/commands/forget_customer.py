from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders_write.commands import CommandContext, ForgetCustomer
from orders_write.event_store import last_appended_position
from orders_write.exceptions import DomainError
from orders_write.services import forget_customer


class Command(BaseCommand):
    help = (
        "Forget a customer: delete the key their personal data is sealed under, put "
        "placeholders in their rows, and record CustomerForgotten (it cannot be undone)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id", type=UUID, help="The customer's id.")
        parser.add_argument(
            "--reason", required=True, help="Why (e.g. a ticket number); never personal data."
        )

    def handle(self, *args: object, customer_id: UUID, reason: str, **options: object) -> None:
        try:
            forget_customer(
                ForgetCustomer(customer_id=customer_id, reason=reason),
                context=CommandContext(actor="manage.py forget_customer"),
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        position = last_appended_position()
        self.stdout.write(
            self.style.SUCCESS(f"Customer {customer_id} forgotten at position {position}.")
        )
