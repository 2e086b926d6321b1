"""Projects move only through their table: 草稿 → 待认领 ⇄ 已认领 → 实施中 → 已完成, or
已关闭 — by the buttons of the admin's move page, never by the edit form."""
import datetime as dt
import json

import pytest

from models import AuditLog, Claim, ClaimStatus, ProgressReport, Project, ProjectStatus, Role, now
from services import claims, projects
from services.errors import Forbidden, ServiceError

from . import factories as f
from .records_helpers import alert, text

pytestmark = pytest.mark.dates  # windows, deadlines, this year's figures: make test-dates


def fresh(record):
    return type(record).get_by_id(record.id)


def move(client, project, action, **data):
    return client.post(f"/admin/project/move/{project.id}", data={"action": action, **data})


def edit_form(project, **changes):
    data = {"title": project.title, "line": project.line, "category": project.category,
            "slots": str(project.slots), "published": "y"}
    data.update(changes)
    return data


def test_the_edit_form_cannot_set_status_or_progress(client, auth):
    """Before: a clerk could mark an unclaimed project 已完成 / 100 %."""
    auth.as_role(Role.CLERK)
    project = f.make_project(title="无人认领的项目", slots=2)
    form = text(client.get(f"/admin/project/edit/?id={project.id}"))
    assert 'name="status"' not in form and 'name="progress"' not in form and 'name="live_claims"' not in form
    assert 'name="completed_at"' not in form and 'name="closed_at"' not in form
    response = client.post(f"/admin/project/edit/?id={project.id}",
                           data=edit_form(project, status="done", progress="100", closed_at="2020-01-01 00:00:00"))
    assert response.status_code == 302
    project = fresh(project)
    assert (project.status, project.progress, project.closed_at) == (ProjectStatus.OPEN, 0, None)
    # the edit page offers the moves the machine allows now, not 标记完成
    page = text(client.get(f"/admin/project/edit/?id={project.id}"))
    assert 'data-move="close"' in page and 'data-move="to_draft"' in page
    assert 'data-move="complete"' not in page and 'data-move="fill"' not in page
    # and the move itself is refused, in Chinese, with nothing changed
    response = move(client, project, "complete")
    assert response.status_code == 409
    assert alert(response) == "治理项目当前为“待认领”，不能标记完成"
    assert fresh(project).status == ProjectStatus.OPEN and fresh(project).progress == 0


def test_a_new_project_is_a_draft_until_published(client, auth):
    f.make_category(name="老旧小区改造")  # a category is chosen from the list clerks keep
    auth.as_role(Role.CLERK)
    response = client.post("/admin/project/new/", data={"title": "楼道微改造", "line": "property",
                                                        "category": "老旧小区改造", "slots": "1",
                                                        "status": "done", "progress": "100"})
    assert response.status_code == 302
    project = Project.get(Project.title == "楼道微改造")
    assert (project.status, project.progress, project.published) == (ProjectStatus.DRAFT, 0, False)
    page = client.get(f"/admin/project/move/{project.id}?action=publish")
    assert page.status_code == 200 and "发布并开放认领" in text(page)
    response = move(client, project, "publish", **{"from": "draft"})
    assert response.status_code == 303
    project = fresh(project)
    assert (project.status, project.published) == (ProjectStatus.OPEN, True) and project.opened_at
    assert client.get(f"/projects/{project.id}").status_code == 200


def test_the_whole_life_of_a_project(client, auth):
    clerk = auth.as_role(Role.CLERK)
    project = f.make_project(title="银发助餐点", slots=1)
    unit = f.make_unit(name="和平街司法所")
    claim = claims.claim_project(project.id, unit, "每周两次送餐")
    assert fresh(project).status == ProjectStatus.CLAIMED  # the slots filled it: a SYSTEM move
    assert AuditLog.select().where(AuditLog.action == "fill", AuditLog.entity == "Project").count() == 1

    response = move(client, project, "start")
    assert response.status_code == 409 and alert(response) == (
        "治理项目当前为“已认领”，不能开始实施：尚有 1 条认领待审核，请先审核")
    claims.confirm_claim(claim.id, user=clerk)
    assert move(client, project, "start").status_code == 303
    assert fresh(project).status == ProjectStatus.IN_PROGRESS and fresh(project).started_at
    claims.report_progress(claim.id, unit, "已送餐 20 次", 40)
    assert fresh(project).progress == 40

    assert move(client, project, "complete").status_code == 303
    project = fresh(project)
    assert (project.status, project.progress) == (ProjectStatus.DONE, 100) and project.completed_at
    # a finished project's figure is frozen: no more reports, no withdrawal
    with pytest.raises(ServiceError) as err:
        claims.report_progress(claim.id, unit, "又送了一次", 10)
    assert err.value.status == 409 and "已完成" in err.value.message
    with pytest.raises(ServiceError) as err:
        claims.withdraw_claim(claim.id, unit, reason="想撤回")
    assert err.value.status == 409 and "项目已完成" in err.value.message
    assert fresh(project).progress == 100 and ProgressReport.select().count() == 1
    for action in ("close", "start", "reopen"):
        response = move(client, project, action, reason="x")
        assert response.status_code == 409 and alert(response).startswith("治理项目已关闭（已完成），不能"), action


def test_closing_rejects_pending_claims_and_releases_their_slots(client, auth):
    """Before: a clerk could close a project while claims held its slots."""
    clerk = auth.as_role(Role.CLERK)
    project = f.make_project(title="议事厅", slots=3)
    kept_unit, pending_unit = f.make_unit(name="甲单位"), f.make_unit(name="乙单位")
    kept = claims.claim_project(project.id, kept_unit, "甲的计划")
    pending = claims.claim_project(project.id, pending_unit, "乙的计划")
    claims.confirm_claim(kept.id, user=clerk)

    response = move(client, project, "close", reason="  ")
    assert response.status_code == 400 and alert(response) == "请填写关闭原因"
    assert fresh(project).status == ProjectStatus.OPEN and fresh(pending).status == ClaimStatus.PENDING
    page = client.get(f"/admin/project/move/{project.id}?action=close")
    assert "待审核的认领将被驳回" in text(page) and 'name="reason"' in text(page)

    response = move(client, project, "close", reason="街道统筹调整，项目取消", **{"from": "open"})
    assert response.status_code == 303
    project = fresh(project)
    assert (project.status, project.close_reason) == (ProjectStatus.CLOSED, "街道统筹调整，项目取消")
    rejected = fresh(pending)
    assert (rejected.status, rejected.note) == (ClaimStatus.REJECTED, "项目已关闭：街道统筹调整，项目取消")
    assert rejected.reviewed_by_id == clerk.id
    assert fresh(kept).status == ClaimStatus.CONFIRMED  # the record of who took part
    live = Claim.select().where(Claim.project == project.id, Claim.status.in_(ClaimStatus.LIVE)).count()
    assert project.live_claims == live == 1
    row = AuditLog.get(AuditLog.entity == "Claim", AuditLog.entity_id == str(pending.id),
                       AuditLog.action == ClaimStatus.REJECTED)
    assert json.loads(row.changes)["project_closed"] is True and row.user_id == clerk.id
    # the rejected unit sees why; nobody can claim a closed project
    auth.logout()
    auth.login(f.make_user(role=Role.UNIT, unit=pending_unit).username)
    assert "项目已关闭：街道统筹调整，项目取消" in text(client.get("/my/claims"))
    with pytest.raises(ServiceError):
        claims.claim_project(project.id, f.make_unit(), "还想认领")


def test_back_to_draft_only_while_no_claim_holds_a_slot(client, auth):
    """Before: a clerk could send a project back to 草稿 while claims held its slots."""
    auth.as_role(Role.CLERK)
    project = f.make_project(slots=2)
    unit = f.make_unit()
    claim = claims.claim_project(project.id, unit, "计划")
    response = move(client, project, "to_draft")
    assert response.status_code == 409 and "仍有 1 个单位的认领占用名额" in alert(response)
    assert fresh(project).status == ProjectStatus.OPEN
    claims.withdraw_claim(claim.id, unit)
    assert move(client, project, "to_draft").status_code == 303
    assert fresh(project).status == ProjectStatus.DRAFT


def test_reopen_after_a_confirmed_unit_withdrew(client, auth):
    clerk = auth.as_role(Role.CLERK)
    project = f.make_project(slots=1)
    unit = f.make_unit()
    claim = claims.claim_project(project.id, unit, "计划")
    claims.confirm_claim(claim.id, user=clerk)
    projects.move(project.id, "start", user=clerk)
    response = move(client, project, "reopen")
    assert response.status_code == 409 and "没有空出的名额" in alert(response)
    claims.withdraw_claim(claim.id, unit, reason="人手不足")
    assert fresh(project).status == ProjectStatus.IN_PROGRESS  # the clerk decides what next
    assert move(client, project, "reopen").status_code == 303
    assert fresh(project).status == ProjectStatus.OPEN
    assert claims.claim_project(project.id, f.make_unit(), "我们接手").status == ClaimStatus.PENDING


def test_someone_elses_move_meanwhile_is_a_conflict(client, auth):
    clerk = auth.as_role(Role.CLERK)
    project = f.make_project(slots=2)
    projects.move(project.id, "close", user=clerk, reason="另一位工作人员已关闭")
    response = move(client, project, "to_draft", **{"from": "open"})
    assert response.status_code == 409 and alert(response) == "该治理项目刚被他人处理，请刷新后重试"
    assert fresh(project).status == ProjectStatus.CLOSED


def test_a_form_save_never_writes_back_a_status_moved_meanwhile(client, auth, monkeypatch):
    from admin.claims import ProjectSlotsMixin

    clerk = auth.as_role(Role.CLERK)
    project = f.make_project(slots=2)

    def closed_meanwhile(self, form, model, is_created):
        projects.move(project.id, "close", user=clerk, reason="同时关闭")

    monkeypatch.setattr(ProjectSlotsMixin, "on_model_change", closed_meanwhile)
    response = client.post(f"/admin/project/edit/?id={project.id}", data=edit_form(project, title="改名"))
    assert response.status_code == 302
    project = fresh(project)
    assert (project.title, project.status) == ("改名", ProjectStatus.CLOSED)


def test_wrong_users_get_nothing(client, auth):
    project = f.make_project(slots=2)
    response = move(client, project, "close", reason="匿名")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get(f"/admin/project/move/{project.id}").status_code == 302
    unit_user = auth.as_role(Role.UNIT)
    assert move(client, project, "close", reason="单位").status_code == 403
    with pytest.raises(Forbidden):
        projects.move(project.id, "close", user=unit_user, reason="绕过页面")
    assert fresh(project).status == ProjectStatus.OPEN
    auth.logout()
    auth.as_role(Role.CLERK)
    assert client.get("/admin/project/move/999999").status_code == 404
    response = move(client, project, "fly")
    assert response.status_code == 400 and alert(response) == "不支持的治理项目操作"
    response = move(client, project, "fill")
    assert response.status_code == 403 and "由系统自动完成" in alert(response)


def test_publishing_needs_a_deadline_ahead(client, auth):
    auth.as_role(Role.CLERK)
    project = f.make_project(status=ProjectStatus.DRAFT, published=False,
                             deadline=now().date() - dt.timedelta(days=400))
    page = text(client.get(f"/admin/project/move/{project.id}"))
    assert 'data-held="publish"' in page and "认领截止日期已过" in page
    response = move(client, project, "publish")
    assert response.status_code == 409 and "认领截止日期已过" in alert(response)
    assert fresh(project).status == ProjectStatus.DRAFT
