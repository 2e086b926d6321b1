"""The 红石榴联盟平台 application factory and its command line.

    flask --app app init-db | seed-demo | create-user | migration-status | verify-balances
    gunicorn 'app:create_app()'
"""
import os
import secrets
from pathlib import Path

import click
from flask import Flask, render_template, request
from flask_babel import Babel
from flask_wtf.csrf import CSRFError, CSRFProtect

from auth import web_security
from models import Role, db
from models.database import apply_migrations, open_database, pending_migrations
from services import delivery
from services.points import format_hours
from web import guard, pagecache, ratelimit

LOCALE = "zh_Hans_CN"
csrf = CSRFProtect()


def create_app(config=None):
    """Build the app: config → database → i18n → security → surfaces → CLI."""
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, config)
    guard.init_app(app)  # first: the id converter before any rule, the input check before any hook
    init_database(app)
    Babel(app, locale_selector=lambda: LOCALE, timezone_selector=lambda: "Asia/Shanghai")
    csrf.init_app(app)
    register_errors(app)
    app.after_request(security_headers)
    web_security.init_app(app)
    app.jinja_env.globals["has_endpoint"] = lambda endpoint: endpoint in app.view_functions
    app.jinja_env.filters["hours"] = format_hours
    app.jinja_env.globals["unread_notices"] = unread_notices
    app.jinja_env.globals["workspace_todo"] = workspace_todo

    import admin
    import api
    import auth
    import public

    auth.init_app(app)
    admin.init_app(app)
    public.init_app(app)
    api.init_app(app)
    ratelimit.init_app(app)  # after the surfaces: binds the views marked @rate_limited
    pagecache.init_app(app)  # after the surfaces: the public pages' per-worker cache
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    register_cli(app)
    return app


def unread_notices():
    """The bell's number for the logged-in account (asked by the templates that show it)."""
    from public.workspace import nav_counts

    return nav_counts()[1]


def workspace_todo():
    """待办 N on the nav of a unit or a volunteer (public/workspace.py sections)."""
    from public.workspace import todo_count

    return todo_count()


def security_headers(response):
    """No sniffing, no framing by other sites, no full URLs leaked to other hosts."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def favicon():
    """Browsers ask every site for /favicon.ico, whatever the pages link: the site's icon."""
    from flask import current_app, send_from_directory

    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


def healthz():
    """The bare route benchmarks compare against: no database, no template."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


# --- config ------------------------------------------------------------------

def load_config(app, override):
    """Defaults, then the environment, then the caller's override (tests)."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        DATABASE_URL=f"sqlite:///{Path(app.instance_path) / 'alliance.db'}",
        SITE_NAME="红石榴联盟平台",
        COMMUNITY_NAME="红浦社区",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        LOGIN_MAX_FAILURES=5,
        LOGIN_WINDOW_MINUTES=15,
        ADMIN_PAGE_SIZE=20,
        EXPORT_MAX_ROWS=0,  # 0: no cap; exports stream in constant memory
        POINTS_PER_HOUR=1,
        POINTS_EXPIRE_MONTHS=0,  # 0: points never expire
        CHECKIN_OPENS_BEFORE_MINUTES=120,  # check-in from 2 h before the start …
        CHECKIN_CLOSES_DAYS_AFTER=0,  # … to the end of the event's last day (+ N days)
        CORS_ORIGINS=[],
        IMPORT_MAX_BYTES=10 * 1024 * 1024,  # one uploaded spreadsheet
        IMPORT_MAX_ROWS=100_000,  # physical rows read, blank ones included
        IMPORT_INLINE_BYTES=256 * 1024,  # bigger files are checked and imported in a background thread
        # Connection pool per app process, SQLite and PostgreSQL (0: connect per request).
        # A request holds one connection: size it at least the threads per worker, and
        # keep workers × DATABASE_POOL_SIZE below PostgreSQL's max_connections.
        DATABASE_POOL_SIZE=8,
        DATABASE_POOL_STALE_TIMEOUT=300,  # seconds before a pooled connection is replaced
        DATABASE_POOL_TIMEOUT=10,  # seconds a request waits for a free pooled connection
        **web_security.defaults(),
        # web/ratelimit.py: counters in the database unless RATELIMIT_STORAGE_URL names Redis
        RATELIMIT_STORAGE_URI="database://",
        RATELIMIT_ENABLED=True,
        RATELIMIT_KEY_PREFIX="hsl",
        SIGNUP_LIMIT_PER_IP="5 per minute;30 per hour",
        SIGNUP_LIMIT_PER_PHONE="5 per 10 minutes;20 per day",
        LOOKUP_LIMIT_PER_IP="10 per minute;60 per hour",
        REGISTER_LIMIT_PER_IP="5 per hour;20 per day",
        ACTIVATION_DAYS=7,  # one-time activation links (services/activation.py)
        **delivery.DEFAULTS,  # notices beyond the site: SMTP, the signed webhook, the worker
    )
    app.config.update(web_security.from_environ(os.environ))
    app.config.update(delivery.from_environ(os.environ))
    for key in ("DATABASE_URL", "SECRET_KEY"):
        if os.environ.get(key):
            app.config[key] = os.environ[key]
    for key in ("POINTS_PER_HOUR", "POINTS_EXPIRE_MONTHS", "CHECKIN_OPENS_BEFORE_MINUTES",
                "CHECKIN_CLOSES_DAYS_AFTER", "IMPORT_MAX_BYTES", "IMPORT_MAX_ROWS", "ACTIVATION_DAYS",
                "DATABASE_POOL_SIZE", "DATABASE_POOL_STALE_TIMEOUT", "DATABASE_POOL_TIMEOUT",
                "PAGE_CACHE_BYTES", "ADMIN_PAGE_CACHE_BYTES"):
        if os.environ.get(key, "").strip().isdigit():
            app.config[key] = int(os.environ[key])
    for key in ("SIGNUP_LIMIT_PER_IP", "SIGNUP_LIMIT_PER_PHONE", "LOOKUP_LIMIT_PER_IP", "RATELIMIT_KEY_PREFIX",
                "REGISTER_LIMIT_PER_IP"):
        if os.environ.get(key, "").strip():
            app.config[key] = os.environ[key].strip()
    if os.environ.get("RATELIMIT_STORAGE_URL", "").strip():
        app.config["RATELIMIT_STORAGE_URI"] = os.environ["RATELIMIT_STORAGE_URL"].strip()
    if os.environ.get("RATELIMIT_ENABLED", "").strip():
        app.config["RATELIMIT_ENABLED"] = os.environ["RATELIMIT_ENABLED"].strip().lower() not in (
            "0", "false", "no", "off")
    if os.environ.get("CORS_ORIGINS"):
        app.config["CORS_ORIGINS"] = [o.strip() for o in os.environ["CORS_ORIGINS"].split(",") if o.strip()]
    if override:
        app.config.update(override)
    web_security.finish_config(app.config)
    delivery.check_config(app.config)
    if os.environ.get("ALLIANCE_CLOCK"):
        # Tests only: a live test server starts its clock at the suite's pinned instant.
        from models.base import clock, parse_instant

        clock.pin(parse_instant(os.environ["ALLIANCE_CLOCK"]), tick=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(app)


def instance_secret(app):
    """A random key generated once into instance/secret_key (never in the repo)."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


# --- database ----------------------------------------------------------------

def init_database(app):
    """Bind the models to the configured database; each request holds one connection,
    checked out of the pool before it and returned at teardown (after a streamed
    response has finished). See ``models.database.open_database``."""
    cfg = app.config
    database = open_database(cfg["DATABASE_URL"], pool_size=cfg["DATABASE_POOL_SIZE"],
                             pool_stale_timeout=cfg["DATABASE_POOL_STALE_TIMEOUT"] or None,
                             pool_timeout=cfg["DATABASE_POOL_TIMEOUT"])
    db.initialize(database)
    app.extensions["database"] = database

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(exc):
        if not db.is_closed():
            db.close()


# --- errors ------------------------------------------------------------------

ERROR_TITLES = {
    400: "请求有误", 403: "没有权限", 404: "页面不存在", 405: "不支持的请求方式",
    409: "操作冲突", 413: "提交内容过大", 429: "操作过于频繁", 500: "服务器内部错误",
}


def register_errors(app):
    from werkzeug.exceptions import HTTPException

    from services.errors import ServiceError

    def render_error(code, message=None):
        if request.path.startswith("/api/"):
            from flask import jsonify

            body = {"error": {"code": code, "message": message or ERROR_TITLES.get(code, "请求失败")}}
            return jsonify(body), code
        return render_template("error.html", code=code, title=ERROR_TITLES.get(code, "出错了"),
                               message=message), code

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return render_error(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")

    @app.errorhandler(ServiceError)
    def _service(exc):
        # a business rule's refusal that no view turned into a form error: its status and message
        return render_error(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def _http(exc):
        if exc.code and exc.code < 400:
            return exc
        message = getattr(exc, "chinese", None)
        body, status = render_error(exc.code or 500, message)
        return body, status, getattr(exc, "extra_headers", None) or {}

    @app.errorhandler(Exception)
    def _unexpected(exc):
        app.logger.exception("unhandled error")
        if not db.is_closed() and db.in_transaction():
            db.rollback()
        return render_error(500, "系统出现异常，已记录，请稍后再试。")


# --- command line -------------------------------------------------------------

def register_cli(app):
    @app.cli.command("init-db", help="应用尚未执行的数据库迁移（可重复执行）。")
    def init_db_command():
        applied = apply_migrations(db.obj)
        click.echo(f"已应用迁移：{', '.join(applied)}" if applied else "数据库已是最新，无需迁移。")

    @app.cli.command("migration-status", help="列出待执行的迁移；有待执行迁移时退出码非零。")
    def migration_status_command():
        todo = pending_migrations(db.obj)
        if todo:
            click.echo("待执行迁移：" + ", ".join(todo))
            raise SystemExit(1)
        click.echo("没有待执行的迁移。")

    @app.cli.command("seed-demo", help="写入演示联盟数据（确定性）；数据库非空时需加 --force。")
    @click.option("--force", is_flag=True, help="数据库已有数据时清空业务数据后重新写入。")
    @click.option("--if-empty", is_flag=True, help="仅在数据库为空时写入，否则静默跳过。")
    def seed_demo_command(force, if_empty):
        from services.demo import DatabaseNotEmpty, seed_demo

        apply_migrations(db.obj)
        try:
            summary = seed_demo(force=force)
        except DatabaseNotEmpty:
            if if_empty:
                click.echo("数据库已有数据，跳过演示数据。")
                return
            raise click.ClickException("数据库已有数据；如确需覆盖，请加 --force。")
        click.echo(summary.report())

    @app.cli.command("expire-points", help="按 POINTS_EXPIRE_MONTHS 写入积分过期流水（为 0 时不过期）。")
    @click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="以哪一天为准（YYYY-MM-DD），默认今天")
    def expire_points_command(as_of):
        from services.points import expire_points

        months = app.config["POINTS_EXPIRE_MONTHS"]
        if not months:
            click.echo("未设置积分有效期（POINTS_EXPIRE_MONTHS=0），积分不过期。")
            return
        entries = expire_points(as_of=as_of)
        total = -sum(entry.points for entry in entries)
        click.echo(f"已为 {len(entries)} 名志愿者写入过期流水，共 {total} 分（有效期 {months} 个月）。")

    @app.cli.command("verify-balances", help="核对积分余额、服务时长、流水条数与报名人次等累计数是否与明细一致；不一致时退出码非零。")
    @click.option("--rebuild", is_flag=True, help="按明细重算全部累计数（核对出差异并查明原因后使用）。")
    def verify_balances_command(rebuild):
        from services import audit, totals
        from services.common import write_transaction

        found = totals.differences()
        for difference in found[:200]:
            click.echo(str(difference))
        if len(found) > 200:
            click.echo(f"……另有 {len(found) - 200} 处不一致未列出")
        if not found:
            click.echo("累计数与明细一致：积分余额、服务时长、流水条数、报名人次。")
            return
        if rebuild:
            with write_transaction():
                updated = totals.rebuild()
                audit.record("rebuild_totals", entity="Totals", changes={
                    "differences": len(found), "records": updated,
                    "first": [str(d) for d in found[:20]]})
            click.echo(f"共 {len(found)} 处不一致，已按明细重算 {updated} 条记录的累计数。")
            return
        click.echo(f"共 {len(found)} 处不一致。可加 --rebuild 按明细重算。")
        raise SystemExit(1)

    @app.cli.command("create-user", help="创建账号：--role admin|clerk|unit，成员单位账号需 --unit。")
    @click.argument("username")
    @click.option("--role", type=click.Choice(Role.codes()), required=True, help="角色")
    @click.option("--unit", "unit_name", default=None, help="成员单位名称（unit 角色必填）")
    @click.option("--password", default=None, help="密码；省略时交互输入")
    def create_user_command(username, role, unit_name, password):
        from services.accounts import AccountError, create_user

        if password is None:
            password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
        try:
            user = create_user(username, password, role, unit_name=unit_name)
        except AccountError as exc:
            raise click.ClickException(str(exc))
        click.echo(f"已创建账号 {user.username}（{Role.label(user.role)}）")

    @app.cli.command("set-password", help="重置账号密码；该账号的所有登录会话（含“记住我”）随即结束。")
    @click.argument("username")
    @click.option("--password", default=None, help="新密码；省略时交互输入")
    def set_password_command(username, password):
        from models import User
        from services.accounts import AccountError, reset_password

        user = User.get_or_none(User.username == username)
        if user is None:
            raise click.ClickException(f"找不到账号：{username}")
        if password is None:
            password = click.prompt("新密码", hide_input=True, confirmation_prompt="再次输入新密码")
        try:
            ended = reset_password(user, password, how="重置密码（命令行）")
        except AccountError as exc:
            raise click.ClickException(str(exc))
        click.echo(f"已重置 {user.username} 的密码，结束 {ended} 个登录会话。")

    @app.cli.command("deliver-notices", help="投递待发送的通知（邮件、短信/微信网关）；--loop 持续运行。")
    @click.option("--loop", is_flag=True, help="持续运行：每隔 NOTICE_POLL_SECONDS 秒检查一次。")
    def deliver_notices_command(loop):
        from services.delivery import enabled_channels, run

        channels = enabled_channels(app.config)
        if not channels:
            click.echo("未配置任何投递渠道（SMTP_HOST 或 NOTICE_WEBHOOK_URL），通知只在站内显示。")
        else:
            click.echo("投递渠道：" + "、".join(f"{c.label}（{c.name}）" for c in channels))

        def report(totals):
            if any(totals.values()):
                click.echo(f"已发送 {totals['sent']} 条，待重试 {totals['retry']} 条，失败 {totals['failed']} 条")

        stopping = []
        if loop:  # SIGTERM (systemd, a supervisor): finish the batch in hand, then stop
            import signal

            signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        try:
            totals = run(loop=loop, on_pass=report, stop=lambda: bool(stopping))
        except KeyboardInterrupt:
            return
        if not any(totals.values()):
            click.echo("没有待投递的通知。")
