"""Claiming through the public site and reviewing in the admin, all via services.claims."""
import pytest

from models import AuditLog, Claim, ClaimStatus, ProgressReport, Project, ProjectStatus, Role
from services import claims
from services.errors import ServiceError

from . import factories as f
from .querycount import count_queries


def fresh(record):
    return type(record).get_by_id(record.id)


def unit_login(auth, **kw):
    user = auth.as_role(Role.UNIT, **kw)
    return user, user.unit


def claim_via_page(client, project, plan="组织党员志愿者每周两次入户走访"):
    return client.post(f"/projects/{project.id}/claim", data={"plan": plan})


def live_count(project):
    return Claim.select().where(Claim.project == project.id, Claim.status.in_(ClaimStatus.LIVE)).count()


# --- claiming ------------------------------------------------------------------------

def test_unit_claims_a_project_and_sees_it_in_my_claims(client, auth):
    user, unit = unit_login(auth)
    project = f.make_project(title="银发关爱助餐点", slots=2)

    response = claim_via_page(client, project)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/my/claims")

    claim = Claim.get(Claim.project == project.id)
    assert (claim.unit_id, claim.status) == (unit.id, ClaimStatus.PENDING)
    assert claim.plan == "组织党员志愿者每周两次入户走访"
    assert fresh(project).live_claims == 1 and fresh(project).status == ProjectStatus.OPEN
    assert AuditLog.select().where(AuditLog.action == "claim", AuditLog.entity_id == str(claim.id),
                                   AuditLog.user == user.id).exists()

    html = client.get("/my/claims").get_data(as_text=True)
    assert "银发关爱助餐点" in html and "待审核" in html and "撤回认领" in html


def test_last_slot_marks_project_claimed(client, auth):
    unit_login(auth)
    project = f.make_project(slots=1)
    assert claim_via_page(client, project).status_code == 303
    project = fresh(project)
    assert (project.live_claims, project.status) == (1, ProjectStatus.CLAIMED)


def test_plan_is_required(client, auth):
    unit_login(auth)
    project = f.make_project()
    response = claim_via_page(client, project, plan="   ")
    assert response.status_code == 400
    assert "请填写认领说明" in response.get_data(as_text=True)
    assert Claim.select().count() == 0 and fresh(project).live_claims == 0
    response = claim_via_page(client, project, plan="长" * 2001)
    assert response.status_code == 400 and "不能超过 2000 字" in response.get_data(as_text=True)
    assert Claim.select().count() == 0


def test_full_project_is_refused_with_409(client, auth):
    unit_login(auth)
    project = f.make_project(slots=1)
    other = f.make_claim(project=project)
    Project.update(status=ProjectStatus.CLAIMED).where(Project.id == project.id).execute()

    response = claim_via_page(client, project)
    assert response.status_code == 409
    assert "名额已满" in response.get_data(as_text=True)
    assert [c.id for c in Claim.select()] == [other.id]
    assert fresh(project).live_claims == 1


def test_refused_claim_costs_five_statements(client, auth):
    """The 63 losers of a claim storm (bench/storms.py): the session with the account and
    its unit, the project, the unit's own claim (read once, shown by the page), the
    confirmed claimants, the nav's counts. Nothing is written."""
    unit_login(auth)
    project = f.make_project(slots=1)
    f.make_claim(project=project, status=ClaimStatus.CONFIRMED)
    Project.update(status=ProjectStatus.CLAIMED, live_claims=1).where(Project.id == project.id).execute()
    claim_via_page(client, project)  # warm: the first request of a session may touch it
    with count_queries() as statements:
        response = claim_via_page(client, project)
    assert response.status_code == 409 and "名额已满" in response.get_data(as_text=True)
    assert len(statements) == 5, statements
    assert not [s for s in statements if not s.lstrip().upper().startswith("SELECT")]


@pytest.mark.parametrize("kwargs, status, message", [
    ({"status": ProjectStatus.CLOSED}, 409, "该项目当前状态为“已关闭”，不能认领"),
    ({"status": ProjectStatus.IN_PROGRESS}, 409, "不能认领"),
    ({"deadline": "2001-05-01"}, 409, "已过认领截止日期"),
    ({"published": False}, 404, "项目不存在或尚未发布"),
    ({"status": ProjectStatus.DRAFT}, 404, "项目不存在或尚未发布"),
])
def test_unclaimable_projects_change_nothing(client, auth, kwargs, status, message):
    unit_login(auth)
    project = f.make_project(**kwargs)
    response = claim_via_page(client, project)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert Claim.select().count() == 0
    assert fresh(project).live_claims == 0


def test_missing_project_is_404(client, auth):
    unit_login(auth)
    response = client.post("/projects/424242/claim", data={"plan": "计划"})
    assert response.status_code == 404
    assert "项目不存在或尚未发布" in response.get_data(as_text=True)
    assert Claim.select().count() == 0


def test_duplicate_live_claim_is_409(client, auth):
    unit_login(auth)
    project = f.make_project(slots=5)
    assert claim_via_page(client, project).status_code == 303
    response = claim_via_page(client, project)
    assert response.status_code == 409
    assert "请勿重复认领" in response.get_data(as_text=True)
    assert Claim.select().count() == 1 and fresh(project).live_claims == 1


def test_unit_holding_the_last_slot_is_told_it_has_claimed(client, auth):
    """A full project is refused before the write lock; the unit that holds the slot
    hears that it already has it, not that the project is full."""
    unit_login(auth)
    project = f.make_project(slots=1)
    assert claim_via_page(client, project).status_code == 303
    assert fresh(project).status == ProjectStatus.CLAIMED
    response = claim_via_page(client, project)
    assert response.status_code == 409
    assert "请勿重复认领" in response.get_data(as_text=True)
    assert Claim.select().count() == 1 and fresh(project).live_claims == 1


def test_claim_again_after_withdrawing(client, auth):
    _user, unit = unit_login(auth)
    project = f.make_project(slots=1)
    claim_via_page(client, project)
    claims.withdraw_claim(Claim.get().id, unit)
    assert claim_via_page(client, project).status_code == 303
    assert live_count(project) == 1 and fresh(project).live_claims == 1


def test_suspended_unit_cannot_claim(client, auth):
    unit = f.make_unit(status="suspended")
    auth.as_role(Role.UNIT, unit=unit)
    project = f.make_project()
    response = claim_via_page(client, project)
    assert response.status_code == 403 and "暂停" in response.get_data(as_text=True)
    assert Claim.select().count() == 0


# --- who may use the unit pages -----------------------------------------------------------

@pytest.mark.parametrize("url, method", [
    ("/my/claims", "get"), ("/my/claims/1", "get"), ("/my/claims/1/withdraw", "post"),
    ("/my/claims/1/progress", "post"), ("/projects/1/claim", "post")])
def test_anonymous_is_sent_to_login(client, url, method):
    f.make_claim()
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert ProgressReport.select().count() == 0 and Claim.get().status == ClaimStatus.PENDING


@pytest.mark.parametrize("role", [Role.CLERK, Role.ADMIN])
def test_staff_get_403_on_unit_pages(client, auth, role):
    claim = f.make_claim(status=ClaimStatus.CONFIRMED)
    auth.as_role(role)
    assert client.get("/my/claims").status_code == 403
    assert client.get(f"/my/claims/{claim.id}").status_code == 403
    assert client.post(f"/my/claims/{claim.id}/withdraw").status_code == 403
    assert client.post(f"/my/claims/{claim.id}/progress", data={"text": "x", "percent": 5}).status_code == 403
    assert claim_via_page(client, f.make_project()).status_code == 403
    assert fresh(claim).status == ClaimStatus.CONFIRMED and ProgressReport.select().count() == 0
    assert Claim.select().count() == 1


def test_unit_account_without_a_unit_gets_403(client, auth):
    user = auth.as_role(Role.UNIT)
    from models import User

    User.update(unit=None).where(User.id == user.id).execute()
    response = client.get("/my/claims")
    assert response.status_code == 403 and "尚未关联成员单位" in response.get_data(as_text=True)
    assert claim_via_page(client, f.make_project()).status_code == 403
    assert Claim.select().count() == 0


def test_units_never_see_each_others_claims(client, auth):
    project = f.make_project(slots=3)
    other_unit = f.make_unit(name="别的单位")
    theirs = f.make_claim(project=project, unit=other_unit, plan="别人的秘密计划", status=ClaimStatus.CONFIRMED)
    _user, unit = unit_login(auth)
    mine = claims.claim_project(project.id, unit, "我们的计划")

    listing = client.get("/my/claims").get_data(as_text=True)
    assert "别人的秘密计划" not in listing and f"/my/claims/{theirs.id}\"" not in listing
    assert f"/my/claims/{mine.id}" in listing

    # changing the id in the address: 404, nothing changes
    for response in (client.get(f"/my/claims/{theirs.id}"),
                     client.post(f"/my/claims/{theirs.id}/withdraw"),
                     client.post(f"/my/claims/{theirs.id}/progress", data={"text": "冒充", "percent": 50})):
        assert response.status_code == 404
        assert "别人的秘密计划" not in response.get_data(as_text=True)
    assert fresh(theirs).status == ClaimStatus.CONFIRMED
    assert ProgressReport.select().count() == 0
    assert client.get("/my/claims/999999").status_code == 404


# --- withdraw, confirm, reject ------------------------------------------------------------

def test_withdraw_frees_the_slot(client, auth):
    _user, unit = unit_login(auth)
    project = f.make_project(slots=1)
    claim_via_page(client, project)
    claim = Claim.get()
    assert fresh(project).status == ProjectStatus.CLAIMED

    response = client.post(f"/my/claims/{claim.id}/withdraw")
    assert response.status_code == 303
    assert fresh(claim).status == ClaimStatus.WITHDRAWN
    project = fresh(project)
    assert (project.live_claims, project.status) == (0, ProjectStatus.OPEN)
    assert "名额已释放" in client.get("/my/claims").get_data(as_text=True)

    again = client.post(f"/my/claims/{claim.id}/withdraw")
    assert again.status_code == 409 and "不能改为" in again.get_data(as_text=True)
    assert fresh(project).live_claims == 0


def test_withdraw_needs_csrf(csrf_app):
    client = csrf_app.test_client()
    user = f.make_user(role=Role.UNIT)
    claim = f.make_claim(unit=user.unit)
    login_page = client.get("/login").get_data(as_text=True)
    from .live import csrf_token

    assert client.post("/login", data={"username": user.username, "password": f.PASSWORD,
                                       "csrf_token": csrf_token(login_page)}).status_code == 302
    response = client.post(f"/my/claims/{claim.id}/withdraw")
    assert response.status_code == 400 and "安全令牌" in response.get_data(as_text=True)
    assert fresh(claim).status == ClaimStatus.PENDING
    page = client.get("/my/claims").get_data(as_text=True)
    response = client.post(f"/my/claims/{claim.id}/withdraw", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303 and fresh(claim).status == ClaimStatus.WITHDRAWN
    # the claim form carries its token too
    project = f.make_project()
    detail = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert client.post(f"/projects/{project.id}/claim", data={"plan": "计划"}).status_code == 400
    assert client.post(f"/projects/{project.id}/claim",
                       data={"plan": "计划", "csrf_token": csrf_token(detail)}).status_code == 303


def test_reject_frees_the_slot_and_confirm_keeps_it():
    clerk = f.make_user(role=Role.CLERK)
    project = f.make_project(slots=2)
    a, b = f.make_unit(), f.make_unit()
    first = claims.claim_project(project.id, a, "计划一")
    second = claims.claim_project(project.id, b, "计划二")
    assert fresh(project).status == ProjectStatus.CLAIMED

    confirmed = claims.confirm_claim(first.id, user=clerk)
    assert confirmed.status == ClaimStatus.CONFIRMED and confirmed.reviewed_by_id == clerk.id
    assert fresh(project).live_claims == 2

    with pytest.raises(ServiceError) as exc:
        claims.reject_claim(second.id, user=clerk, reason="  ")
    assert exc.value.message == "驳回时必须填写原因"
    assert fresh(second).status == ClaimStatus.PENDING

    rejected = claims.reject_claim(second.id, user=clerk, reason="与已有认领内容重复")
    assert (rejected.status, rejected.note) == (ClaimStatus.REJECTED, "与已有认领内容重复")
    project = fresh(project)
    assert (project.live_claims, project.status) == (1, ProjectStatus.OPEN)
    # a decided claim cannot be decided again
    with pytest.raises(ServiceError) as exc:
        claims.confirm_claim(second.id, user=clerk)
    assert exc.value.status == 409
    assert fresh(project).live_claims == 1


def test_rejected_unit_sees_the_reason(client, auth):
    clerk = f.make_user(role=Role.CLERK)
    _user, unit = unit_login(auth)
    claim = claims.claim_project(f.make_project().id, unit, "计划")
    claims.reject_claim(claim.id, user=clerk, reason="请补充人员安排")
    html = client.get("/my/claims").get_data(as_text=True)
    assert "已驳回" in html and "驳回原因：请补充人员安排" in html
    assert "撤回认领" not in html


# --- progress reports ---------------------------------------------------------------------

def test_progress_only_on_confirmed_claims_by_the_owner(client, auth):
    clerk = f.make_user(role=Role.CLERK)
    _user, unit = unit_login(auth)
    project = f.make_project(title="楼道微改造")
    claim = claims.claim_project(project.id, unit, "计划")

    page = client.get(f"/my/claims/{claim.id}").get_data(as_text=True)
    assert 'name="percent"' not in page and "确认后即可汇报进展" in page
    response = client.post(f"/my/claims/{claim.id}/progress", data={"text": "提前汇报", "percent": 10})
    assert response.status_code == 409 and "只有已确认的认领可以汇报进展" in response.get_data(as_text=True)
    assert ProgressReport.select().count() == 0

    claims.confirm_claim(claim.id, user=clerk)
    page = client.get(f"/my/claims/{claim.id}").get_data(as_text=True)
    assert 'name="percent"' in page

    for data, message in (({"text": "", "percent": 10}, "请填写进展内容"),
                          ({"text": "完成一半", "percent": 101}, "0 到 100"),
                          ({"text": "完成一半", "percent": "abc"}, "不是有效的整数")):
        response = client.post(f"/my/claims/{claim.id}/progress", data=data)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert ProgressReport.select().count() == 0

    response = client.post(f"/my/claims/{claim.id}/progress", data={"text": "已完成 6 栋楼道灯更换", "percent": 60})
    assert response.status_code == 303
    report = ProgressReport.get()
    assert (report.claim_id, report.percent, report.text) == (claim.id, 60, "已完成 6 栋楼道灯更换")
    assert AuditLog.select().where(AuditLog.action == "progress").exists()
    page = client.get(f"/my/claims/{claim.id}").get_data(as_text=True)
    assert "已完成 6 栋楼道灯更换" in page and "60%" in page
    assert "最近进度 60%" in client.get("/my/claims").get_data(as_text=True)

    # another unit cannot report on it, even through the service
    with pytest.raises(ServiceError) as exc:
        claims.report_progress(claim.id, f.make_unit(), "冒充", 90)
    assert exc.value.status == 404
    assert ProgressReport.select().count() == 1


# --- the admin: review queue, bulk and per-row review, safe forms ----------------------------

def _pending_pair(slots=2):
    project = f.make_project(title="社区议事厅", slots=slots)
    a = claims.claim_project(project.id, f.make_unit(name="甲单位"), "甲的计划")
    b = claims.claim_project(project.id, f.make_unit(name="乙单位"), "乙的计划")
    return project, a, b


def test_admin_bulk_confirm(client, auth):
    project, a, b = _pending_pair()
    clerk = auth.as_role(Role.CLERK)
    response = client.post("/admin/claim/action/", data={"action": "confirm", "rowid": [str(a.id), str(b.id)]})
    assert response.status_code == 302
    for claim in (fresh(a), fresh(b)):
        assert (claim.status, claim.reviewed_by_id) == (ClaimStatus.CONFIRMED, clerk.id)
        assert claim.reviewed_at is not None
    project = fresh(project)
    assert (project.live_claims, project.status) == (2, ProjectStatus.CLAIMED)
    assert AuditLog.select().where(AuditLog.action == ClaimStatus.CONFIRMED).count() == 2
    # confirming again changes nothing and says why
    client.post("/admin/claim/action/", data={"action": "confirm", "rowid": [str(a.id)]})
    html = client.get("/admin/claim/").get_data(as_text=True)
    assert "未确认" in html and "不能改为" in html


def test_admin_bulk_reject_requires_a_reason(client, auth):
    project, a, b = _pending_pair()
    auth.as_role(Role.CLERK)
    response = client.post("/admin/claim/action/", data={"action": "reject", "rowid": [str(a.id), str(b.id)]})
    assert response.status_code == 302
    review_url = response.headers["Location"]
    assert "/admin/claim/review/" in review_url

    page = client.get(review_url).get_data(as_text=True)
    assert "甲的计划" in page and "乙的计划" in page and "驳回认领" in page

    ids = f"{a.id},{b.id}"
    response = client.post("/admin/claim/review/", data={"ids": ids, "decision": "reject", "note": "  "})
    assert response.status_code == 400
    assert "驳回时必须填写原因" in response.get_data(as_text=True)
    assert fresh(a).status == fresh(b).status == ClaimStatus.PENDING

    response = client.post("/admin/claim/review/", data={"ids": ids, "decision": "reject", "note": "超出项目范围"})
    assert response.status_code == 303
    assert [fresh(c).status for c in (a, b)] == [ClaimStatus.REJECTED] * 2
    assert fresh(a).note == "超出项目范围"
    project = fresh(project)
    assert (project.live_claims, project.status) == (0, ProjectStatus.OPEN)


def test_admin_per_row_review(client, auth):
    project, a, b = _pending_pair(slots=3)
    auth.as_role(Role.CLERK)
    queue = client.get("/admin/pending_claim/").get_data(as_text=True)
    assert "待审核认领" in queue
    assert f"/admin/pending_claim/review/?ids={a.id}" in queue

    response = client.post("/admin/pending_claim/review/",
                           data={"ids": str(a.id), "decision": "confirm", "note": "欢迎参与"})
    assert response.status_code == 303
    assert (fresh(a).status, fresh(a).note) == (ClaimStatus.CONFIRMED, "欢迎参与")
    assert fresh(b).status == ClaimStatus.PENDING and fresh(project).live_claims == 2

    queue = client.get("/admin/pending_claim/").get_data(as_text=True)
    assert "乙单位" in queue and "甲单位" not in queue  # the queue holds pending claims only
    assert client.post("/admin/claim/review/", data={"ids": "abc", "decision": "confirm"}).status_code == 404
    assert client.get("/admin/claim/review/?ids=999999").status_code == 404


def test_admin_claim_edit_changes_the_note_only(client, auth):
    project, a, _b = _pending_pair(slots=3)
    elsewhere = f.make_project()
    auth.as_role(Role.CLERK)
    edit = client.get(f"/admin/claim/edit/?id={a.id}").get_data(as_text=True)
    assert 'name="note"' in edit and 'name="status"' not in edit and 'name="project"' not in edit

    response = client.post(f"/admin/claim/edit/?id={a.id}", data={
        "note": "已电话核实", "status": ClaimStatus.CONFIRMED, "project": str(elsewhere.id),
        "unit": str(f.make_unit().id), "plan": "篡改"})
    assert response.status_code == 302
    claim = fresh(a)
    assert claim.note == "已电话核实"
    assert (claim.status, claim.project_id, claim.plan) == (ClaimStatus.PENDING, project.id, "甲的计划")
    assert fresh(project).live_claims == 2 and fresh(elsewhere).live_claims == 0


def test_admin_cannot_delete_claims(client, auth):
    _project, a, _b = _pending_pair()
    auth.as_role(Role.ADMIN)
    client.post("/admin/claim/delete/", data={"id": str(a.id)})
    client.post("/admin/claim/action/", data={"action": "delete", "rowid": [str(a.id)]})
    assert Claim.select().count() == 2


def test_admin_create_claim_goes_through_the_service(client, auth):
    project = f.make_project(slots=1)
    unit, late = f.make_unit(), f.make_unit()
    auth.as_role(Role.CLERK)
    response = client.post("/admin/claim/new/", data={"project": str(project.id), "unit": str(unit.id),
                                                       "plan": "现场认领"})
    assert response.status_code == 302
    claim = Claim.get()
    assert (claim.unit_id, claim.status) == (unit.id, ClaimStatus.PENDING)
    assert (fresh(project).live_claims, fresh(project).status) == (1, ProjectStatus.CLAIMED)

    response = client.post("/admin/claim/new/", data={"project": str(project.id), "unit": str(late.id),
                                                       "plan": "也想认领"}, follow_redirects=True)
    assert "名额已满" in response.get_data(as_text=True)
    assert Claim.select().count() == 1 and fresh(project).live_claims == 1


def _project_form(project, **changes):
    data = {"title": project.title, "line": project.line, "category": project.category,
            "slots": str(project.slots), "status": project.status, "progress": str(project.progress),
            "published": "y"}
    data.update(changes)
    return data


def test_admin_project_slots_cannot_go_below_live_claims(client, auth):
    project, _a, _b = _pending_pair(slots=3)
    auth.as_role(Role.CLERK)
    response = client.post(f"/admin/project/edit/?id={project.id}", data=_project_form(project, slots="1"))
    assert response.status_code == 200
    assert "认领名额不能少于 2" in response.get_data(as_text=True)
    assert fresh(project).slots == 3

    # down to the live claims: allowed, the project becomes 已认领; up again: 待认领
    response = client.post(f"/admin/project/edit/?id={project.id}", data=_project_form(project, slots="2"))
    assert response.status_code == 302
    project = fresh(project)
    assert (project.slots, project.live_claims, project.status) == (2, 2, ProjectStatus.CLAIMED)
    response = client.post(f"/admin/project/edit/?id={project.id}", data=_project_form(project, slots="4"))
    assert response.status_code == 302
    project = fresh(project)
    assert (project.slots, project.live_claims, project.status) == (4, 2, ProjectStatus.OPEN)


def test_admin_project_save_keeps_claims_made_meanwhile(client, auth, monkeypatch):
    """A claim committed between loading the edit form's object and saving it survives."""
    from admin.claims import ProjectSlotsMixin

    project = f.make_project(slots=5)
    auth.as_role(Role.CLERK)
    original = ProjectSlotsMixin.on_model_change

    def claim_meanwhile(self, form, model, is_created):
        claims.claim_project(project.id, f.make_unit(), "同时提交的认领")
        return original(self, form, model, is_created)

    monkeypatch.setattr(ProjectSlotsMixin, "on_model_change", claim_meanwhile)
    response = client.post(f"/admin/project/edit/?id={project.id}",
                           data=_project_form(project, title="改名后的项目"))
    assert response.status_code == 302
    project = fresh(project)
    assert (project.title, project.live_claims) == ("改名后的项目", 1)


def test_admin_progress_only_on_confirmed_claims(client, auth):
    _project, a, b = _pending_pair()
    clerk = auth.as_role(Role.CLERK)
    claims.confirm_claim(b.id, user=clerk)
    response = client.post("/admin/progress_report/new/", data={
        "claim": str(a.id), "text": "替单位登记", "percent": "20", "reported_on": "2026-01-05"})
    assert response.status_code == 200
    assert "只有已确认的认领可以汇报进展" in response.get_data(as_text=True)
    assert ProgressReport.select().count() == 0
    response = client.post("/admin/progress_report/new/", data={
        "claim": str(b.id), "text": "替单位登记", "percent": "20", "reported_on": "2026-01-05"})
    assert response.status_code == 302
    assert ProgressReport.get().claim_id == b.id


@pytest.mark.parametrize("role", [Role.UNIT])
def test_units_cannot_review(client, auth, role):
    _project, a, _b = _pending_pair()
    auth.as_role(role)
    assert client.post("/admin/claim/action/", data={"action": "confirm", "rowid": [str(a.id)]}).status_code == 403
    assert client.post("/admin/claim/review/", data={"ids": str(a.id), "decision": "confirm"}).status_code == 403
    assert fresh(a).status == ClaimStatus.PENDING


def test_project_progress_follows_the_units_reports(client, auth):
    project, a, b = _pending_pair()
    clerk = auth.as_role(Role.CLERK)
    for claim in (a, b):
        claims.confirm_claim(claim.id, user=clerk)
    assert fresh(project).progress == 0

    claims.report_progress(a.id, a.unit, "甲：完成 6 栋楼道灯更换", 60)
    assert fresh(project).progress == 30  # 甲 60, 乙 not reported yet
    claims.report_progress(b.id, b.unit, "乙：议事厅选址确定", 40)
    assert fresh(project).progress == 50
    claims.report_progress(a.id, a.unit, "甲：全部完成", 100)
    assert fresh(project).progress == 70  # the latest report of each claim counts

    # a clerk records on a unit's behalf through the admin: same rule, same roll-up
    response = client.post("/admin/progress_report/new/", data={
        "claim": str(b.id), "text": "乙：工作人员代为登记", "percent": "80", "reported_on": ""})
    assert response.status_code == 302
    assert fresh(project).progress == 90
    assert AuditLog.select().where(AuditLog.action == "progress").count() == 4

    # reports are never deleted; a withdrawn claim stops counting
    report = ProgressReport.select().order_by(ProgressReport.id.desc()).first()
    client.post("/admin/progress_report/delete/", data={"id": str(report.id)})
    assert ProgressReport.select().count() == 4
    claims.withdraw_claim(a.id, a.unit, reason="人员调整，无法继续实施")  # confirmed: a reason is required
    assert fresh(project).progress == 80
