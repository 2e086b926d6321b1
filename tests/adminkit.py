"""Helpers shared by the admin tests: a populated alliance, what a page shows."""
import functools
import re
from html import unescape

from admin.views import REGISTRY
from werkzeug.security import generate_password_hash

from models import Role, User
from services import audit

from . import factories as f

# Flask-Admin's English UI words; none may reach the visible page.
ENGLISH_UI = ("List", "Create", "Save", "Delete", "Filter", "Search", "Edit", "Export", "Cancel",
              "Actions", "items", "item", "Home", "Add", "Apply", "Details", "Record", "Failed",
              "selected", "Are you sure", "Select", "Please", "equals", "contains", "Yes", "No")
_TAGS = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_SHOWN_ATTRS = re.compile(r'\b(?:title|placeholder|data-placeholder|alt)="([^"]*)"'
                          r'|<(?:input|button)\b[^>]*\btype="(?:submit|button|reset)"[^>]*\bvalue="([^"]*)"',
                          re.I)


def field_errors(html):
    """{field name: [messages]} shown next to the fields of an admin form."""
    out = {}
    for group in re.split(r'<div class="form-group', html)[1:]:
        name = re.search(r'\bfor="([^"]+)"', group)
        feedback = re.search(r'class="invalid-feedback">(.*?)</div>', group, re.S)
        if name and feedback:
            out[name.group(1)] = [unescape(m).strip() for m in re.findall(r"<li>(.*?)</li>", feedback.group(1), re.S)]
    return out


def flashes(html):
    return [" ".join(_TAGS.sub(" ", unescape(m)).replace("×", "").split())
            for m in re.findall(r'<div class="alert[^"]*">(.*?)</div>', html, re.S)]


def csrf_token(html):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def visible_text(html):
    """The text a reader sees: tag contents plus titles, placeholders and button labels."""
    body = _HIDDEN.sub(" ", html)
    shown = [a or b for a, b in _SHOWN_ATTRS.findall(body)]
    return unescape(" ".join([_TAGS.sub(" ", body)] + shown))


def english_ui_words(html):
    text = visible_text(html)
    return sorted({w for w in ENGLISH_UI if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text)})


def details_rows(html):
    """{label: shown value} of a details page's table."""
    cells = [" ".join(_TAGS.sub(" ", unescape(c)).split())
             for c in re.findall(r"<td>(.*?)</td>", _HIDDEN.sub(" ", html), re.S)]
    return dict(zip(cells[0::2], cells[1::2]))


def role_for(view_class):
    """Admins manage accounts and tokens; clerks everything else (the audit log they read)."""
    return Role.ADMIN if view_class.permission == "accounts.manage" else Role.CLERK


def view_for(model):
    return next(v for m, v, _ in REGISTRY if m is model)


def populate(copies=2):
    """``copies`` linked records of every entity; returns {table_name: [records]}."""
    out = {}

    def keep(record):
        out.setdefault(record._meta.table_name, []).append(record)
        return record

    for i in range(copies):
        grid = keep(f.make_grid(party_leader="李书记", worker="王网格员", worker_phone=f"1390000000{i}"))
        unit = keep(f.make_unit(grid=grid, contact="张主任", phone=f"1370000000{i}"))
        project = keep(f.make_project(grid=grid))
        claim = keep(f.make_claim(project=project, unit=unit))
        keep(f.make_progress_report(claim=claim))
        event = keep(f.make_event(organiser=unit))
        team = keep(f.make_team(leader="赵队长"))
        volunteer = keep(f.make_volunteer(team=team, grid=grid))
        signup = keep(f.make_signup(event=event, volunteer=volunteer))
        keep(f.make_points_entry(volunteer=volunteer, event=event, signup=signup, organiser=unit))
        # an order has one assignee (a CHECK): the first copy a unit's, the second a volunteer's
        keep(f.make_work_order(grid=grid, **({"assignee_unit": unit} if i % 2 == 0 else
                                             {"assignee_volunteer": volunteer})))
        user = keep(User.create(username=f"unit_user{f._n()}", role=Role.UNIT, unit=unit,
                                display_name="单位联络员", password_hash=_fast_hash()))
        keep(f.make_api_token(user=user))
        keep(f.make_login_session(user=user, ip=f"10.0.0.{i + 1}"))
        keep(f.make_login_attempt(username=user.username, ip=f"10.0.0.{i + 1}"))
        keep(audit.record("create", unit, changes={"name": unit.name}, user=user))
        keep(f.make_application(grid=grid, team=team, skills="理发"))
        notice = keep(f.make_notice(recipient=user))
        keep(f.make_delivery(notice=notice, address=f"1390000001{i}"))
        keep(f.make_activation(user=user, created_by=user))
        keep(f.make_category(note="第一行\n第二行"))
        keep(f.make_import_job(created_by=user))
        keep(f.make_wish(grid=grid, claimer=unit, created_by=user))
        keep(f.make_work_order_step(order=out["work_order"][-1], actor=user, actor_label="单位联络员"))
        keep(f.make_need(grid=grid, text="第一行\n第二行<b>", work_order=out["work_order"][-1] if i == 0 else None))
    return out


@functools.cache
def _fast_hash():
    return generate_password_hash(f.PASSWORD, method="pbkdf2:sha256:1000")


def related_name(record, path):
    """What the admin should show for the foreign-key path ``path`` of ``record``."""
    value = record
    for part in path.split("."):
        value = getattr(value, part) if value is not None else None
    if value is None:
        return None
    for attr in ("name", "title", "username", "number"):
        if attr in value._meta.fields:
            return str(getattr(value, attr))
    return str(value)
