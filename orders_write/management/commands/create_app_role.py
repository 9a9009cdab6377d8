"""Create (or bring up to date) the PostgreSQL role the application runs as."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from psycopg import sql

from orders_write.models import CustomerKey, Event

# Tables the application reads but never changes: the event store is append-only, and the
# migrations' record belongs to whoever migrates. A customer's key is made once and only
# ever deleted (forgetting them), never changed.
APPEND_ONLY = {Event._meta.db_table}
READ_ONLY = {"django_migrations"}
INSERT_DELETE_ONLY = {CustomerKey._meta.db_table}
KEPT = {
    **dict.fromkeys(APPEND_ONLY, "SELECT, INSERT"),
    **dict.fromkeys(READ_ONLY, "SELECT"),
    **dict.fromkeys(INSERT_DELETE_ONLY, "SELECT, INSERT, DELETE"),
}
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def role_statements(role: str, password: str | None, database: str, tables: list[str]) -> list:
    """Return the statements that make `role` and give it what the application needs."""
    name = sql.Identifier(role)
    attributes = sql.SQL(ROLE_ATTRIBUTES)
    if password:
        attributes = sql.SQL("{} PASSWORD {}").format(attributes, sql.Literal(password))
    create = sql.SQL(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN "
        "CREATE ROLE {}; END IF; END $$"
    ).format(sql.Literal(role), name)
    statements = [
        create,
        sql.SQL("ALTER ROLE {} {}").format(name, attributes),
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(database), name
        ),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            name
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(name),
        # Tables the owner creates later (migrations, a rebuild's new read tables).
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(name),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(name),
    ]
    for table in tables:
        kept = KEPT[table]
        statements += [
            sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(sql.Identifier(table), name),
            sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                sql.SQL(kept), sql.Identifier(table), name
            ),
        ]
    return statements


class Command(BaseCommand):
    help = (
        "Create or update the PostgreSQL role the application runs as: it may read and write "
        "the other tables but only SELECT and INSERT the event store, and only SELECT, INSERT and "
        "DELETE the customers' keys; it owns nothing, so it "
        "cannot TRUNCATE, ALTER or drop a table, nor disable the append-only trigger. Run it as "
        "the tables' owner, after each migrate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="Name of the application's role, e.g. orders_app.")
        parser.add_argument(
            "--password", help="Its password (for a server that does not trust local clients)."
        )
        parser.add_argument(
            "--database", default="default", help="Database alias to set up (default, read)."
        )
        parser.add_argument(
            "--sql", action="store_true", help="Print the SQL instead of running it."
        )

    def handle(
        self, *args: object, role: str, password: str | None, database: str, **options: object
    ) -> None:
        if database not in connections:
            raise CommandError(f"No database {database!r}: choose from {', '.join(connections)}.")
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("Roles and grants need PostgreSQL; this database is SQLite.")
        if role == connection.settings_dict["USER"]:
            raise CommandError(
                f"{role!r} is the role this command runs as (the tables' owner): name another."
            )
        tables = connection.introspection.table_names()
        guarded = sorted(KEPT.keys() & set(tables))
        statements = role_statements(role, password, connection.settings_dict["NAME"], guarded)
        if options["sql"]:
            with connection.cursor() as cursor:
                rendered = [s.as_string(cursor.connection) for s in statements]
            self.stdout.write(";\n".join(rendered) + ";")
            return
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(self.style.SUCCESS(f"Role {role!r} may now run the application."))
