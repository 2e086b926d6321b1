"""015 — login sessions that end on the server; login failures an admin can clear.

``login_session``: one row per login. The session and remember cookies carry a random
token whose SHA-256 digest is stored here; logging out, a password change and a
deactivation set ``ended_at``, after which neither cookie opens anything, on every app
server (services/sessions.py).

``login_attempt.cleared_at``: an admin's unlock, or a correct password from the same
address, marks the failures cleared instead of deleting them (services/lockout.py).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class LoginSession(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["account"],
                                  on_delete="RESTRICT")
        digest = pw.CharField(max_length=64, unique=True)
        remember = pw.BooleanField(default=False)
        ip = pw.CharField(max_length=64, null=True)
        user_agent = pw.CharField(max_length=200, null=True)
        created_at = pw.DateTimeField(index=True)
        last_seen_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        ended_at = pw.DateTimeField(null=True)
        end_reason = pw.CharField(max_length=20, null=True)

        class Meta:
            table_name = "login_session"
            legacy_table_names = False

    migrator.add_fields("login_attempt", cleared_at=pw.DateTimeField(null=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("login_attempt", "cleared_at")
    migrator.remove_model("login_session")
