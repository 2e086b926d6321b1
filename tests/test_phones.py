"""Phone numbers: mainland mobiles in the usual written forms are accepted and stored as
11 digits; landlines only where an office or home line is legitimate; anything else is
refused in Chinese — on the public sign-up, in the admin forms, work orders and the API."""
import importlib.util

import pytest
from peewee_migrate import Migrator

from models import Grid, MemberUnit, Role, Signup, SignupStatus, Volunteer, VolunteerTeam, WorkOrder, db
from models.database import MIGRATIONS_DIR
from models.fields import MOBILE_MESSAGE, PHONE_MESSAGE, normalise_phone
from services import workorders
from services.errors import ServiceError

from . import factories as f
from .adminkit import details_rows, field_errors

MOBILE_FORMS = ["13904829999", "+86 139-0482-9999", "+86 13904829999", "0086 139 0482 9999",
                "8613904829999", "139 0482 9999", "139-0482-9999", "１３９０４８２９９９９",
                "＋８６　１３９－０４８２－９９９９", "(+86) 139.0482.9999", " 13904829999 "]
LANDLINES = {"0482-8234567": "0482-8234567", "(0482) 823 4567": "0482-8234567",
             "0482 8234567": "0482-8234567", "04828234567": "0482-8234567",
             "010-62345678": "010-62345678", "+86 10 6234 5678": "010-62345678",
             "021 6234 5678 转 801": "021-62345678转801", "0482-8234567 分机 12": "0482-8234567转12",
             "400-812-3456": "4008123456"}
NEVER = ["12345", "abc", "1390482999", "139048299990", "23904829999", "0482-823456", "0482-0234567",
         "+1 415 555 0100", "139 0482 999９ 1", "", "13904829999 转 8"]


@pytest.mark.parametrize("written", MOBILE_FORMS)
def test_the_usual_ways_of_writing_a_mobile(written):
    assert normalise_phone(written) == "13904829999"
    assert normalise_phone(written, landline=True) == "13904829999"


@pytest.mark.parametrize("written, stored", LANDLINES.items())
def test_landlines_where_they_are_allowed(written, stored):
    assert normalise_phone(written, landline=True) == stored
    assert normalise_phone(stored, landline=True) == stored  # an edit form sends it back unchanged
    with pytest.raises(ValueError, match="手机号"):
        normalise_phone(written)


@pytest.mark.parametrize("written", NEVER)
def test_anything_else_is_refused_in_chinese(written):
    with pytest.raises(ValueError) as mobile:
        normalise_phone(written)
    assert str(mobile.value) == MOBILE_MESSAGE
    with pytest.raises(ValueError) as either:
        normalise_phone(written, landline=True)
    assert str(either.value) == PHONE_MESSAGE


def test_each_phone_field_says_what_it_takes():
    mobile_only = {(m.__name__, f.name) for m in (Signup, Volunteer, VolunteerTeam) for f in m._meta.fields.values()
                   if f.name.endswith("phone")}
    assert mobile_only == {("Signup", "phone"), ("Volunteer", "phone"), ("VolunteerTeam", "leader_phone")}
    for model, name in (("Signup", "phone"), ("Volunteer", "phone"), ("VolunteerTeam", "leader_phone")):
        assert not {"Signup": Signup, "Volunteer": Volunteer, "VolunteerTeam": VolunteerTeam}[model]._meta.fields[
            name].landline
    for field in (Grid.worker_phone, MemberUnit.phone, WorkOrder.requester_phone):
        assert field.landline


# --- the public sign-up ----------------------------------------------------------------------------

def test_sign_up_accepts_the_written_form_and_stores_eleven_digits(client):
    event = f.make_event()
    volunteer = f.make_volunteer(phone="13904829999")
    response = client.post(f"/events/{event.id}/signup", data={"name": "张三", "phone": "+86 139-0482-9999"})
    assert response.status_code == 303
    signup = Signup.get()
    assert signup.phone == "13904829999" and signup.volunteer_id == volunteer.id
    # the same number written differently is the same person: a duplicate
    response = client.post(f"/events/{event.id}/signup", data={"name": "张三", "phone": "１３９ ０４８２ ９９９９"})
    assert response.status_code == 409 and "请勿重复报名" in response.get_data(as_text=True)
    # and the resident cancels with yet another spelling
    response = client.post(f"/events/{event.id}/cancel",
                           data={"cancel-phone": "0086 13904829999", "cancel-code": signup.code})
    assert response.status_code == 200
    assert Signup.get_by_id(signup.id).status == SignupStatus.CANCELLED


@pytest.mark.parametrize("phone", ["12345", "0482-8234567", "abc"])
def test_sign_up_refuses_what_is_no_mobile(client, phone):
    event = f.make_event()
    response = client.post(f"/events/{event.id}/signup", data={"name": "张三", "phone": phone})
    assert response.status_code == 400
    assert MOBILE_MESSAGE in response.get_data(as_text=True)
    assert Signup.select().count() == 0


def test_api_sign_up_normalises_and_masks(client):
    event = f.make_event()
    response = client.post(f"/api/v1/events/{event.id}/signups", json={"name": "李四", "phone": "0086 139-0482-9999"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["phone"] == "139****9999" and body["status"] == SignupStatus.REGISTERED
    assert Signup.get_by_id(body["id"]).phone == "13904829999"
    response = client.post(f"/api/v1/events/{event.id}/signups", json={"name": "李四", "phone": "12345"})
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": 400, "message": MOBILE_MESSAGE}}


# --- admin forms ------------------------------------------------------------------------------------

def test_admin_volunteer_phone_is_a_mobile_stored_normalised(client, auth):
    auth.as_role(Role.CLERK)
    response = client.post("/admin/volunteer/new/", data={"name": "王五", "phone": "+86 139 0482 9999",
                                                          "status": "active"})
    assert response.status_code == 302
    assert Volunteer.get().phone == "13904829999"
    for phone in ("0482-8234567", "12345"):
        response = client.post("/admin/volunteer/new/", data={"name": "赵六", "phone": phone, "status": "active"})
        assert field_errors(response.get_data(as_text=True))["phone"] == [MOBILE_MESSAGE], phone
    # unique after normalising: the same number typed another way is "already exists"
    response = client.post("/admin/volunteer/new/", data={"name": "赵六", "phone": "139-0482-9999",
                                                          "status": "active"})
    assert any("已存在" in m for m in field_errors(response.get_data(as_text=True))["phone"])
    assert Volunteer.select().count() == 1


def test_admin_unit_grid_and_team_phones(client, auth):
    auth.as_role(Role.CLERK)
    response = client.post("/admin/member_unit/new/", data={
        "name": "红浦物业", "kind": "merchant", "phone": "(0482) 823 4567 转 12", "status": "active"})
    assert response.status_code == 302 and MemberUnit.get().phone == "0482-8234567转12"
    response = client.post("/admin/grid/new/", data={
        "number": "3", "name": "第三网格", "worker_phone": "0482 8234567", "unit_leaders": "0", "households": "0"})
    assert response.status_code == 302 and Grid.get().worker_phone == "0482-8234567"
    response = client.post("/admin/volunteer_team/new/", data={"name": "银发服务队", "leader_phone": "0482-8234567"})
    assert field_errors(response.get_data(as_text=True))["leader_phone"] == [MOBILE_MESSAGE]
    response = client.post("/admin/volunteer_team/new/", data={"name": "银发服务队", "leader_phone": "139 0482 9999"})
    assert response.status_code == 302 and VolunteerTeam.get().leader_phone == "13904829999"
    response = client.post("/admin/member_unit/new/", data={"name": "另一家", "kind": "merchant", "phone": "12345",
                                                            "status": "active"})
    assert field_errors(response.get_data(as_text=True))["phone"] == [PHONE_MESSAGE]


def test_admin_sign_up_forms_go_through_the_same_rule(client, auth):
    auth.as_role(Role.CLERK)
    event = f.make_event()
    response = client.post("/admin/signup/new/", data={"event": event.id, "name": "居民", "phone": "+86 13904829999"})
    assert response.status_code == 302 and Signup.get().phone == "13904829999"
    signup = Signup.get()
    response = client.post(f"/admin/signup/edit/?id={signup.id}", data={"name": "居民", "phone": "12345"})
    assert MOBILE_MESSAGE in response.get_data(as_text=True)
    response = client.post(f"/admin/signup/edit/?id={signup.id}", data={"name": "居民", "phone": "138-0000-0001"})
    assert response.status_code == 302 and Signup.get_by_id(signup.id).phone == "13800000001"


def test_work_orders_take_a_home_line_or_a_mobile(client, auth):
    order = workorders.create_order(channel="hotline", requester_name="王阿姨", requester_phone="0482 8234567",
                                    category="other", description="楼道灯坏了")
    assert order.requester_phone == "0482-8234567"
    with pytest.raises(ServiceError) as refused:
        workorders.create_order(channel="hotline", requester_name="王阿姨", requester_phone="12345",
                                category="other", description="楼道灯坏了")
    assert refused.value.message == PHONE_MESSAGE and refused.value.field == "requester_phone"
    auth.as_role(Role.CLERK)
    response = client.post("/admin/work_order/new/", data={
        "channel": "hotline", "requester_name": "李大爷", "requester_phone": "+86 139 0482 9999",
        "category": "other", "description": "下水道堵了"})
    assert response.status_code == 302
    assert WorkOrder.select().order_by(WorkOrder.id.desc()).get().requester_phone == "13904829999"


def test_numbers_stored_in_other_forms_still_show(client, auth):
    """Rows written before (or by hand) keep showing; the edit form asks for a fix only on save."""
    auth.as_role(Role.CLERK)
    volunteer = f.make_volunteer(name="老数据", phone="139-0482-9999 ")
    Volunteer.update(phone="电话见备注").where(Volunteer.id == volunteer.id).execute()
    assert "电话见备注" in client.get("/admin/volunteer/").get_data(as_text=True)
    assert details_rows(client.get(f"/admin/volunteer/details/?id={volunteer.id}").get_data(as_text=True))[
        "手机号"] == "电话见备注"
    page = client.get(f"/admin/volunteer/edit/?id={volunteer.id}")
    assert page.status_code == 200 and "电话见备注" in page.get_data(as_text=True)
    response = client.post(f"/admin/volunteer/edit/?id={volunteer.id}", data={
        "name": "老数据", "phone": "电话见备注", "status": "active"})
    assert field_errors(response.get_data(as_text=True))["phone"] == [MOBILE_MESSAGE]


# --- migration 010 -----------------------------------------------------------------------------------

def _migration(name):
    path = next(MIGRATIONS_DIR.glob(f"{name}*.py"))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_010_normalises_stored_phones_and_leaves_the_rest(app):
    database = db.obj
    grid = f.make_grid(worker_phone="13900000001")
    unit = f.make_unit(phone="13900000002")
    first = f.make_volunteer(phone="13900000003")
    second = f.make_volunteer(phone="13900000004")
    event = f.make_event()
    a, b = f.make_signup(event=event, phone="13900000005"), f.make_signup(event=event, phone="13900000006")
    order = f.make_work_order(requester_phone=None)
    written = [("grid", grid.id, "worker_phone", "(0482) 823 4567"),
               ("member_unit", unit.id, "phone", "+86 139-0482-9999"),
               ("work_order", order.id, "requester_phone", "电话见备注"),
               ("volunteer", first.id, "phone", "139 0000 0009"),
               ("volunteer", second.id, "phone", "0086 13900000009"),      # the same number: a clash
               ("signup", a.id, "phone", "１３９ ００００ ００００"),
               ("signup", b.id, "phone", "12345")]
    for table, row_id, column, value in written:  # as rows from before: straight into the table
        database.execute_sql(f'UPDATE "{table}" SET "{column}" = {database.param} WHERE id = {database.param}',
                             (value, row_id))
    migrator = Migrator(database)
    _migration("010_").migrate(migrator, database)
    migrator()
    assert Grid.get_by_id(grid.id).worker_phone == "0482-8234567"
    assert MemberUnit.get_by_id(unit.id).phone == "13904829999"
    assert WorkOrder.get_by_id(order.id).requester_phone == "电话见备注"
    phones = {Volunteer.get_by_id(first.id).phone, Volunteer.get_by_id(second.id).phone}
    assert "13900000009" in phones  # one normalised; the other would clash and is kept as it was
    assert phones - {"13900000009"} <= {"139 0000 0009", "0086 13900000009"} and len(phones) == 2
    assert Signup.get_by_id(a.id).phone == "13900000000"
    assert Signup.get_by_id(b.id).phone == "12345"
