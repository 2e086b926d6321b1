"""志愿服务记录证明 as a PDF (ReportLab, with the Adobe CID font STSong-Light, which every
PDF reader supplies for Simplified Chinese, so no font file is embedded or shipped)."""
import io

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from models import EntryKind

from .points import format_hours

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=26, alignment=TA_CENTER)
SUB = ParagraphStyle("sub", fontName=FONT, fontSize=11, leading=16, alignment=TA_CENTER, textColor=colors.grey)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=17)
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=12)
NOTE = ParagraphStyle("note", fontName=FONT, fontSize=8.5, leading=12, textColor=colors.HexColor("#444444"))


def _t(text):
    """Escaped for ReportLab markup; U+00B7 has no glyph in the CID font, U+30FB does."""
    return escape(str(text)).replace("\u00b7", "\u30fb")


def _p(text, style=CELL):
    return Paragraph(_t(text), style)


def statement_pdf(data, *, community, printed_at):
    """The bytes of a one-or-more page A4 PDF for ``services.points.statement`` data."""
    v = data["volunteer"]
    period_start = data["start"] or "加入以来"
    period = f"{period_start} 至 {data['end'] or printed_at.date()}" if (data["start"] or data["end"]) else "加入以来"
    team = f"（{v.team.name}）" if v.team_id else ""
    story = [
        Paragraph("志愿服务记录证明", TITLE),
        Paragraph(_t(community), SUB),
        Spacer(1, 6 * mm),
        Paragraph(f"兹证明 <b>{_t(v.name)}</b>{_t(team)} 于 {_t(period)} 在本社区参加志愿服务，记录如下：", BODY),
        Spacer(1, 4 * mm),
    ]
    summary = Table([
        [_p("志愿服务时长"), _p(f"{format_hours(data['hours'])} 小时"), _p("其中活动服务"),
         _p(f"{format_hours(data['service_hours'])} 小时"),
         _p("荣誉时长"), _p(f"{format_hours(data['honour_hours'])} 小时")],
        [_p("期初积分"), _p(data["opening"]), _p("本期变动"), _p(f"{data['change']:+d}"),
         _p("期末积分"), _p(data["closing"])],
    ], colWidths=[26 * mm, 30 * mm] * 3)
    summary.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                                 ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f3f3")),
                                 ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#f3f3f3")),
                                 ("BACKGROUND", (4, 0), (4, -1), colors.HexColor("#f3f3f3"))]))
    rows = [[_p(h) for h in ("日期", "类型", "内容", "记录单位", "时长(小时)", "积分")]]
    for e in data["entries"]:
        rows.append([_p(e.created_at.strftime("%Y-%m-%d")), _p(EntryKind.label(e.kind)), _p(e.description),
                     _p(e.organiser.name if e.organiser_id else community), _p(format_hours(e.hours)), _p(f"{e.points:+d}")])
    if len(rows) == 1:
        rows.append([_p("该期间无记录"), "", "", "", "", ""])
    entries = Table(rows, colWidths=[22 * mm, 18 * mm, 62 * mm, 38 * mm, 18 * mm, 16 * mm], repeatRows=1)
    entries.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f3f3")),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [summary, Spacer(1, 5 * mm), entries, Spacer(1, 5 * mm),
              Paragraph("说明：志愿服务时长由组织志愿服务的单位如实记录；“荣誉时长”为工作人员依据原始记录补录，"
                        "不计积分。积分流水只增不改，更正以新增记录方式进行。", NOTE),
              Spacer(1, 12 * mm),
              Paragraph(f"出具单位：{_t(community)}（盖章）　　　　出具日期：{printed_at:%Y年%m月%d日}", BODY)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm,
                            title=f"志愿服务记录证明 - {v.name}", author=community)
    doc.build(story)
    return buffer.getvalue()
