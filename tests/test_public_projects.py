"""The open-project list and project pages: what the public sees, filters, paging, escaping."""
import re

import pytest

from models import ClaimStatus, Line, Project, ProjectStatus, Role

from . import factories as f
from .querycount import count_queries


def _titles(html):
    return re.findall(r'class="pj-title"><a href="/projects/\d+">([^<]*)</a>', html)


def test_list_shows_published_projects_only(client):
    shown = f.make_project(title="银发关爱上门服务")
    f.make_project(title="尚未发布的项目", published=False)
    f.make_project(title="草稿中的项目", status=ProjectStatus.DRAFT)
    f.make_project(title="已关闭的项目", status=ProjectStatus.CLOSED)

    response = client.get("/projects")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert set(_titles(html)) == {shown.title, "已关闭的项目"}
    assert "尚未发布的项目" not in html
    assert "草稿中的项目" not in html


@pytest.mark.parametrize("kwargs", [{"published": False}, {"status": ProjectStatus.DRAFT}])
def test_unpublished_project_page_is_404(client, auth, kwargs):
    hidden = f.make_project(title="内部筹备项目", **kwargs)
    assert client.get(f"/projects/{hidden.id}").status_code == 404
    auth.as_role(Role.UNIT)  # a logged-in unit cannot reach it either
    response = client.get(f"/projects/{hidden.id}")
    assert response.status_code == 404
    assert "内部筹备项目" not in response.get_data(as_text=True)


def test_missing_project_is_404_in_chinese(client):
    response = client.get("/projects/987654")
    assert response.status_code == 404
    assert "项目不存在或尚未发布" in response.get_data(as_text=True)
    assert client.get("/projects/99999999999999999999").status_code == 404
    assert client.get("/projects/abc").status_code == 404


def test_filters_by_line_category_grid_status(client):
    grid = f.make_grid(name="第三网格")
    a = f.make_project(title="调解室建设", line=Line.MEDIATION, category="矛盾调解", grid=grid)
    b = f.make_project(title="老旧小区改造", line=Line.PROPERTY, category="老旧小区改造")
    c = f.make_project(title="民族文化市集", line=Line.CULTURE, category="文化活动",
                       status=ProjectStatus.IN_PROGRESS)

    def titles(**params):
        response = client.get("/projects", query_string=params)
        assert response.status_code == 200
        return set(_titles(response.get_data(as_text=True)))

    assert titles() == {a.title, b.title, c.title}
    assert titles(line=Line.MEDIATION) == {a.title}
    assert titles(category="老旧小区改造") == {b.title}
    assert titles(grid=str(grid.id)) == {a.title}
    assert titles(status=ProjectStatus.IN_PROGRESS) == {c.title}
    assert titles(status=ProjectStatus.OPEN, line=Line.CULTURE) == set()
    assert titles(q="小区") == {b.title}
    # the filter form offers the six lines and the categories that exist, in Chinese
    html = client.get("/projects").get_data(as_text=True)
    for _code, label in Line.choices:
        assert label in html
    assert "文化活动" in html and "第三网格" in html


def test_paging(client):
    for i in range(45):
        f.make_project(title=f"分页项目{i:02d}")
    first = client.get("/projects").get_data(as_text=True)
    second = client.get("/projects?page=2").get_data(as_text=True)
    third = client.get("/projects?page=3").get_data(as_text=True)
    pages = [_titles(first), _titles(second), _titles(third)]
    assert [len(p) for p in pages] == [20, 20, 5]
    assert len(set(sum(pages, []))) == 45  # no project on two pages
    assert "第 1 / 3 页" in first and 'href="/projects?page=2"' in first
    assert 'rel="prev"' in second and 'rel="next"' in second
    # beyond the last page: the last page
    assert _titles(client.get("/projects?page=99").get_data(as_text=True)) == pages[2]
    # filters survive in the page links
    html = client.get(f"/projects?line={Line.LIVELIHOOD}").get_data(as_text=True)
    assert f"line={Line.LIVELIHOOD}" in html.split('rel="next"')[0].rsplit("href=", 1)[1]


@pytest.mark.parametrize("query, message", [
    ("page=-1", "页码无效"),
    ("page=abc", "页码无效"),
    ("page=0", "页码无效"),
    ("page=99999999999999999999", "页码无效"),
    ("line=nonsense", "联治类别"),
    ("grid=abc", "所在网格"),
    ("grid=999999", "所在网格"),
    ("status=draft", "项目状态"),
    ("category=%3Cscript%3E", "项目分类"),
    ("q=" + "长" * 60, "关键词"),
])
def test_bad_list_parameters_are_refused_in_chinese(client, query, message):
    project = f.make_project(title="正常项目")
    response = client.get("/projects?" + query)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "已忽略" in html or "已显示第 1 页" in html
    assert _titles(html) == [project.title]  # the bad filter is ignored, the list still shows
    assert "<script>" not in html


def test_project_page_lists_confirmed_claimants_without_plans_or_phones(client):
    grid = f.make_grid(name="第七网格", worker="王网格员", worker_phone="13911112222")
    project = f.make_project(title="楼道微改造", slots=3, grid=grid, description="更换楼道灯")
    confirmed_unit = f.make_unit(name="红浦供电所", phone="13800001111", contact="张主任")
    pending_unit = f.make_unit(name="兴安盟医院", phone="13800002222")
    f.make_claim(project=project, unit=confirmed_unit, plan="派出电工三名，每周六上门", status=ClaimStatus.CONFIRMED)
    f.make_claim(project=project, unit=pending_unit, plan="计划捐赠灯具", status=ClaimStatus.PENDING)
    assert Project.get_by_id(project.id).live_claims == 2

    response = client.get(f"/projects/{project.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "红浦供电所" in html
    assert "兴安盟医院" not in html          # pending claimants are not announced
    assert "派出电工三名" not in html and "计划捐赠灯具" not in html  # plans are private
    for phone in ("13800001111", "13800002222", "13911112222"):
        assert phone not in html
    assert "张主任" not in html and "王网格员" not in html
    assert "剩余名额 <strong>1</strong> / 3" in html
    assert "第七网格" in html and "更换楼道灯" in html
    # and the list page shows no phone either
    listing = client.get("/projects").get_data(as_text=True)
    assert "13911112222" not in listing and "13800001111" not in listing


def test_user_text_is_escaped(client):
    evil = "<script>alert('x')</script>"
    grid = f.make_grid(name="<b>网格</b>")
    project = f.make_project(title=evil, category="<i>分类</i>", description=evil, grid=grid)
    unit = f.make_unit(name="<img src=x onerror=alert(1)>")
    f.make_claim(project=project, unit=unit, status=ClaimStatus.CONFIRMED)
    for url in ("/projects", f"/projects/{project.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
        assert "<b>网格</b>" not in html and "<i>分类</i>" not in html
    detail = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "<img src=x" not in detail and "&lt;img src=x onerror=alert(1)&gt;" in detail


def test_claim_box_depends_on_who_is_looking(client, auth):
    project = f.make_project(title="垃圾分类宣传")
    anonymous = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "登录</a> 后认领" in anonymous and 'name="plan"' not in anonymous

    auth.as_role(Role.CLERK)
    clerk = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'name="plan"' not in clerk and "管理后台处理认领" in clerk
    auth.logout()

    auth.as_role(Role.UNIT)
    unit = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'name="plan"' in unit and "提交认领" in unit


@pytest.mark.parametrize("kwargs, reason", [
    ({"slots": 1, "live_claims": 1, "status": ProjectStatus.CLAIMED}, "名额已满"),
    ({"status": ProjectStatus.CLOSED}, "不能认领"),
    ({"deadline": "2000-01-01"}, "已过认领截止日期"),
])
def test_unit_sees_why_a_project_cannot_be_claimed(client, auth, kwargs, reason):
    project = f.make_project(**kwargs)
    auth.as_role(Role.UNIT)
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert reason in html and 'name="plan"' not in html





def test_list_query_count_is_constant(app, client):
    """One page costs the same few queries whether it shows 1 project or 20."""
    app.config["PAGE_CACHE_BYTES"] = 0  # what a render costs (tests/test_public_cache.py: a hit)
    grid = f.make_grid()
    f.make_project(grid=grid)
    with count_queries() as one:  # the first request after a write: the category list too
        assert client.get("/projects").status_code == 200
    for _ in range(30):
        f.make_project(grid=grid)
    with count_queries() as many:
        assert client.get("/projects").status_code == 200
    # the data version, categories, grids, count, one page (+ the user when logged in)
    assert len(many) == len(one) <= 5
