"""A unit withdrawing a claim: one tap while it is pending; a confirmation and a reason
once it is confirmed, and then the clerks' 撤回待知悉 queue — on the page and the API."""
import json
import re

import pytest

from models import AuditLog, Claim, ClaimStatus, Notice, Project, ProjectStatus, Role, User
from services import claims, tokens

from . import factories as f
from .records_helpers import text


def fresh(record):
    return type(record).get_by_id(record.id)


@pytest.fixture
def confirmed(app):
    """A unit account and its confirmed claim on a one-slot project."""
    clerk = f.make_user(role=Role.CLERK)
    user = f.make_user(role=Role.UNIT)
    project = f.make_project(title="银发助餐点", slots=1)
    claim = claims.claim_project(project.id, user.unit, "每周两次送餐")
    claims.confirm_claim(claim.id, user=clerk)
    return user, claim


def test_a_pending_claim_is_withdrawn_with_one_tap(client, auth):
    f.make_user(role=Role.CLERK)
    user = auth.as_role(Role.UNIT)
    claim = claims.claim_project(f.make_project(slots=1).id, user.unit, "计划")
    page = text(client.get("/my/claims"))
    assert f'action="/my/claims/{claim.id}/withdraw"' in page  # a button that posts at once
    confirm = text(client.get(f"/my/claims/{claim.id}/withdraw"))  # the page exists, reason optional
    assert "撤回后名额将立即释放" in confirm and "required" not in confirm.split('name="reason"')[1].split(">")[0]
    response = client.post(f"/my/claims/{claim.id}/withdraw")
    assert response.status_code == 303
    claim = fresh(claim)
    assert claim.status == ClaimStatus.WITHDRAWN and claim.withdrawn_at and not claim.needs_ack
    assert "名额已释放" in text(client.get("/my/claims"))
    assert Notice.select().count() == 0  # nobody needs telling


def test_a_confirmed_claim_needs_the_confirmation_page_and_a_reason(client, auth, confirmed):
    """Before: one tap withdrew a confirmed, 100 % claim and told nobody."""
    user, claim = confirmed
    auth.login(user.username)
    listing = text(client.get("/my/claims"))
    assert f'action="/my/claims/{claim.id}/withdraw"' not in listing  # no one-tap form
    assert f'href="/my/claims/{claim.id}/withdraw"' in listing
    detail = text(client.get(f"/my/claims/{claim.id}"))
    assert f'href="/my/claims/{claim.id}/withdraw"' in detail and "撤回认领" in detail

    page = client.get(f"/my/claims/{claim.id}/withdraw")
    assert page.status_code == 200
    assert "工作人员会收到提醒" in text(page) and 'name="reason"' in text(page) and "确认撤回" in text(page)

    for data in ({}, {"reason": "   "}):
        response = client.post(f"/my/claims/{claim.id}/withdraw", data=data)
        assert response.status_code == 400
        assert "撤回时必须填写原因" in text(response) and 'name="reason"' in text(response)
        assert fresh(claim).status == ClaimStatus.CONFIRMED
    assert fresh(claim.project).live_claims == 1

    response = client.post(f"/my/claims/{claim.id}/withdraw", data={"reason": "负责人调离，无法继续实施"})
    assert response.status_code == 303
    claim = fresh(claim)
    assert (claim.status, claim.withdraw_reason, claim.needs_ack) == (
        ClaimStatus.WITHDRAWN, "负责人调离，无法继续实施", True)
    project = fresh(claim.project)
    assert project.live_claims == 0 and project.status == ProjectStatus.OPEN
    assert "工作人员已收到撤回提醒" in text(client.get("/my/claims"))
    row = AuditLog.get(AuditLog.entity == "Claim", AuditLog.action == ClaimStatus.WITHDRAWN)
    assert json.loads(row.changes)["withdraw_reason"] == "负责人调离，无法继续实施"
    # every active clerk and admin is told, in the same transaction (the move's after hook)
    told = list(Notice.select().where(Notice.kind == "claim_withdrawn"))
    assert {n.recipient_id for n in told} == {u.id for u in User.select().where(
        User.role.in_((Role.CLERK, Role.ADMIN)), User.active == True)}  # noqa: E712
    assert told and all("负责人调离，无法继续实施" in n.body and n.subject_id == claim.id for n in told)
    assert all(n.link == "/admin/withdrawn_claim/" for n in told)


def test_clerks_see_and_acknowledge_withdrawn_confirmed_claims(client, auth, confirmed):
    user, claim = confirmed
    other = claims.claim_project(f.make_project(slots=1).id, f.make_unit(), "只是待审核")
    claims.withdraw_claim(other.id, other.unit)  # a pending withdrawal needs nobody's attention
    claims.withdraw_claim(claim.id, user.unit, user=user, reason="负责人调离")

    auth.as_role(Role.UNIT)  # units never reach the queue
    assert client.get("/admin/withdrawn_claim/").status_code == 403
    assert client.post("/admin/withdrawn_claim/action/",
                       data={"action": "acknowledge", "rowid": [str(claim.id)]}).status_code == 403
    auth.logout()

    clerk = auth.as_role(Role.CLERK)
    home = text(client.get("/admin/"))  # in front of the clerks: a card on the admin home
    assert re.search(r'href="/admin/withdrawn_claim/">\s*<div class="card-body p-2">\s*'
                     r'<div class="text-muted small">撤回待知悉</div>\s*<div class="h4 mb-0 text-dark">1</div>', home)
    queue = text(client.get("/admin/withdrawn_claim/"))
    assert "撤回待知悉" in queue and "负责人调离" in queue and "银发助餐点" in queue
    assert f'value="{other.id}"' not in queue
    response = client.post("/admin/withdrawn_claim/action/",
                           data={"action": "acknowledge", "rowid": [str(claim.id)]}, follow_redirects=True)
    assert "已知悉 1 条撤回" in text(response)
    claim = fresh(claim)
    assert not claim.needs_ack and claim.acknowledged_by_id == clerk.id and claim.acknowledged_at
    assert "负责人调离" not in text(client.get("/admin/withdrawn_claim/"))
    assert AuditLog.select().where(AuditLog.action == "acknowledge").count() == 1
    again = client.post("/admin/withdrawn_claim/action/",
                        data={"action": "acknowledge", "rowid": [str(claim.id)]}, follow_redirects=True)
    assert "已由他人知悉" in text(again)
    assert AuditLog.select().where(AuditLog.action == "acknowledge").count() == 1


def test_another_unit_cannot_withdraw_or_see_the_confirmation_page(client, auth, confirmed):
    _user, claim = confirmed
    auth.as_role(Role.UNIT)
    assert client.get(f"/my/claims/{claim.id}/withdraw").status_code == 404
    assert client.post(f"/my/claims/{claim.id}/withdraw", data={"reason": "冒充"}).status_code == 404
    auth.logout()
    response = client.get(f"/my/claims/{claim.id}/withdraw")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert fresh(claim).status == ClaimStatus.CONFIRMED


def _api(client, plaintext, claim_id, **kwargs):
    return client.post(f"/api/v1/claims/{claim_id}/withdraw",
                       headers={"Authorization": f"Bearer {plaintext}"}, **kwargs)


def test_the_api_needs_a_reason_for_a_confirmed_claim(client, confirmed):
    user, claim = confirmed
    _token, plaintext = tokens.issue_token(user, "对接")
    response = _api(client, plaintext, claim.id)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "该认领已经确认，撤回时必须填写原因"
    for body, words in (({"reason": 5}, "必须是字符串"), ({"reason": "\x00"}, "非法字符")):
        response = _api(client, plaintext, claim.id, json=body)
        assert response.status_code == 400 and words in response.get_json()["error"]["message"]
    assert _api(client, plaintext, claim.id, data="reason=x").status_code == 400
    assert fresh(claim).status == ClaimStatus.CONFIRMED

    response = _api(client, plaintext, claim.id, json={"reason": "项目调整"})
    assert response.status_code == 200 and response.get_json()["status"] == ClaimStatus.WITHDRAWN
    assert response.get_json()["withdraw_reason"] == "项目调整" and response.get_json()["withdrawn_at"]
    assert fresh(claim).needs_ack and fresh(claim).withdraw_reason == "项目调整"
    # a pending claim still goes with an empty request
    pending = claims.claim_project(f.make_project().id, user.unit, "计划")
    assert _api(client, plaintext, pending.id).status_code == 200
    # another unit's token: 404, nothing moves
    stranger = f.make_user(role=Role.UNIT)
    _t, other = tokens.issue_token(stranger, "别人")
    third = claims.claim_project(f.make_project().id, user.unit, "计划")
    assert _api(client, other, third.id, json={"reason": "冒充"}).status_code == 404
    assert fresh(third).status == ClaimStatus.PENDING


def test_the_openapi_document_describes_the_reason(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/claims/{id}/withdraw"]["post"]
    body = operation["requestBody"]
    assert body["required"] is False
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"reason"} and schema["properties"]["reason"]["type"] == "string"
    assert "reason" in operation["description"]


def test_the_page_keeps_csrf_on_the_confirmation(csrf_app):
    from .live import csrf_token

    client = csrf_app.test_client()
    clerk = f.make_user(role=Role.CLERK)
    user = f.make_user(role=Role.UNIT)
    claim = claims.claim_project(f.make_project().id, user.unit, "计划")
    claims.confirm_claim(claim.id, user=clerk)
    login = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": user.username, "password": f.PASSWORD, "csrf_token": csrf_token(login)})
    page = client.get(f"/my/claims/{claim.id}/withdraw").get_data(as_text=True)
    assert client.post(f"/my/claims/{claim.id}/withdraw", data={"reason": "x"}).status_code == 400
    assert fresh(claim).status == ClaimStatus.CONFIRMED
    response = client.post(f"/my/claims/{claim.id}/withdraw",
                           data={"reason": "人员调整", "csrf_token": csrf_token(page)})
    assert response.status_code == 303 and fresh(claim).status == ClaimStatus.WITHDRAWN
    assert re.search(r"撤回", client.get("/my/claims").get_data(as_text=True))
    assert Project.get_by_id(claim.project_id).live_claims == 0
    assert Claim.get_by_id(claim.id).needs_ack
