"""签到表: an event's roster printed on A4 for signatures at the door (ReportLab, the CID
font STSong-Light, as the volunteer statement; nothing embedded). Registered and checked-in
people in name order, then the waiting list; phones masked; a blank 签名 column; the
header row repeats on every page and each page is numbered."""
import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from models import Signup, SignupStatus

from .signups import mask_phone
from .statement_pdf import BODY, FONT, NOTE, SUB, TITLE, _p, _t

ORDER = {SignupStatus.REGISTERED: 0, SignupStatus.CHECKED_IN: 0, SignupStatus.WAITLISTED: 1}


def roster_rows(event):
    """The sign-ups a roster lists (cancelled ones are not on it), in print order."""
    rows = Signup.select().where(Signup.event == event.id, Signup.status.in_(tuple(ORDER)))
    # registered in name order; the waiting list in the order people joined it
    return sorted(rows, key=lambda s: (ORDER[s.status], s.created_at if ORDER[s.status] else s.name, s.id))


def roster_pdf(event, *, community, printed_at):
    """The bytes of the event's 签到表."""
    signups = roster_rows(event)
    when = f"{event.starts_at:%Y年%m月%d日 %H:%M}—{event.ends_at:%H:%M}" if event.ends_at.date() == event.starts_at.date() \
        else f"{event.starts_at:%Y-%m-%d %H:%M} 至 {event.ends_at:%Y-%m-%d %H:%M}"
    organiser = event.organiser.name if event.organiser_id else community
    taken = sum(1 for s in signups if s.status != SignupStatus.WAITLISTED)
    waiting = len(signups) - taken
    story = [
        Paragraph(f"{_t(event.title)} 签到表", TITLE),
        Paragraph(_t(community), SUB),
        Spacer(1, 4 * mm),
        Paragraph(f"时间：{_t(when)}　　地点：{_t(event.location)}", BODY),
        Paragraph(f"主办：{_t(organiser)}　　报名 {taken} 人" + (f"（名额 {event.capacity}）" if event.capacity else "")
                  + (f"，候补 {waiting} 人" if waiting else "") + ("　　<b>本活动已取消</b>" if event.is_cancelled else ""),
                  BODY),
        Spacer(1, 4 * mm),
    ]
    rows = [[_p(h) for h in ("序号", "姓名", "手机号", "状态", "签名", "备注")]]
    for number, s in enumerate(signups, start=1):
        rows.append([_p(number), _p(s.name), _p(mask_phone(s.phone)), _p(SignupStatus.label(s.status)), "", ""])
    for _ in range(max(0, 5 - len(signups))):
        rows.append(["", "", "", "", "", ""])  # room for walk-ins
    table = Table(rows, colWidths=[12 * mm, 30 * mm, 32 * mm, 18 * mm, 50 * mm, 38 * mm], repeatRows=1,
                  rowHeights=[8 * mm] + [10 * mm] * (len(rows) - 1))
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f3f3")),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story += [table, Spacer(1, 4 * mm),
              Paragraph("说明：签到后请工作人员在系统中标记签到（或扫码签到），服务时长与积分以系统记录为准。", NOTE)]

    def page_footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 8.5)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"第 {doc.page} 页　打印时间 {printed_at:%Y-%m-%d %H:%M}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=18 * mm,
                            title=f"签到表 - {event.title}", author=community)
    doc.build(story, onFirstPage=page_footer, onLaterPages=page_footer)
    return buffer.getvalue()

