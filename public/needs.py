"""群众点单 on the public site: the form (no login, works without JavaScript), the page
with the tracking code after it, and each grid's printable QR poster (双码入户).

The form posts its photos with the text; ``services.photos.prepare_all`` checks and
re-encodes them before ``services.needs.submit`` opens its transaction, so a refused photo
leaves no need behind. A filled honeypot field, a missing CSRF token or too many
submissions (per address, per phone: web/ratelimit.py ``"need"``) are refused in Chinese.
"""
import io

from flask import render_template, request, session
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from models import Grid, NeedKind, NeedSource
from models.bounds import parse_id
from models.needs import grouped
from services import links, needs, photos
from services.errors import ServiceError
from web.ratelimit import rate_limited

from .projects import fail

KIND_HELP = {
    NeedKind.HELP: "生活中遇到困难，需要社区或志愿者搭把手（如上门维修、代买代办）",
    NeedKind.APPEAL: "反映问题、提出诉求（如环境卫生、物业、邻里纠纷）",
    NeedKind.WISH: "一个小小的心愿，由爱心单位和商户认领圆梦",
    NeedKind.SUGGESTION: "对社区治理的意见建议，提交议事协商",
}
TRACKED_MAX = 20  # tracking codes this browser has proven (code + phone tail), newest last


class NeedForm(FlaskForm):
    kind = RadioField("点单类型", choices=NeedKind.choices, validators=[DataRequired("请选择点单类型")],
                      validate_choice=True)
    text = TextAreaField("需求内容", validators=[
        DataRequired("请填写需求内容"),
        Length(max=needs.TEXT_MAX, message=f"需求内容不能超过 {needs.TEXT_MAX} 字")],
        description="写清楚什么事、在哪里、什么时候方便联系。")
    name = StringField("姓名", validators=[DataRequired("请填写姓名"),
                                         Length(max=needs.NAME_MAX, message="姓名过长")])
    phone = StringField("手机号", validators=[DataRequired("请填写手机号"), Length(max=30, message="手机号过长")],
                        description="仅用于社区联系您和查询进度，不会公开。")
    grid = SelectField("所在网格", validators=[Optional()], validate_choice=True)
    consent = BooleanField("同意社区工作人员通过手机号联系我")
    source = HiddenField()
    # the honeypot: hidden from people (CSS), filled by form-filling robots
    website = StringField("网址（请勿填写）", validators=[Optional()])


def _choices(form):
    form.grid.choices = [("", "（不确定）")] + [
        (str(pk), name) for pk, name in Grid.select(Grid.id, Grid.name).order_by(Grid.number).tuples()]


def _render(form, *, error=None, status=200):
    return render_template("public/needs/new.html", form=form, error=error, kind_help=KIND_HELP,
                           max_photos=photos.MAX_PHOTOS, max_mb=photos.MAX_BYTES // (1024 * 1024),
                           poster_grid=_poster_grid(form)), status


def _poster_grid(form):
    pk = parse_id(form.grid.data) if form.grid.data else None
    if pk and form.source.data == NeedSource.POSTER:
        return Grid.get_or_none(Grid.id == pk)
    return None


def need_form():
    form = NeedForm(formdata=None)
    _choices(form)
    grid = parse_id(request.args.get("grid"))
    if grid and any(value == str(grid) for value, _ in form.grid.choices):
        form.grid.data = str(grid)
        form.source.data = NeedSource.POSTER if request.args.get("src") == "poster" else NeedSource.WEB
    kind = request.args.get("kind")
    if kind in NeedKind.codes():
        form.kind.data = kind
    return _render(form)


@rate_limited("need")
def need_submit():
    form = NeedForm()
    _choices(form)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            fail(400, "表单已过期或缺少安全令牌，请刷新页面后重新提交。")
        return _render(form, error="请检查填写的内容。", status=400)
    if form.website.data:
        fail(400, "提交未成功，请刷新页面后重新填写。")
    try:
        prepared = photos.prepare_all(request.files.getlist("photos"))  # before any write
        need = needs.submit(kind=form.kind.data, text=form.text.data, name=form.name.data, mobile=form.phone.data,
                            grid=form.grid.data or None, consent=form.consent.data,
                            source=form.source.data or NeedSource.WEB, photos=prepared)
    except ServiceError as exc:
        field = {"mobile": "phone"}.get(exc.field, exc.field)
        if field in form and field != "photos":
            form[field].errors = list(form[field].errors) + [exc.message]
            return _render(form, error="请检查填写的内容。", status=exc.status)
        return _render(form, error=exc.message, status=exc.status)
    remember(need.code)
    return render_template("public/needs/done.html", need=need, code=grouped(need.code),
                           track_url=links.external_url("public.track_need", code=need.code),
                           NeedKind=NeedKind), 201


photos.accepts_uploads(need_submit)


def remember(code):
    """This browser proved it may read ``code`` (it submitted it, or gave the phone tail)."""
    tracked = [c for c in session.get("tracked", []) if c != code][-(TRACKED_MAX - 1):]
    session["tracked"] = tracked + [code]


def remembered(code):
    return code in session.get("tracked", [])


# --- 双码入户: each grid's A4 poster with the QR code of its form --------------------------

def poster_url(grid):
    return links.external_url("public.need_form", grid=grid.id, src="poster")


def qr_svg(text):
    import qrcode.image.svg  # on use, not at start-up: worker memory

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode("utf-8")
    return Markup(svg[svg.index("<svg"):])  # drop the XML declaration: the SVG sits inside the page


def grid_poster(grid_id):
    grid = Grid.get_or_none(Grid.id == grid_id)
    if grid is None:
        fail(404, "网格不存在")
    url = poster_url(grid)
    return render_template("public/needs/poster.html", grid=grid, url=url, qr=qr_svg(url), KIND_HELP=KIND_HELP,
                           NeedKind=NeedKind)


def home_figures():
    """This month's 群众点单 figures for the home page: a few aggregate queries, kept per
    worker for ``HOME_FIGURES_TTL`` seconds like the alliance's figures beside them."""
    from flask import current_app

    from .home import _FiguresCache

    cache = current_app.extensions.setdefault("needs_figures_cache", _FiguresCache())
    return cache.get(current_app.config.get("HOME_FIGURES_TTL", 10), needs.month_figures)
