"""040 — partner units and volunteers in their own loops; notices delivered beyond the site.

- ``account``: a volunteer's account is tied to one Volunteer (unique); an e-mail address
  and a mobile number where notices reach the account (services/delivery.py).
- ``account_activation``: one-time activation links (only the token's SHA-256 digest).
- ``volunteer_application``: volunteers who registered themselves, waiting for a clerk;
  one pending application per mobile number (a partial unique index).
- ``work_order``: 党员接单 (``open_to_volunteers``, with the CHECK that an order has at most
  one assignee — a unit, a volunteer or a grid worker), when the assignee accepted it
  (``taken_at``), when and why it was handed back, and when its overdue notice went out.
- ``notice_delivery``: the outbox, one row per notice per channel (unique), with the
  worker's lease, attempts and back-off.
"""

import peewee as pw
from peewee_migrate import Migrator

ONE_ASSIGNEE = ("(CASE WHEN assignee_unit_id IS NULL THEN 0 ELSE 1 END)"
                " + (CASE WHEN assignee_volunteer_id IS NULL THEN 0 ELSE 1 END)"
                " + (CASE WHEN assignee_worker IS NULL THEN 0 ELSE 1 END) <= 1")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "account",
        volunteer=pw.ForeignKeyField(column_name="volunteer_id", field="id", model=migrator.orm["volunteer"],
                                     null=True, unique=True, on_delete="RESTRICT"),
        email=pw.CharField(max_length=120, null=True),
        phone=pw.CharField(max_length=20, null=True),
    )
    migrator.add_fields(
        "work_order",
        open_to_volunteers=pw.BooleanField(default=False, index=True, constraints=[pw.Check(ONE_ASSIGNEE)]),
        taken_at=pw.DateTimeField(null=True),
        returned_at=pw.DateTimeField(null=True),
        return_reason=pw.TextField(null=True),
        overdue_notified_at=pw.DateTimeField(null=True),
    )

    @migrator.create_model
    class AccountActivation(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["account"],
                                  on_delete="RESTRICT")
        digest = pw.CharField(max_length=64, unique=True)
        created_at = pw.DateTimeField(index=True)
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["account"],
                                        null=True, on_delete="RESTRICT")
        expires_at = pw.DateTimeField()
        used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "account_activation"
            legacy_table_names = False

    @migrator.create_model
    class VolunteerApplication(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        name = pw.CharField(max_length=30)
        phone = pw.CharField(max_length=20)
        grid = pw.ForeignKeyField(column_name="grid_id", field="id", model=migrator.orm["grid"], null=True,
                                  on_delete="RESTRICT")
        team = pw.ForeignKeyField(column_name="team_id", field="id", model=migrator.orm["volunteer_team"],
                                  null=True, on_delete="RESTRICT")
        party_member = pw.BooleanField(default=False)
        skills = pw.CharField(max_length=200, null=True)
        password_hash = pw.CharField(max_length=255)
        status = pw.CharField(max_length=20, default="pending", index=True)
        reviewed_by = pw.ForeignKeyField(column_name="reviewed_by_id", field="id", model=migrator.orm["account"],
                                         null=True, on_delete="RESTRICT")
        reviewed_at = pw.DateTimeField(null=True)
        reason = pw.TextField(null=True)
        volunteer = pw.ForeignKeyField(column_name="volunteer_id", field="id", model=migrator.orm["volunteer"],
                                       null=True, on_delete="RESTRICT")
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["account"], null=True,
                                  on_delete="RESTRICT")

        class Meta:
            table_name = "volunteer_application"
            legacy_table_names = False

    migrator.sql("CREATE UNIQUE INDEX volunteer_application_phone ON volunteer_application (phone) "
                 "WHERE (\"status\" = 'pending')")

    @migrator.create_model
    class NoticeDelivery(pw.Model):
        id = pw.AutoField()
        notice = pw.ForeignKeyField(column_name="notice_id", field="id", model=migrator.orm["notice"],
                                    on_delete="RESTRICT")
        channel = pw.CharField(max_length=20)
        address = pw.CharField(max_length=200)
        status = pw.CharField(max_length=20, default="pending")
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        lease_until = pw.DateTimeField(null=True)
        worker = pw.CharField(max_length=64, null=True)
        response_code = pw.IntegerField(null=True)
        last_error = pw.TextField(null=True)
        created_at = pw.DateTimeField(index=True)
        sent_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "notice_delivery"
            legacy_table_names = False
            indexes = ((("notice", "channel"), True), (("status", "next_attempt_at"), False))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("notice_delivery")
    migrator.sql("DROP INDEX IF EXISTS volunteer_application_phone")
    migrator.remove_model("volunteer_application")
    migrator.remove_model("account_activation")
    migrator.remove_fields("work_order", "open_to_volunteers", "taken_at", "returned_at", "return_reason",
                           "overdue_notified_at")
    migrator.remove_fields("account", "volunteer", "email", "phone")
