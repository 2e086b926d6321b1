"""005 — index names as the models declare them.

001's frozen models had no ``legacy_table_names = False``, so peewee named their indexes
after the class (``memberunit_name``) while the models name them after the table
(``member_unit_name``). tests/test_schema.py compares index names too; a later
``drop_index`` by name must find the index the models expect.
"""

import peewee as pw
from peewee_migrate import Migrator

# (table, name made by 001, name the models declare, columns, unique)
RENAMED = [
    ("account", "user_created_at", "account_created_at", ("created_at",), False),
    ("account", "user_role", "account_role", ("role",), False),
    ("account", "user_unit_id", "account_unit_id", ("unit_id",), False),
    ("account", "user_username", "account_username", ("username",), True),
    ("api_token", "apitoken_created_at", "api_token_created_at", ("created_at",), False),
    ("api_token", "apitoken_digest", "api_token_digest", ("digest",), True),
    ("api_token", "apitoken_user_id", "api_token_user_id", ("user_id",), False),
    ("audit_log", "auditlog_action", "audit_log_action", ("action",), False),
    ("audit_log", "auditlog_created_at", "audit_log_created_at", ("created_at",), False),
    ("audit_log", "auditlog_entity", "audit_log_entity", ("entity",), False),
    ("audit_log", "auditlog_entity_id", "audit_log_entity_id", ("entity_id",), False),
    ("audit_log", "auditlog_user_id", "audit_log_user_id", ("user_id",), False),
    ("login_attempt", "loginattempt_created_at", "login_attempt_created_at", ("created_at",), False),
    ("login_attempt", "loginattempt_ip", "login_attempt_ip", ("ip",), False),
    ("login_attempt", "loginattempt_username", "login_attempt_username", ("username",), False),
    ("member_unit", "memberunit_created_at", "member_unit_created_at", ("created_at",), False),
    ("member_unit", "memberunit_grid_id", "member_unit_grid_id", ("grid_id",), False),
    ("member_unit", "memberunit_kind", "member_unit_kind", ("kind",), False),
    ("member_unit", "memberunit_name", "member_unit_name", ("name",), True),
    ("member_unit", "memberunit_status", "member_unit_status", ("status",), False),
    ("points_entry", "pointsentry_corrects_id", "points_entry_corrects_id", ("corrects_id",), False),
    ("points_entry", "pointsentry_created_at", "points_entry_created_at", ("created_at",), False),
    ("points_entry", "pointsentry_event_id", "points_entry_event_id", ("event_id",), False),
    ("points_entry", "pointsentry_kind", "points_entry_kind", ("kind",), False),
    ("points_entry", "pointsentry_organiser_id", "points_entry_organiser_id", ("organiser_id",), False),
    ("points_entry", "pointsentry_recorded_by_id", "points_entry_recorded_by_id", ("recorded_by_id",), False),
    ("points_entry", "pointsentry_signup_id", "points_entry_signup_id", ("signup_id",), False),
    ("points_entry", "pointsentry_volunteer_id", "points_entry_volunteer_id", ("volunteer_id",), False),
    ("progress_report", "progressreport_claim_id", "progress_report_claim_id", ("claim_id",), False),
    ("progress_report", "progressreport_created_at", "progress_report_created_at", ("created_at",), False),
    ("volunteer_team", "volunteerteam_created_at", "volunteer_team_created_at", ("created_at",), False),
    ("volunteer_team", "volunteerteam_name", "volunteer_team_name", ("name",), True),
    ("work_order", "workorder_assignee_unit_id", "work_order_assignee_unit_id", ("assignee_unit_id",), False),
    ("work_order", "workorder_assignee_volunteer_id", "work_order_assignee_volunteer_id",
     ("assignee_volunteer_id",), False),
    ("work_order", "workorder_category", "work_order_category", ("category",), False),
    ("work_order", "workorder_channel", "work_order_channel", ("channel",), False),
    ("work_order", "workorder_created_at", "work_order_created_at", ("created_at",), False),
    ("work_order", "workorder_due_at", "work_order_due_at", ("due_at",), False),
    ("work_order", "workorder_grid_id", "work_order_grid_id", ("grid_id",), False),
    ("work_order", "workorder_number", "work_order_number", ("number",), True),
    ("work_order", "workorder_status", "work_order_status", ("status",), False),
]


def _rename(migrator, database, table, old, new, columns, unique):
    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql(f'ALTER INDEX "{old}" RENAME TO "{new}"')
        return
    # SQLite cannot rename an index: build the new one, then drop the old
    cols = ", ".join(f'"{c}"' for c in columns)
    migrator.sql(f'CREATE {"UNIQUE " if unique else ""}INDEX "{new}" ON "{table}" ({cols})')
    migrator.sql(f'DROP INDEX "{old}"')


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, old, new, columns, unique in RENAMED:
        _rename(migrator, database, table, old, new, columns, unique)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, old, new, columns, unique in RENAMED:
        _rename(migrator, database, table, new, old, columns, unique)
