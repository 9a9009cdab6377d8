import random
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from orders_bench.demo import status_path
from orders_read.progress import ProgressBar
from orders_write import services
from orders_write.commands import (
    AddProduct,
    Address,
    CommandContext,
    CreateOrder,
    OrderLine,
    RegisterCustomer,
    UpdateOrderStatus,
)
from orders_write.models import Customer, Product

FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kemi",
    "Lars",
    "Maya",
    "Noor",
    "Omar",
    "Priya",
]
LAST_NAMES = [
    "Martin",
    "Okafor",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Dubois",
    "Novak",
    "Silva",
    "Khan",
    "Berg",
    "Costa",
    "Ivanova",
]
CITIES = [
    ("Lyon", "69001", "FR"),
    ("Berlin", "10115", "DE"),
    ("Porto", "4000", "PT"),
    ("Leeds", "LS1", "GB"),
]
CATALOGUE = {
    "books": ["Field Guide", "Cookbook", "Atlas", "Novel", "Sketchbook"],
    "electronics": ["Headphones", "USB Hub", "Keyboard", "Webcam", "Power Bank"],
    "garden": ["Trowel", "Seed Kit", "Hose", "Planter", "Pruner"],
    "kitchen": ["Kettle", "Chef Knife", "Teapot", "Grinder", "Skillet"],
    "office": ["Notebook", "Desk Lamp", "Stapler", "Pen Set", "Monitor Stand"],
}
DAYS = 90  # orders are placed over the last DAYS days
PAYMENT_METHODS = ["card", "card", "card", "paypal", "bank_transfer", "cash_on_delivery"]


class Command(BaseCommand):
    help = "Create realistic, deterministic demo data through the command services."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=40)
        parser.add_argument("--products", type=int, default=25)
        parser.add_argument("--orders", type=int, default=300)
        parser.add_argument("--seed", type=int, default=42, help="Same seed, same data.")
        parser.add_argument(
            "--force", action="store_true", help="Add demo data even if the database has some."
        )
        parser.add_argument(
            "--admin", action="store_true", help="Also create superuser admin/admin (DEBUG only)."
        )

    def handle(self, *args: object, **options: int) -> None:
        if min(options["customers"], options["products"], options["orders"]) < 1:
            raise CommandError("--customers, --products and --orders must be at least 1.")
        if options["admin"]:
            self._ensure_admin()
        if Customer.objects.exists() and not options["force"]:
            if options["verbosity"] >= 1:
                self.stdout.write("Demo data already present; nothing added (--force adds more).")
            return
        rnd = random.Random(options["seed"])  # noqa: S311 (demo data, not secrets)
        show = options["verbosity"] >= 1
        now = timezone.now()
        plan = _order_plan(rnd, options["customers"], options["orders"], now)
        customers = self._customers(rnd, _registrations(rnd, plan, options["customers"], now), show)
        products = self._products(rnd, options["products"], now - timedelta(days=DAYS + 30), show)
        self._orders(rnd, plan, customers, products, now, show)
        if show:
            self.stdout.write(self.style.SUCCESS("Demo data created."))

    def _ensure_admin(self) -> None:
        if not settings.DEBUG:
            raise CommandError("--admin creates a well-known password; it needs DEBUG on.")
        users = get_user_model().objects
        if not users.filter(username="admin").exists():
            users.create_superuser("admin", "admin@example.com", "admin")
            self.stdout.write("Superuser admin (password: admin) created.")

    def _customers(
        self, rnd: random.Random, registered: list[datetime], show: bool
    ) -> list[Customer]:
        bar = ProgressBar(self.stdout, "customers", "", enabled=show)
        customers, count = [], len(registered)
        for number, at in enumerate(registered, start=1):
            first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
            email = f"{first}.{last}.{number}@example.com".lower()
            command = RegisterCustomer(name=f"{first} {last}", email=email)
            customers.append(services.register_customer(command, context=_at(at)))
            bar.update(number, count)
        bar.finish()
        return customers

    def _products(
        self, rnd: random.Random, count: int, added: datetime, show: bool
    ) -> list[Product]:
        bar = ProgressBar(self.stdout, "products", "", enabled=show)
        products = []
        for number in range(1, count + 1):
            category = rnd.choice(sorted(CATALOGUE))
            name = f"{rnd.choice(CATALOGUE[category])} {number}"
            price = Decimal(rnd.randrange(299, 24999)) / 100
            command = AddProduct(name=name, category=category, unit_price=price)
            products.append(services.add_product(command, context=_at(added)))
            bar.update(number, count)
        bar.finish()
        return products

    def _orders(
        self,
        rnd: random.Random,
        plan: list[tuple[datetime, int]],
        customers: list[Customer],
        products: list[Product],
        now: datetime,
        show: bool,
    ) -> None:
        bar = ProgressBar(self.stdout, "orders", "", enabled=show)
        for number, (placed, customer) in enumerate(plan, start=1):
            order = services.create_order(
                self._order(rnd, customers[customer], products), context=_at(placed)
            )
            at = placed
            for status in status_path(rnd):
                # Each step takes hours; an order placed recently has not got far yet.
                at += timedelta(hours=rnd.uniform(2, 30), seconds=rnd.uniform(0, 3600))
                if at >= now:
                    break
                services.update_order_status(
                    UpdateOrderStatus(order_id=order.id, status=status), context=_at(at)
                )
            bar.update(number, len(plan))
        bar.finish()

    def _order(self, rnd: random.Random, customer: Customer, products: list) -> CreateOrder:
        city, postal_code, country = rnd.choice(CITIES)
        lines = rnd.sample(products, k=min(len(products), rnd.choice([1, 1, 2, 2, 3, 4])))
        return CreateOrder(
            order_id=UUID(int=rnd.getrandbits(128), version=4),
            customer_id=customer.id,
            items=tuple(OrderLine(p.id, rnd.choice([1, 1, 1, 2, 2, 3, 5])) for p in lines),
            shipping_address=Address(
                line1=f"{rnd.randint(1, 200)} High Street",
                city=city,
                postal_code=postal_code,
                country=country,
            ),
            payment_method=rnd.choice(PAYMENT_METHODS),
        )


def _order_plan(
    rnd: random.Random, customers: int, orders: int, now: datetime
) -> list[tuple[datetime, int]]:
    """Draw when each order is placed and by which customer, oldest first."""
    plan = [
        (now - timedelta(days=rnd.uniform(0, DAYS)), rnd.randrange(customers))
        for _ in range(orders)
    ]
    return sorted(plan)


def _registrations(
    rnd: random.Random, plan: list[tuple[datetime, int]], customers: int, now: datetime
) -> list[datetime]:
    """Register each customer some days before their first order (or at any time if none)."""
    first_order: dict[int, datetime] = {}
    for placed, customer in plan:
        first_order.setdefault(customer, placed)
    return [
        first_order.get(number, now) - timedelta(days=rnd.uniform(0.1, 20))
        for number in range(customers)
    ]


def _at(moment: datetime) -> CommandContext:
    return CommandContext(actor="seed_demo", occurred_at=moment)
