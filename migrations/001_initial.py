"""001 — the initial schema of every entity.

Frozen model copies (never the app's models), so this file reads the same forever.

"""

from decimal import ROUND_HALF_EVEN, Decimal

import peewee as pw
from peewee_migrate import Migrator



def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Grid(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        number = pw.IntegerField(unique=True)
        name = pw.CharField(max_length=50, unique=True)
        party_leader = pw.CharField(max_length=30, null=True)
        worker = pw.CharField(max_length=30, null=True)
        worker_phone = pw.CharField(max_length=20, null=True)
        unit_leaders = pw.IntegerField(default=0)
        households = pw.IntegerField(default=0)
        note = pw.TextField(null=True)

        class Meta:
            table_name = "grid"

    @migrator.create_model
    class MemberUnit(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        name = pw.CharField(max_length=100, unique=True)
        kind = pw.CharField(index=True, max_length=20)
        contact = pw.CharField(max_length=30, null=True)
        phone = pw.CharField(max_length=20, null=True)
        address = pw.CharField(max_length=200, null=True)
        grid = pw.ForeignKeyField(column_name='grid_id', field='id', model=migrator.orm['grid'], null=True, on_delete='RESTRICT')
        joined_on = pw.DateField(null=True)
        status = pw.CharField(default='active', index=True, max_length=20)
        intro = pw.TextField(null=True)

        class Meta:
            table_name = "member_unit"

    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        username = pw.CharField(max_length=50, unique=True)
        display_name = pw.CharField(max_length=50, null=True)
        password_hash = pw.CharField(max_length=255)
        role = pw.CharField(index=True, max_length=10)
        unit = pw.ForeignKeyField(column_name='unit_id', field='id', model=migrator.orm['member_unit'], null=True, on_delete='RESTRICT')
        active = pw.BooleanField(default=True)
        last_login_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "account"

    @migrator.create_model
    class ApiToken(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['account'], on_delete='RESTRICT')
        name = pw.CharField(max_length=50)
        digest = pw.CharField(max_length=64, unique=True)
        prefix = pw.CharField(max_length=12)
        revoked_at = pw.DateTimeField(null=True)
        last_used_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "api_token"

    @migrator.create_model
    class AuditLog(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['account'], null=True, on_delete='SET NULL')
        username = pw.CharField(max_length=50, null=True)
        action = pw.CharField(index=True, max_length=30)
        entity = pw.CharField(index=True, max_length=50)
        entity_id = pw.CharField(index=True, max_length=50, null=True)
        changes = pw.TextField(null=True)
        ip = pw.CharField(max_length=64, null=True)
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "audit_log"

    @migrator.create_model
    class Project(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        title = pw.CharField(max_length=200)
        line = pw.CharField(index=True, max_length=20)
        category = pw.CharField(index=True, max_length=50)
        description = pw.TextField(null=True)
        grid = pw.ForeignKeyField(column_name='grid_id', field='id', model=migrator.orm['grid'], null=True, on_delete='RESTRICT')
        needs = pw.TextField(null=True)
        slots = pw.IntegerField(default=1, constraints=[pw.Check('slots >= 1 AND slots <= 1000')])
        live_claims = pw.IntegerField(default=0, constraints=[pw.Check('live_claims >= 0')])
        deadline = pw.DateField(null=True)
        published = pw.BooleanField(default=False, index=True)
        status = pw.CharField(default='draft', index=True, max_length=20)
        progress = pw.IntegerField(default=0, constraints=[pw.Check('progress >= 0 AND progress <= 100')])

        class Meta:
            table_name = "project"
            constraints = [pw.SQL('CHECK (live_claims <= slots)')]

    @migrator.create_model
    class Claim(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        project = pw.ForeignKeyField(column_name='project_id', field='id', model=migrator.orm['project'], on_delete='RESTRICT')
        unit = pw.ForeignKeyField(column_name='unit_id', field='id', model=migrator.orm['member_unit'], on_delete='RESTRICT')
        plan = pw.TextField()
        status = pw.CharField(default='pending', index=True, max_length=20)
        reviewed_by = pw.ForeignKeyField(column_name='reviewed_by_id', field='id', model=migrator.orm['account'], null=True, on_delete='RESTRICT')
        reviewed_at = pw.DateTimeField(null=True)
        note = pw.TextField(null=True)

        class Meta:
            table_name = "claim"

    @migrator.create_model
    class Event(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        title = pw.CharField(max_length=200)
        category = pw.CharField(index=True, max_length=30)
        starts_at = pw.DateTimeField(index=True)
        ends_at = pw.DateTimeField()
        location = pw.CharField(max_length=200)
        organiser = pw.ForeignKeyField(column_name='organiser_id', field='id', model=migrator.orm['member_unit'], null=True, on_delete='RESTRICT')
        capacity = pw.IntegerField(default=0, constraints=[pw.Check('capacity >= 0 AND capacity <= 100000')])
        description = pw.TextField(null=True)
        published = pw.BooleanField(default=False, index=True)
        status = pw.CharField(default='scheduled', index=True, max_length=20)
        points = pw.IntegerField(default=0, constraints=[pw.Check('points >= 0 AND points <= 1000')])
        sequence = pw.IntegerField(default=0)

        class Meta:
            table_name = "event"
            constraints = [pw.SQL('CHECK (ends_at > starts_at)')]

    @migrator.create_model
    class LoginAttempt(pw.Model):
        id = pw.AutoField()
        username = pw.CharField(index=True, max_length=50)
        ip = pw.CharField(index=True, max_length=64)
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "login_attempt"

    @migrator.create_model
    class VolunteerTeam(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        name = pw.CharField(max_length=50, unique=True)
        leader = pw.CharField(max_length=30, null=True)
        leader_phone = pw.CharField(max_length=20, null=True)
        founded_on = pw.DateField(null=True)
        intro = pw.TextField(null=True)

        class Meta:
            table_name = "volunteer_team"

    @migrator.create_model
    class Volunteer(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        name = pw.CharField(max_length=30)
        phone = pw.CharField(max_length=20, unique=True)
        team = pw.ForeignKeyField(column_name='team_id', field='id', model=migrator.orm['volunteer_team'], null=True, on_delete='RESTRICT')
        grid = pw.ForeignKeyField(column_name='grid_id', field='id', model=migrator.orm['grid'], null=True, on_delete='RESTRICT')
        party_member = pw.BooleanField(default=False, index=True)
        skills = pw.CharField(max_length=200, null=True)
        joined_on = pw.DateField(null=True)
        status = pw.CharField(default='active', index=True, max_length=20)

        class Meta:
            table_name = "volunteer"

    @migrator.create_model
    class Signup(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        event = pw.ForeignKeyField(column_name='event_id', field='id', model=migrator.orm['event'], on_delete='RESTRICT')
        name = pw.CharField(max_length=30)
        phone = pw.CharField(max_length=20)
        volunteer = pw.ForeignKeyField(column_name='volunteer_id', field='id', model=migrator.orm['volunteer'], null=True, on_delete='RESTRICT')
        status = pw.CharField(default='registered', index=True, max_length=20)
        code = pw.CharField(max_length=20, unique=True)
        checked_in_at = pw.DateTimeField(null=True)
        hours = pw.DecimalField(auto_round=False, decimal_places=2, max_digits=6, null=True, rounding=ROUND_HALF_EVEN)
        hours_note = pw.CharField(max_length=200, null=True)
        credited = pw.BooleanField(default=False)

        class Meta:
            table_name = "signup"

    @migrator.create_model
    class PointsEntry(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        volunteer = pw.ForeignKeyField(column_name='volunteer_id', field='id', model=migrator.orm['volunteer'], on_delete='RESTRICT')
        kind = pw.CharField(index=True, max_length=20)
        points = pw.IntegerField(default=0)
        hours = pw.DecimalField(auto_round=False, decimal_places=2, default=Decimal('0'), max_digits=7, rounding=ROUND_HALF_EVEN)
        event = pw.ForeignKeyField(column_name='event_id', field='id', model=migrator.orm['event'], null=True, on_delete='RESTRICT')
        signup = pw.ForeignKeyField(column_name='signup_id', field='id', model=migrator.orm['signup'], null=True, on_delete='RESTRICT')
        corrects = pw.ForeignKeyField(column_name='corrects_id', field='id', model='self', null=True, on_delete='RESTRICT')
        organiser = pw.ForeignKeyField(column_name='organiser_id', field='id', model=migrator.orm['member_unit'], null=True, on_delete='RESTRICT')
        recorded_by = pw.ForeignKeyField(column_name='recorded_by_id', field='id', model=migrator.orm['account'], null=True, on_delete='RESTRICT')
        description = pw.CharField(max_length=200)
        note = pw.TextField(null=True)

        class Meta:
            table_name = "points_entry"

    @migrator.create_model
    class ProgressReport(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        claim = pw.ForeignKeyField(column_name='claim_id', field='id', model=migrator.orm['claim'], on_delete='RESTRICT')
        text = pw.TextField()
        percent = pw.IntegerField(default=0, constraints=[pw.Check('percent >= 0 AND percent <= 100')])
        reported_on = pw.DateField()

        class Meta:
            table_name = "progress_report"

    @migrator.create_model
    class WorkOrder(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        number = pw.CharField(max_length=20, unique=True)
        channel = pw.CharField(index=True, max_length=20)
        requester_name = pw.CharField(max_length=30)
        requester_phone = pw.CharField(max_length=20, null=True)
        grid = pw.ForeignKeyField(column_name='grid_id', field='id', model=migrator.orm['grid'], null=True, on_delete='RESTRICT')
        category = pw.CharField(index=True, max_length=20)
        description = pw.TextField()
        status = pw.CharField(default='accepted', index=True, max_length=20)
        assignee_unit = pw.ForeignKeyField(column_name='assignee_unit_id', field='id', model=migrator.orm['member_unit'], null=True, on_delete='RESTRICT')
        assignee_volunteer = pw.ForeignKeyField(column_name='assignee_volunteer_id', field='id', model=migrator.orm['volunteer'], null=True, on_delete='RESTRICT')
        assignee_worker = pw.CharField(max_length=30, null=True)
        due_at = pw.DateTimeField(index=True, null=True)
        result = pw.TextField(null=True)
        rating = pw.CharField(max_length=20, null=True)
        rating_note = pw.TextField(null=True)
        revoke_reason = pw.TextField(null=True)
        redo_count = pw.IntegerField(default=0)
        accepted_at = pw.DateTimeField(null=True)
        dispatched_at = pw.DateTimeField(null=True)
        resolved_at = pw.DateTimeField(null=True)
        rated_at = pw.DateTimeField(null=True)
        reopened_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "work_order"


    # Partial unique indexes: one live claim per unit per project, one live
    # sign-up per phone per event.
    migrator.sql(
        'CREATE UNIQUE INDEX IF NOT EXISTS "claim_project_id_unit_id" ON "claim" ("project_id", "unit_id") '
        "WHERE (\"status\" IN ('pending', 'confirmed'))"
    )
    migrator.sql(
        'CREATE UNIQUE INDEX IF NOT EXISTS "signup_event_id_phone" ON "signup" ("event_id", "phone") '
        "WHERE (\"status\" IN ('registered', 'waitlisted', 'checked_in'))"
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('work_order')

    migrator.remove_model('progress_report')

    migrator.remove_model('points_entry')

    migrator.remove_model('signup')

    migrator.remove_model('volunteer')

    migrator.remove_model('volunteer_team')

    migrator.remove_model('login_attempt')

    migrator.remove_model('event')

    migrator.remove_model('claim')

    migrator.remove_model('project')

    migrator.remove_model('audit_log')

    migrator.remove_model('api_token')

    migrator.remove_model('account')

    migrator.remove_model('member_unit')

    migrator.remove_model('grid')
