"""025 — work orders keep every round: one ``work_order_step`` row per step.

The order's own columns keep the current round (its stamps, result and rating); the steps
keep every round, so 二次办理 no longer loses the first round's result and rating. From now
on ``services/workorders.py`` writes a step in the transaction of every move.

Back-filled here: one step per stamp an existing order carries (受理 ``accepted_at``, 派单
``dispatched_at``, 签收/接单 ``taken_at``, 退回 ``returned_at``, 办结 ``resolved_at``, 评价
``rated_at``, 二次办理 ``reopened_at``, 撤销 ``revoked_at``), with the order's result, rating,
reasons and assignee. A stamp at or after ``reopened_at`` belongs to the current round
(``redo_count + 1``), an earlier one to the round before; the acting account is the latest
audit row of that move, when there is one. The columns added by later migrations (``taken_at``,
``returned_at``: 040) are used only where they exist, so this runs on a database migrated
to any number.
"""

import peewee as pw
from peewee_migrate import Migrator

STAFF = "工作人员"  # who acted, when the audit log does not say


def _audit(actions):
    listed = ", ".join(f"'{a}'" for a in actions)
    return ("(SELECT a.user_id FROM audit_log AS a WHERE a.entity = 'WorkOrder' "
            "AND a.entity_id = CAST(o.id AS VARCHAR(20)) "
            f"AND a.action IN ({listed}) ORDER BY a.id DESC LIMIT 1)")


def _latest_is(action, other):
    """True when the order's latest audit row of ``action``/``other`` is ``action``."""
    return (f"(SELECT a.action FROM audit_log AS a WHERE a.entity = 'WorkOrder' "
            f"AND a.entity_id = CAST(o.id AS VARCHAR(20)) AND a.action IN ('{action}', '{other}') "
            f"ORDER BY a.id DESC LIMIT 1) = '{action}'")


def _round(stamp):
    return (f"CASE WHEN o.reopened_at IS NOT NULL AND {stamp} >= o.reopened_at THEN o.redo_count + 1 "
            "WHEN o.redo_count > 1 THEN o.redo_count ELSE 1 END")


ASSIGNEE = ("COALESCE((SELECT u.name FROM member_unit AS u WHERE u.id = o.assignee_unit_id), "
            "(SELECT '志愿者 ' || v.name FROM volunteer AS v WHERE v.id = o.assignee_volunteer_id), "
            "o.assignee_worker)")


def backfill_statements(columns):
    """The INSERT … SELECT statements for a ``work_order`` table with ``columns``."""
    has = set(columns)
    # 接单 (党员接单) when the latest of 签收/接单 in the log is a take, or, without a log, an
    # order open to volunteers that a volunteer holds; a take stamps dispatched_at too
    taken = None
    if "taken_at" in has:
        fallback = ("(o.open_to_volunteers AND o.assignee_volunteer_id IS NOT NULL)"
                    if "open_to_volunteers" in has else "(1 = 0)")
        taken = (f"(COALESCE({_latest_is('take', 'accept')}, "
                 f"CASE WHEN {fallback} THEN 1 = 1 ELSE 1 = 0 END))")
    steps = [
        # kind, at, where, {column: expression}, audit actions
        ("create", "COALESCE(o.accepted_at, o.created_at)", "1 = 1", {}, ("create",)),
        ("dispatch", "o.dispatched_at", f"NOT {taken}" if taken else "1 = 1", {"assignee_label": ASSIGNEE},
         ("dispatch",)),
    ]
    if taken:
        steps += [
            ("take", "o.taken_at", taken, {"assignee_label": ASSIGNEE}, ("take",)),
            ("accept", "o.taken_at", f"NOT {taken}", {"assignee_label": ASSIGNEE}, ("accept",)),
        ]
    if "returned_at" in has:
        steps.append(("hand_back", "o.returned_at", "1 = 1", {"reason": "o.return_reason"}, ("hand_back",)))
    reported = f"COALESCE({_latest_is('report', 'resolve')}, 1 = 0)"
    steps += [
        ("report", "o.resolved_at", reported, {"result": "o.result"}, ("report",)),
        ("resolve", "o.resolved_at", f"NOT {reported}", {"result": "o.result"}, ("resolve",)),
        ("rate", "o.rated_at", "1 = 1", {"rating": "o.rating", "rating_note": "o.rating_note"}, ("rate",)),
        ("redo", "o.reopened_at", "1 = 1", {}, ("redo",)),
        ("revoke", "o.revoked_at", "1 = 1", {"reason": "o.revoke_reason"}, ("revoke",)),
    ]
    statements = []
    for kind, at, where, extra, actions in steps:
        round_ = "1" if kind == "create" else _round(at)
        columns_ = ["order_id", "round", "kind", "at", "actor_id", "actor_label", "by_resident", *extra]
        values = ["o.id", round_, f"'{kind}'", at, _audit(actions), f"'{STAFF}'", "1 = 0", *extra.values()]
        statements.append(
            f"INSERT INTO work_order_step ({', '.join(columns_)}) SELECT {', '.join(values)} "
            f"FROM work_order AS o WHERE {at} IS NOT NULL AND ({where})")
    return statements


def actor_label_statement(account_columns):
    """Name the accounts found in the log as the services do (the unit's name for a unit's
    account, 志愿者 X for a volunteer's, else the person's name)."""
    volunteer = ("WHEN acc.role = 'volunteer' THEN (SELECT '志愿者 ' || v.name FROM volunteer AS v "
                 "WHERE v.id = acc.volunteer_id) " if "volunteer_id" in set(account_columns) else "")
    return ("UPDATE work_order_step SET actor_label = COALESCE((SELECT CASE "
            "WHEN acc.role = 'unit' THEN (SELECT mu.name FROM member_unit AS mu WHERE mu.id = acc.unit_id) "
            f"{volunteer}ELSE COALESCE(acc.display_name, acc.username) END "
            f"FROM account AS acc WHERE acc.id = work_order_step.actor_id), '{STAFF}') "
            "WHERE actor_id IS NOT NULL")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class WorkOrderStep(pw.Model):
        id = pw.AutoField()
        order = pw.ForeignKeyField(column_name="order_id", field="id", model=migrator.orm["work_order"],
                                   on_delete="RESTRICT")
        round = pw.IntegerField(default=1)
        kind = pw.CharField(max_length=20)
        at = pw.DateTimeField()
        actor = pw.ForeignKeyField(column_name="actor_id", field="id", model=migrator.orm["account"], null=True,
                                   on_delete="SET NULL")
        actor_label = pw.CharField(max_length=100)
        assignee_label = pw.CharField(max_length=120, null=True)
        result = pw.TextField(null=True)
        rating = pw.CharField(max_length=20, null=True)
        rating_note = pw.TextField(null=True)
        reason = pw.TextField(null=True)
        by_resident = pw.BooleanField(default=False)

        class Meta:
            table_name = "work_order_step"
            legacy_table_names = False
            indexes = ((("kind", "round"), False),)

    if fake:
        return
    for statement in backfill_statements([c.name for c in database.get_columns("work_order")]):
        migrator.sql(statement)
    migrator.sql(actor_label_statement([c.name for c in database.get_columns("account")]))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("work_order_step")
