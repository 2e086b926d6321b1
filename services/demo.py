"""The demo alliance: a realistic, deterministic 红浦社区 for ``flask seed-demo``.

Everything comes from one ``random.Random(SEED)`` and the current year, so two runs in
the same year produce the same names, titles, phones and dates. Rows are written with
bulk ``insert_many`` in one transaction and with explicit ids (the tables are empty
when we start), which keeps the whole alliance to a second or two on either database.
Only the three demo accounts pay for password hashing.

The data keeps the invariants the services rely on: ``Project.live_claims`` equals the
live claims and never exceeds the slots; one live claim per unit per project; sign-ups
never overfill an event; the points ledger never takes a balance below zero; work-order
timestamps follow the 接单—派单—办单—评单 order.
"""
import dataclasses
import datetime as dt
import random
import time
from decimal import Decimal

from flask import current_app, has_app_context
from peewee import PostgresqlDatabase, chunked

from models import (ALL_MODELS, Channel, Claim, ClaimStatus, EntryKind, Event, EventCategory,
                    EventStatus, Grid, Line, MemberUnit, OrderCategory, OrderStatus, PointsEntry,
                    ProgressReport, Project, ProjectStatus, Rating, Role, Signup, SignupStatus, UnitKind,
                    UnitStatus, User, Volunteer, VolunteerStatus, VolunteerTeam, WorkOrder, db, now)
from models import WorkOrderStep

from . import audit, totals

SEED = 20240614

DEMO_ACCOUNTS = (
    # username, password, role, display name
    ("admin", "hongshiliu-admin", Role.ADMIN, "系统管理员"),
    ("clerk", "hongshiliu-clerk", Role.CLERK, "社区工作人员"),
    ("unit", "hongshiliu-unit", Role.UNIT, "红浦社区卫生服务站联络员"),
)
DEMO_UNIT = "红浦社区卫生服务站"
# a volunteer's account (its Volunteer is chosen among the party members with service
# hours once the volunteers exist): /me, 党员接单
DEMO_VOLUNTEER_ACCOUNT = ("volunteer", "hongshiliu-volunteer", Role.VOLUNTEER, "志愿者")

# Tables the demo writes; any row in one of them means "not empty".
SEEDED_MODELS = (Grid, MemberUnit, VolunteerTeam, Volunteer, User, Project, Claim, ProgressReport,
                 Event, Signup, PointsEntry, WorkOrder)  # written in this order (foreign keys)


class DatabaseNotEmpty(Exception):
    """The database already holds alliance data; seeding needs ``force=True``."""


# --- vocabulary (from the seeds) ------------------------------------------------

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋"
            "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟")
GIVEN = ("淑环 建国 秀英 桂兰 玉梅 海燕 志强 国庆 丽华 春梅 明 军 伟 芳 静 磊 洋 敏 霞 平 刚 杰 娟 涛 超 勇 "
         "艳 鹏 波 辉 玲 红 宇 浩 斌 凤 晶 华 颖 倩 雪 琳 丹 亮 强 健 凯 瑞 欣 悦 萍 兰 梅 翠英 秀珍 荣 "
         "文博 立新 振华 玉兰 凤英 晓东 海峰 春生 德福 宝山 永红 晓慧 婷婷 佳怡 雨涵 思远 嘉琪 俊杰 宁 彤 蕾").split()
MONGOLIAN = ("巴特尔 乌云其其格 其木格 斯琴高娃 额尔敦 萨仁高娃 宝音 那日苏 阿拉腾 图雅 苏日娜 朝鲁 "
             "格日勒 满都拉 哈斯 敖登 达来 包玉兰 包海龙 白音 吉日嘎拉 特木尔 乌兰 娜仁 孟和 布仁").split()

PLACES = ("阳光诺卡一期", "北辰小区", "平安苑", "红浦家园", "兴安里", "团结小区", "幸福里", "电业小区",
          "铁路小区", "粮食局家属院", "教育小区", "民族小区", "胜利小区", "东风小区", "新华小区", "白音小区",
          "红旗小区", "向阳小区", "和平街1号院")
STREETS = ("和平街", "兴安南大街", "罕山路", "五一北路", "都林街", "胜利街", "红城路")
LOCATIONS = ("红浦社区党群服务中心", "红浦社区党群服务中心多功能厅", "石榴籽议事亭", "和平街文化广场",
             "阳光诺卡一期红色阵地", "北辰小区红色物业服务站", "邻里议事厅", "网格党群服务站",
             "红浦社区新时代文明实践站", "胡同议事会议事点")

UNITS = {
    UnitKind.JURISDICTION: (
        "市第二中学", "红浦社区卫生服务站", "和平街派出所", "兴安盟供电公司", "乌兰浩特市第一小学",
        "兴安盟人民医院", "和平街司法所", "和平街消防救援站", "中国邮政和平街支局", "兴安盟自来水公司",
        "乌兰浩特热电公司", "市实验幼儿园", "兴安盟蒙医院", "工商银行和平街支行", "农业银行红浦分理处",
        "乌兰浩特市第五中学", "市第三小学", "兴安盟广播电视台", "和平街市场监管所", "乌兰浩特市燃气公司",
        "兴安职业技术学院", "市图书馆", "市文化馆", "和平街税务所", "兴安盟中医院", "市交警大队一中队",
        "市城管执法局和平街中队", "中国移动和平街营业厅", "兴安日报社", "市妇幼保健院", "市环卫服务中心",
        "市人民法院和平街法庭", "兴安盟疾控中心", "市第六中学", "市特殊教育学校", "建设银行红城支行",
        "中国电信和平街营业厅", "市气象局", "乌兰浩特火车站", "市公交公司",
    ),
    UnitKind.LIAISON: (
        "市委组织部", "市民政局", "市住房和城乡建设局", "市人力资源和社会保障局", "市卫生健康委员会",
        "市司法局", "市财政局", "市教育局", "市应急管理局", "市生态环境局", "市民族事务委员会", "市总工会",
        "团市委", "市妇联", "市残联", "市医疗保障局", "市市场监督管理局", "市自然资源局", "市交通运输局",
        "市文化旅游体育局", "市统计局", "市退役军人事务局", "市委宣传部", "市委政法委", "市农牧局",
        "市水利局", "市审计局", "市信访局", "市科协", "市工商联",
    ),
    UnitKind.SOCIAL_ORG: (
        "李淑环金牌调解室", "“和事佬”调解队", "红浦社区老年协会", "红石榴社会工作服务中心", "绿风公益服务中心",
        "青青村社社区发展中心", "星火公益服务社", "乌兰浩特市义工联合会", "兴安盟蓝天救援队",
        "红浦社区书画协会", "乌兰浩特市慈善总会", "心连心心理咨询服务中心", "阳光助残服务中心",
        "夕阳红文艺协会", "红浦社区人民调解委员会", "和平街法律服务工作站", "乌兰浩特市青少年发展中心",
        "长调艺术协会", "萨日朗志愿者协会", "石榴籽民族团结促进会", "邻里守望互助会", "银龄互助社",
        "小巷管家服务社",
    ),
    UnitKind.MERCHANT: (
        "阳光诺卡超市", "北辰物业服务有限公司", "红浦便民理发店", "老王修鞋铺", "和平街开锁配钥匙店",
        "草原鲜奶吧", "蒙古包手把肉馆", "兴安大药房和平街店", "利民五金店", "福满楼饭店", "维多利喜悦汇",
        "比塞塔购物中心", "滨海玖禾奥莱", "老刘家早点铺", "德顺蔬菜店", "安心家政服务部", "小雨点洗衣店",
        "新华书店和平街店", "金牛眼镜店", "惠民粮油店", "红浦农贸市场", "美佳口腔诊所",
        "科尔沁牛肉干专卖店", "好邻居便利店", "乐家家电维修部", "明远电脑维修店", "兴安家园物业公司",
        "鑫源物业服务中心", "阿拉坦奶茶馆", "天骄花店",
    ),
}
UNIT_INTROS = {
    UnitKind.JURISDICTION: "驻区单位，党组织与社区党委结对共建，常态参与“双报到”为民服务。",
    UnitKind.LIAISON: "包联部门，按“1+3”联包机制下沉力量，协调职能资源解决小区难题。",
    UnitKind.SOCIAL_ORG: "扎根社区的社会组织，承接专业服务项目，培育居民骨干与志愿力量。",
    UnitKind.MERCHANT: "党建联盟商户，参与“民生微服务站”，为困难居民提供优惠与结对帮扶。",
}

LINE_CATEGORIES = {
    Line.MEDIATION: {
        "邻里纠纷调解": ("{place}邻里纠纷“四前置”化解", "{place}噪音扰民纠纷调处", "{place}楼上漏水纠纷调解"),
        "物业矛盾化解": ("{place}物业费争议协商", "{place}物业矛盾“红色议事厅”调处"),
        "法律服务进网格": ("{grid}“法律明白人”驻点服务", "{grid}律师坐诊接待日"),
        "家庭关系调适": ("{place}婚姻家庭矛盾疏导", "{grid}家庭教育指导沙龙"),
    },
    Line.LIVELIHOOD: {
        "银发关爱": ("{place}独居老人“敲门行动”", "{place}银发助餐点共建", "{grid}高龄老人健康随访"),
        "助残帮扶": ("{place}残疾人居家康复帮扶", "{grid}助残出行结对"),
        "微心愿": ("{grid}困难儿童“微心愿”认领", "{place}困难家庭“微心愿”圆梦"),
        "三代办服务": ("{grid}医保社保“全程代办”", "{grid}上班族“预约代办”", "{grid}证照“集中代办”"),
        "就业帮扶": ("{grid}灵活就业技能培训", "{place}就业岗位对接会"),
    },
    Line.RESOURCES: {
        "老旧小区改造": ("{place}老旧管网改造", "{place}加装路灯与监控", "{place}楼道粉刷与扶手加装"),
        "共享场地开放": ("{grid}单位停车场错时共享", "{grid}学校运动场周末开放"),
        "便民服务进小区": ("{place}“民生微服务站”配钥匙修鞋磨刀", "{place}便民理发进小区"),
        "爱心捐赠": ("{grid}冬衣暖冬捐赠", "{place}爱心书屋图书捐赠"),
    },
    Line.SAFETY: {
        "消防安全排查": ("{place}消防通道清理", "{place}电动车充电隐患排查", "{place}燃气安全入户检查"),
        "反诈宣传": ("{grid}反诈骗宣传进楼栋", "{place}老年人防诈骗讲座"),
        "双清行动": ("{place}“双清行动”清隐患清诉求", "{grid}“双清行动”楼院巡查"),
        "平安巡防": ("{grid}夜间平安巡防", "{place}重点时段治安巡逻"),
    },
    Line.PROPERTY: {
        "物业服务提升": ("{place}引进市场化物业", "{place}物业服务质量评议", "{place}“红色物业”联建"),
        "业委会组建": ("{place}党员带头成立业委会", "{place}业主大会筹备"),
        "环境整治": ("{place}楼道杂物清理", "{place}毁绿种菜整治", "{place}停车秩序整治"),
        "公共设施维护": ("{place}单元门禁维修", "{place}健身器材维护更新"),
    },
    Line.CULTURE: {
        "民族团结文化": ("{place}“民族团结墙”彩绘", "{grid}石榴籽民族团结故事会", "{place}民族团结进家庭"),
        "邻里节活动": ("{place}邻里百家宴", "{grid}邻里节文艺汇演"),
        "青少年课堂": ("{grid}青少年诗书朗读", "{place}假期“四点半课堂”"),
        "文体队伍培育": ("{grid}葫芦丝兴趣班", "{place}广场舞队伍培育", "{grid}书画交流小组"),
    },
}
NEEDS = ("需要志愿者 4–6 名，每周服务一次", "需要专业技术人员上门评估", "需要场地与物资支持",
         "需要资金约 2 万元，可由认领单位与社区共同承担", "需要熟悉蒙汉双语的工作人员",
         "需要车辆接送与后勤保障", "需要法律、心理等专业力量参与", "需要协调职能部门审批")
PLANS = ("由党员志愿者组成服务小组，按月制定计划并在群内公示进展。",
         "单位党支部牵头，抽调 5 名骨干与网格员对接，三个月内完成。",
         "提供场地和物资支持，安排专人负责，每月向社区报送一次进展。",
         "发挥行业专业优势，先摸底走访，再分批实施，年底前办结。",
         "与网格党小组结对，每周固定半天开展服务，建立服务台账。")
REPORTS = ("已完成入户走访 {n} 户，收集需求 {m} 条，形成需求清单。",
           "召开协调会 {m} 次，明确分工与时间节点。",
           "完成第一阶段施工/服务，受益居民 {n} 户。",
           "组织志愿服务 {m} 次，参与党员志愿者 {n} 人次。",
           "整改问题 {m} 项，居民满意度回访良好。")

EVENT_TITLES = {
    EventCategory.NEIGHBOURHOOD: ("{grid}邻里节", "邻里百家宴", "邻里守望茶话会", "“和谐和美和平街”邻里节"),
    EventCategory.ETHNIC_MARKET: ("民族文化市集", "石榴籽民族文化市集", "民族手工艺市集"),
    EventCategory.VOLUNTEER: ("“敲门行动”入户走访", "“双清行动”志愿服务", "小区环境清洁志愿活动",
                              "为困难老人打扫家庭卫生", "“党派我来服务”志愿服务日"),
    EventCategory.POLICY: ("医保政策宣讲会", "民法典进社区", "养老保险政策解读", "民族团结政策宣讲"),
    EventCategory.CULTURE_SPORTS: ("葫芦丝公益课", "广场舞展演", "青少年诗书朗读会", "社区趣味运动会",
                                   "书画交流会"),
    EventCategory.HEALTH: ("蒙医义诊进社区", "老年人免费体检", "口腔健康义诊", "家庭医生签约服务日"),
    EventCategory.SAFETY: ("消防安全演练", "反诈骗宣传讲座", "电动车安全充电宣传", "防汛应急演练"),
    EventCategory.PARTY: ("主题党日活动", "红色读书角分享会", "在职党员报到服务日", "网格党小组组织生活会"),
}
EVENT_WEIGHTS = {
    EventCategory.NEIGHBOURHOOD: 14, EventCategory.ETHNIC_MARKET: 10, EventCategory.VOLUNTEER: 22,
    EventCategory.POLICY: 14, EventCategory.CULTURE_SPORTS: 20, EventCategory.HEALTH: 14,
    EventCategory.SAFETY: 14, EventCategory.PARTY: 12,
}
# (month, day, title, category): the year's fixed-date occasions
HOLIDAY_EVENTS = (
    (2, 12, "元宵节猜灯谜邻里会", EventCategory.NEIGHBOURHOOD),
    (3, 5, "学雷锋志愿服务日", EventCategory.VOLUNTEER),
    (3, 8, "“三八”巾帼风采展示", EventCategory.CULTURE_SPORTS),
    (5, 31, "端午包粽子民族文化市集", EventCategory.ETHNIC_MARKET),
    (7, 1, "“七一”重温入党誓词", EventCategory.PARTY),
    (9, 28, "中秋邻里节", EventCategory.NEIGHBOURHOOD),
    (10, 11, "重阳敬老文艺汇演", EventCategory.CULTURE_SPORTS),
    (12, 4, "宪法宣传日法律咨询", EventCategory.POLICY),
)

TEAMS = (
    # name, members, team skill, intro
    ("红石榴志愿服务队", 80, "入户走访", "社区主力志愿队伍，常态开展“敲门行动”“双清行动”。"),
    ("青年志愿队", 50, "活动组织", "辖区青年和在职党员组成，承担大型活动保障。"),
    ("葫芦丝乐器队", 25, "葫芦丝演奏", "居民文艺骨干，开展公益课和文艺汇演。"),
    ("巾帼志愿队", 50, "家政服务", "妇女骨干组成，关爱独居老人与困境儿童。"),
    ("政策宣讲志愿队", 30, "政策宣讲", "老党员、退休干部组成，宣讲惠民政策与法律常识。"),
    ("文明劝导志愿队", 35, "文明劝导", "劝导乱停乱放、毁绿种菜等不文明行为。"),
    ("维稳防控志愿队", 30, "平安巡防", "重点时段巡防值守，协助排查安全隐患。"),
)
SKILLS = ("水电维修", "理发", "医疗护理", "心理疏导", "摄影", "书法", "蒙汉双语翻译", "电脑维修", "驾驶",
          "厨艺", "舞蹈", "法律咨询", "财会", "急救")
EXCHANGE_ITEMS = (("毛巾两条", 2), ("配钥匙一次", 2), ("理发服务一次", 3), ("牙膏套装", 4),
                  ("洗衣液一瓶", 5), ("保温杯一个", 6), ("大米一袋（5斤）", 8), ("食用油一桶", 10))
HONOUR_REASONS = ("防汛抢险值守", "冬季清雪保畅通", "重大活动安保协勤", "疫情防控卡点值守", "森林防火宣传值守")

ORDER_TEXTS = {
    OrderCategory.MEDIATION: ("{place}{b}号楼上下邻居因漏水发生纠纷，请求调解。", "{place}邻居占用楼道堆物引发争吵。"),
    OrderCategory.PROPERTY: ("{place}{b}号楼单元门禁损坏，出入不便。", "{place}{b}号楼楼道灯不亮，老人晚上出行不便。"),
    OrderCategory.ENVIRONMENT: ("{place}垃圾清运不及时，异味明显。", "{place}{b}号楼前有人毁绿种菜。"),
    OrderCategory.POLICY: ("咨询高龄津贴申领条件和所需材料。", "咨询灵活就业人员医保缴费政策。"),
    OrderCategory.ELDERLY: ("{place}独居老人行动不便，希望定期上门探望。", "老人需要助餐服务，询问助餐点位置。"),
    OrderCategory.SAFETY: ("{place}{b}号楼有人在楼道给电动车充电。", "{place}消防通道被车辆长期占用。"),
    OrderCategory.FULL_PROXY: ("{place}{b}号楼残疾居民需代办医保报销手续。", "高龄老人需代办养老资格认证。"),
    OrderCategory.APPOINTMENT_PROXY: ("上班族预约周末上门办理居住证明。", "预约错时办理社保卡补办。"),
    OrderCategory.BATCH_PROXY: ("{place}多户居民集中反映燃气表更换问题。", "{place}多户居民需集中办理供暖报停。"),
    OrderCategory.OTHER: ("{place}流浪猫较多，希望协调救助。", "建议在{place}增设快递存放点。"),
}
ORDER_WEIGHTS = {
    OrderCategory.MEDIATION: 12, OrderCategory.PROPERTY: 18, OrderCategory.ENVIRONMENT: 14,
    OrderCategory.POLICY: 10, OrderCategory.ELDERLY: 10, OrderCategory.SAFETY: 10,
    OrderCategory.FULL_PROXY: 8, OrderCategory.APPOINTMENT_PROXY: 6, OrderCategory.BATCH_PROXY: 5,
    OrderCategory.OTHER: 4,
}
ORDER_STATUS_COUNTS = {
    OrderStatus.ACCEPTED: 14, OrderStatus.DISPATCHED: 26, OrderStatus.RESOLVED: 30,
    OrderStatus.RATED: 130, OrderStatus.REDO: 10, OrderStatus.REVOKED: 8,
}
PROJECT_STATUS_COUNTS = {
    ProjectStatus.DRAFT: 8, ProjectStatus.OPEN: 125, ProjectStatus.CLAIMED: 55,
    ProjectStatus.IN_PROGRESS: 65, ProjectStatus.DONE: 40, ProjectStatus.CLOSED: 7,
}
EVENT_COUNT = 128
PROJECTS_PER_LINE = 50


@dataclasses.dataclass
class DemoSummary:
    counts: dict
    unit_kinds: dict
    seconds: float
    accounts: tuple = DEMO_ACCOUNTS

    def report(self):
        c = self.counts
        kinds = "、".join(f"{UnitKind.label(k)} {n}" for k, n in self.unit_kinds.items())
        lines = [
            f"演示数据已写入（用时 {self.seconds:.2f} 秒）：",
            f"  网格 {c['grids']} 个，成员单位 {c['units']} 家（{kinds}）",
            f"  治理项目 {c['projects']} 个，认领 {c['claims']} 条，项目进展 {c['reports']} 条",
            f"  活动 {c['events']} 场，报名 {c['signups']} 人次",
            f"  志愿服务队 {c['teams']} 支，志愿者 {c['volunteers']} 人，积分流水 {c['points']} 条",
            f"  工单 {c['work_orders']} 件",
            "演示账号（仅供演示，生产环境请停用）：",
        ]
        for username, password, role, _ in self.accounts + (DEMO_VOLUNTEER_ACCOUNT,):
            lines.append(f"  {Role.label(role)}：用户名 {username}  密码 {password}")
        return "\n".join(lines)


def seed_demo(force=False):
    """Fill an empty database with the demo alliance; with ``force`` replace what is there."""
    started = time.perf_counter()
    with db.atomic():
        if not _is_empty():
            if not force:
                raise DatabaseNotEmpty()
            _wipe()
        builder = _Builder(random.Random(SEED), now(), _points_per_hour())
        builder.build()
        builder.write()
        build_wishes(builder)  # 微心愿 (appended below)
        build_needs(builder)  # 群众点单 (appended below; after the wishes it links to)
    return DemoSummary(counts=builder.counts(), unit_kinds=builder.unit_kinds(),
                       seconds=time.perf_counter() - started)


def _points_per_hour():
    if has_app_context():
        return int(current_app.config.get("POINTS_PER_HOUR", 1))
    return 1


def _is_empty():
    return not any(model.select().exists() for model in SEEDED_MODELS)


def _wipe():
    """Delete every business row, children first (one transaction, the caller's)."""
    database = db.obj
    if isinstance(database, PostgresqlDatabase):
        tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY")
        return
    for model in reversed(ALL_MODELS):
        model.delete().execute()


def _ensure_categories():
    """项目分类: the seed's categories of each 联治 line, in order, beside any a clerk added."""
    from models import ProjectCategory

    have = {name for (name,) in ProjectCategory.select(ProjectCategory.name).tuples()}
    order = 0
    for line, categories in LINE_CATEGORIES.items():
        for name in categories:
            order += 10
            if name not in have:
                ProjectCategory.create(name=name, line=line, sort_order=order)


def _bulk(model, rows):
    if not rows:
        return
    per_row = len(rows[0])
    size = max(1, min(500, 30000 // per_row))
    for batch in chunked(rows, size):
        model.insert_many(batch).as_rowcount().execute()


def _reset_sequences(models):
    """After inserting explicit ids, move PostgreSQL's sequences past them."""
    database = db.obj
    if not isinstance(database, PostgresqlDatabase):
        return
    for model in models:
        table = model._meta.table_name
        database.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), COALESCE(MAX(id), 0) + 1, false) "
            f'FROM "{table}"')


class _Builder:
    """Builds every row in memory (plain dicts with explicit ids), then writes them."""

    def __init__(self, rng, today, points_per_hour):
        self.rng = rng
        self.now = today
        self.year = today.year
        self.pph = points_per_hour
        self.rows = {model: [] for model in SEEDED_MODELS}
        self._phones = set()
        self._codes = set()

    # -- helpers ----------------------------------------------------------------

    def name(self):
        if self.rng.random() < 0.12:
            return self.rng.choice(MONGOLIAN)
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)

    def mobile(self):
        while True:
            phone = f"1{self.rng.choice('3456789')}{self.rng.randrange(10 ** 9):09d}"
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def code(self):
        while True:
            code = f"{self.rng.getrandbits(48):012X}"
            if code not in self._codes:
                self._codes.add(code)
                return code

    def past(self, min_days, max_days):
        """A moment ``min_days``–``max_days`` (at least one) before now, on a working hour."""
        day = (self.now - dt.timedelta(days=self.rng.uniform(max(min_days, 1), max_days))).date()
        return dt.datetime.combine(day, dt.time(self.rng.randint(8, 17), self.rng.choice((0, 15, 30, 45))))

    def add(self, model, **row):
        rows = self.rows[model]
        row["id"] = len(rows) + 1
        row.setdefault("created_at", self.now)
        row.setdefault("updated_at", row["created_at"])
        rows.append(row)
        return row

    def grid_label(self, grid_id):
        return self.rows[Grid][grid_id - 1]["name"]

    # -- the alliance ------------------------------------------------------------

    def build(self):
        self.build_grids()
        self.build_units()
        self.build_users()
        self.build_projects()
        self.build_claims()
        self.build_teams_and_volunteers()
        self.build_events()
        self.build_signups_and_points()
        self.build_work_orders()
        self.build_loops()
        self.build_order_steps()

    def build_grids(self):
        leaders = [10 + self.rng.randint(0, 4) for _ in range(19)]
        while sum(leaders) != 232:  # 232 单元长 in 19 grids (seed 000)
            i = self.rng.randrange(19)
            step = 1 if sum(leaders) < 232 else -1
            if 8 <= leaders[i] + step <= 16:
                leaders[i] += step
        founded = dt.datetime(self.year - 3, 3, 1, 9, 0)
        for n in range(1, 20):
            self.add(Grid, number=n, name=f"第{n}网格", party_leader=self.name(), worker=self.name(),
                     worker_phone=self.mobile(), unit_leaders=leaders[n - 1],
                     households=self.rng.randint(100, 130),
                     note=f"覆盖{PLACES[n - 1]}等楼院", created_at=founded)

    def build_units(self):
        for kind, names in UNITS.items():
            for unit_name in names:
                joined = dt.date(self.year - self.rng.randint(1, 4), self.rng.randint(1, 12), self.rng.randint(1, 28))
                phone = self.mobile() if self.rng.random() < 0.7 else f"0482-{self.rng.randint(8200000, 8399999)}"
                self.add(MemberUnit, name=unit_name, kind=kind, contact=self.name(), phone=phone,
                         address=f"{self.rng.choice(STREETS)}{self.rng.randint(1, 180)}号",
                         grid=self.rng.randint(1, 19), joined_on=joined, status=UnitStatus.ACTIVE,
                         intro=UNIT_INTROS[kind],
                         created_at=dt.datetime.combine(joined, dt.time(9, 0)))
        units = self.rows[MemberUnit]
        # a few units paused or gone, never the demo account's unit
        for row in self.rng.sample([u for u in units if u["name"] != DEMO_UNIT], 4):
            row["status"] = UnitStatus.SUSPENDED if row["id"] % 2 else UnitStatus.WITHDRAWN
        self.unit_by_name = {u["name"]: u["id"] for u in units}
        self.active_units = [u["id"] for u in units if u["status"] == UnitStatus.ACTIVE]
        self.demo_unit = self.unit_by_name[DEMO_UNIT]

    def build_users(self):
        from werkzeug.security import generate_password_hash

        from models.accounts import PASSWORD_METHOD

        created = self.now - dt.timedelta(days=200)
        for username, password, role, display in DEMO_ACCOUNTS:
            self.add(User, username=username, display_name=display,
                     password_hash=generate_password_hash(password, method=PASSWORD_METHOD), role=role,
                     unit=self.demo_unit if role == Role.UNIT else None, active=True,
                     last_login_at=None, created_at=created)
        self.clerk = next(u["id"] for u in self.rows[User] if u["role"] == Role.CLERK)

    def build_projects(self):
        statuses = [s for s, n in PROJECT_STATUS_COUNTS.items() for _ in range(n)]
        self.rng.shuffle(statuses)
        self.meeting = (self.now - dt.timedelta(days=150)).replace(hour=9, minute=0, second=0)  # 认领大会
        i = 0
        titles = set()
        for line in Line.codes():
            categories = LINE_CATEGORIES[line]
            for _ in range(PROJECTS_PER_LINE):
                for _attempt in range(30):  # titles unique, so lists and exports read clearly
                    category = self.rng.choice(list(categories))
                    grid = self.rng.randint(1, 19)
                    title = self.rng.choice(categories[category]).format(
                        place=self.rng.choice(PLACES), grid=self.grid_label(grid))
                    if title not in titles:
                        break
                else:
                    title = f"{title}（二期）"
                titles.add(title)
                status = statuses[i]
                slots = self.rng.choices((1, 2, 3), weights=(55, 30, 15))[0]
                if status == ProjectStatus.OPEN:
                    deadline = self.now.date() + dt.timedelta(days=self.rng.randint(20, 150))
                else:
                    deadline = self.meeting.date() + dt.timedelta(days=self.rng.randint(20, 60))
                progress = {ProjectStatus.IN_PROGRESS: self.rng.randrange(10, 95, 5),
                            ProjectStatus.DONE: 100}.get(status, 0)
                created = self.meeting - dt.timedelta(days=self.rng.randint(5, 30))
                self.add(Project, title=f"{title}", line=line, category=category,
                         description=f"{Line.label(line)}·{category}：{title}。围绕居民“急难愁盼”，"
                                     f"由认领单位与{self.grid_label(grid)}党小组共同实施。",
                         grid=grid, needs=self.rng.choice(NEEDS), slots=slots, live_claims=0,
                         deadline=deadline, published=status != ProjectStatus.DRAFT, status=status,
                         progress=progress, created_at=created)
                i += 1

    def build_claims(self):
        """Claims per project, consistent with its status; the demo unit gets a few of its own."""
        projects = self.rows[Project]
        by_status = {}
        for p in projects:
            by_status.setdefault(p["status"], []).append(p)
        demo = {}  # project id -> the demo unit's claim status
        demo[by_status[ProjectStatus.IN_PROGRESS][0]["id"]] = ClaimStatus.CONFIRMED
        demo[by_status[ProjectStatus.DONE][0]["id"]] = ClaimStatus.CONFIRMED
        demo[next(p for p in by_status[ProjectStatus.OPEN] if p["slots"] >= 2)["id"]] = ClaimStatus.PENDING
        demo[by_status[ProjectStatus.OPEN][-1]["id"]] = ClaimStatus.WITHDRAWN
        demo[by_status[ProjectStatus.CLAIMED][0]["id"]] = ClaimStatus.REJECTED
        others = [u for u in self.active_units if u != self.demo_unit]

        for p in projects:
            status, slots = p["status"], p["slots"]
            if status == ProjectStatus.DRAFT:
                continue
            if status == ProjectStatus.OPEN:
                live = self.rng.choices(range(slots), weights=[4] + [2] * (slots - 1))[0]
            elif status == ProjectStatus.CLAIMED:
                live = slots
            elif status in (ProjectStatus.IN_PROGRESS, ProjectStatus.DONE):
                live = self.rng.randint(1, slots)
            else:  # closed: nobody holds a slot
                live = 0
            dead = self.rng.choices((0, 1, 2), weights=(75, 20, 5))[0]
            if status == ProjectStatus.CLOSED:
                dead = max(dead, 1)
            demo_status = demo.get(p["id"])
            if demo_status in ClaimStatus.LIVE:
                live = max(live, 1)
            units = self.rng.sample(others, live + dead)
            claims = []
            for k, unit in enumerate(units):
                if k < live:
                    confirmed = status in (ProjectStatus.IN_PROGRESS, ProjectStatus.DONE) or self.rng.random() < 0.5
                    claims.append((unit, ClaimStatus.CONFIRMED if confirmed else ClaimStatus.PENDING))
                else:
                    claims.append((unit, self.rng.choice((ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN))))
            if demo_status in ClaimStatus.LIVE:
                claims[0] = (self.demo_unit, demo_status)  # takes one of the live places
            elif demo_status:
                claims.append((self.demo_unit, demo_status))
            for unit, claim_status in claims:
                self.add_claim(p, unit, claim_status)
            p["live_claims"] = sum(s in ClaimStatus.LIVE for _, s in claims)

    def add_claim(self, project, unit, status):
        created = min(self.meeting + dt.timedelta(days=self.rng.uniform(0, 40)), self.now)
        reviewed = min(created + dt.timedelta(days=self.rng.uniform(0.5, 5)), self.now)
        is_reviewed = status in (ClaimStatus.CONFIRMED, ClaimStatus.REJECTED)
        claim = self.add(Claim, project=project["id"], unit=unit, plan=self.rng.choice(PLANS), status=status,
                         reviewed_by=self.clerk if is_reviewed else None,
                         reviewed_at=reviewed.replace(microsecond=0) if is_reviewed else None,
                         note={ClaimStatus.REJECTED: "该项目需专业资质，建议改认领同网格其他项目。",
                               ClaimStatus.CONFIRMED: "同意认领，请按计划推进。"}.get(status),
                         created_at=created.replace(microsecond=0),
                         updated_at=(reviewed if status != ClaimStatus.PENDING else created).replace(microsecond=0))
        if status == ClaimStatus.CONFIRMED and project["status"] in (ProjectStatus.IN_PROGRESS, ProjectStatus.DONE):
            self.add_reports(claim, project)

    def add_reports(self, claim, project):
        target = project["progress"]
        steps = self.rng.randint(1, 3)
        start = claim["reviewed_at"] or claim["created_at"]
        span = max((self.now - start).days, steps)
        for k in range(1, steps + 1):
            percent = target if k == steps else max(5, round(target * k / steps / 5) * 5)
            day = (start + dt.timedelta(days=span * k / (steps + 1))).replace(microsecond=0)
            text = self.rng.choice(REPORTS).format(n=self.rng.randint(8, 60), m=self.rng.randint(2, 9))
            self.add(ProgressReport, claim=claim["id"], text=text, percent=percent, reported_on=day.date(),
                     created_at=day)

    def build_teams_and_volunteers(self):
        founded = dt.date(self.year - 4, 5, 1)
        team_ids = []
        for team_name, members, _, intro in TEAMS:
            row = self.add(VolunteerTeam, name=team_name, leader=self.name(), leader_phone=self.mobile(),
                           founded_on=founded + dt.timedelta(days=self.rng.randint(0, 600)), intro=intro,
                           created_at=dt.datetime.combine(founded, dt.time(9, 0)))
            team_ids.extend([(row["id"], TEAMS[row["id"] - 1][2])] * members)
        for team_id, team_skill in team_ids:
            joined = dt.date(self.year - self.rng.randint(0, 4), self.rng.randint(1, 12), self.rng.randint(1, 28))
            joined = min(joined, self.now.date())
            extra = self.rng.sample(SKILLS, self.rng.randint(0, 2))
            self.add(Volunteer, name=self.name(), phone=self.mobile(), team=team_id, grid=self.rng.randint(1, 19),
                     party_member=self.rng.random() < 0.4, skills="、".join([team_skill] + extra),
                     joined_on=joined, status=VolunteerStatus.ACTIVE, points_balance=0,
                     created_at=dt.datetime.combine(joined, dt.time(10, 0)))

    def build_events(self):
        year_start = dt.date(self.year, 1, 1)
        days = (dt.date(self.year, 12, 31) - year_start).days + 1
        plans = [(dt.date(self.year, m, d), title, cat) for m, d, title, cat in HOLIDAY_EVENTS]
        regular = EVENT_COUNT - len(plans)
        cats, weights = list(EVENT_WEIGHTS), list(EVENT_WEIGHTS.values())
        for i in range(regular):
            day = year_start + dt.timedelta(days=min(days - 1, int(i * days / regular) + self.rng.randint(0, 2)))
            category = self.rng.choices(cats, weights)[0]
            title = self.rng.choice(EVENT_TITLES[category]).format(grid=f"第{self.rng.randint(1, 19)}网格")
            plans.append((day, title, category))
        plans.sort(key=lambda plan: plan[0])
        organisers = self.active_units
        for day, title, category in plans:
            hour = self.rng.choice((9, 9, 10, 14, 15, 19))
            hours = 2 if hour == 19 else self.rng.choice((2, 2, 3, 4))
            starts = dt.datetime.combine(day, dt.time(hour, self.rng.choice((0, 30))))
            ends = starts + dt.timedelta(hours=hours)
            upcoming = starts > self.now
            open_air = category in (EventCategory.ETHNIC_MARKET, EventCategory.NEIGHBOURHOOD)
            unlimited = open_air and self.rng.random() < 0.5
            capacity = 0 if unlimited else self.rng.choice((15, 20, 20, 30, 30, 40, 50, 60))
            published = not (upcoming and self.rng.random() < 0.12)
            cancelled = published and self.rng.random() < 0.04
            created = min(starts - dt.timedelta(days=self.rng.randint(10, 30)), self.now)
            self.add(Event, title=title, category=category, starts_at=starts, ends_at=ends,
                     location=self.rng.choice(LOCATIONS),
                     organiser=self.rng.choice(organisers) if self.rng.random() < 0.8 else None,
                     capacity=capacity,
                     description=f"{EventCategory.label(category)}：{title}。欢迎辖区居民和志愿者参加，"
                                 f"参加志愿服务按 1 小时 {self.pph} 积分计入积分银行。",
                     published=published, status=EventStatus.CANCELLED if cancelled else EventStatus.SCHEDULED,
                     points=hours * self.pph, sequence=1 if cancelled else 0, created_at=created)
        # at least a few drafts and cancelled events, whatever the day of the year
        events = self.rows[Event]
        drafts = sum(not e["published"] for e in events)
        upcoming = [e for e in events if e["published"] and e["starts_at"] > self.now]
        for event in sorted(upcoming, key=lambda e: e["starts_at"], reverse=True)[:max(0, 5 - drafts)]:
            event["published"] = False
        missing = 5 - sum(not e["published"] for e in events)
        for event in self.rng.sample([e for e in events if e["published"]], max(0, missing)):
            event["published"] = False
        cancelled = sum(e["status"] == EventStatus.CANCELLED for e in events)
        scheduled = [e for e in events if e["published"] and e["status"] == EventStatus.SCHEDULED]
        for event in self.rng.sample(scheduled, max(0, 4 - cancelled)):
            event["status"], event["sequence"] = EventStatus.CANCELLED, 1

    def build_signups_and_points(self):
        volunteers = self.rows[Volunteer]
        balances = {}
        earned_at = {}
        for event in self.rows[Event]:
            if not event["published"]:
                continue
            starts, ends = event["starts_at"], event["ends_at"]
            past = ends <= self.now
            capacity = event["capacity"]
            if event["status"] == EventStatus.CANCELLED:
                wanted = self.rng.randint(0, 5)
            elif capacity:
                wanted = self.rng.randint(capacity // 3, capacity + 3)
            else:
                wanted = self.rng.randint(10, 35)
            if not past and starts - self.now > dt.timedelta(days=30):
                wanted //= 3  # sign-ups open about a month ahead
            people = []
            for person in self.rng.sample(volunteers, min(wanted, len(volunteers))):
                if self.rng.random() < 0.6:
                    people.append((person["name"], person["phone"], person["id"]))
                else:
                    people.append((self.name(), self.mobile(), None))
            seated = 0
            hours = (Decimal((ends - starts).seconds) / 3600).quantize(Decimal("0.01"))
            for name, phone, volunteer in people:
                created = min(starts - dt.timedelta(days=self.rng.uniform(0.2, 14)), self.now).replace(microsecond=0)
                if event["status"] == EventStatus.CANCELLED or self.rng.random() < 0.08:
                    status = SignupStatus.CANCELLED
                elif capacity and seated >= capacity:
                    status = SignupStatus.WAITLISTED
                else:
                    seated += 1
                    status = SignupStatus.REGISTERED
                    if past and self.rng.random() < 0.85:
                        status = SignupStatus.CHECKED_IN
                checked_in = status == SignupStatus.CHECKED_IN  # attendance closed: all credited
                signup = self.add(Signup, event=event["id"], name=name, phone=phone, volunteer=volunteer,
                                  status=status, code=self.code(),
                                  checked_in_at=(starts + dt.timedelta(minutes=self.rng.randint(0, 20))
                                                 if checked_in else None),
                                  hours=hours if checked_in else None, hours_note=None, credited=checked_in,
                                  created_at=created, updated_at=ends if checked_in else created)
                if checked_in and volunteer is not None:
                    points = event["points"]  # = hours × POINTS_PER_HOUR, as services.attendance credits
                    self.add_points(volunteer, EntryKind.EARNED, points, hours, event=event["id"],
                                    signup=signup["id"], organiser=event["organiser"], created_at=ends,
                                    description=f"参加活动“{event['title']}”（{starts:%Y-%m-%d}）")
                    balances[volunteer] = balances.get(volunteer, 0) + points
                    earned_at[volunteer] = max(earned_at.get(volunteer, ends), ends)
        self.build_exchanges(balances, earned_at)
        self.build_honours()

    def add_points(self, volunteer, kind, points, hours, *, description, created_at, event=None, signup=None,
                   organiser=None, note=None, item=None):
        self.add(PointsEntry, volunteer=volunteer, kind=kind, points=points,
                 hours=Decimal(hours).quantize(Decimal("0.01")), event=event, signup=signup, corrects=None,
                 organiser=organiser, recorded_by=self.clerk, description=description, note=note, item=item,
                 created_at=created_at)
        self.rows[Volunteer][volunteer - 1]["points_balance"] += points

    def build_exchanges(self, balances, earned_at):
        """Exchanges after the volunteer's last credit, each within the balance left."""
        shop = self.unit_by_name["阳光诺卡超市"]
        for volunteer in sorted(balances):
            if self.rng.random() > 0.4:
                continue
            balance = balances[volunteer]
            moment = earned_at[volunteer]
            for _ in range(self.rng.randint(1, 2)):
                affordable = [item for item in EXCHANGE_ITEMS if item[1] <= balance]
                if not affordable:
                    break
                item, cost = self.rng.choice(affordable)
                moment = min(moment + dt.timedelta(days=self.rng.uniform(1, 10)), self.now).replace(microsecond=0)
                self.add_points(volunteer, EntryKind.EXCHANGED, -cost, 0, organiser=shop, item=item,
                                description=f"积分兑换：{item}", created_at=moment)
                balance -= cost

    def build_honours(self):
        for volunteer in self.rng.sample(self.rows[Volunteer], 10):
            when = self.past(10, 120).replace(microsecond=0)
            self.add_points(volunteer["id"], EntryKind.HONOUR, 0, self.rng.choice((2, 4, 6, 8)),
                            description=f"荣誉时长：{self.rng.choice(HONOUR_REASONS)}", created_at=when,
                            note="由社区按值守记录补录，只记时长不计积分")

    def build_work_orders(self):
        statuses = [s for s, n in ORDER_STATUS_COUNTS.items() for _ in range(n)]
        self.rng.shuffle(statuses)
        cats, weights = list(ORDER_WEIGHTS), list(ORDER_WEIGHTS.values())
        # the clerks' own channels; 线上点单 orders come from residents' needs (build_needs)
        channels = [c for c in Channel.codes() if c != Channel.ONLINE]
        volunteers = [v["id"] for v in self.rows[Volunteer]]

        def h(lo, hi):
            return dt.timedelta(hours=self.rng.uniform(lo, hi))

        orders = []
        for status in statuses:
            category = self.rng.choices(cats, weights)[0]
            channel = self.rng.choices(channels, weights=(40, 25, 20, 15))[0]
            grid = self.rng.randint(1, 19)
            # the steps' durations first, then place the whole chain before now
            steps = {"dispatch": h(0.5, 24), "resolve": h(4, 96), "rate": h(2, 72), "reopen": h(1, 24),
                     "redispatch": h(0.5, 12), "redo": h(12, 96), "revoke": h(1, 48)}
            redone = status == OrderStatus.RATED and self.rng.random() < 0.08
            chain = {
                OrderStatus.ACCEPTED: dt.timedelta(0),
                OrderStatus.DISPATCHED: steps["dispatch"],
                OrderStatus.RESOLVED: steps["dispatch"] + steps["resolve"],
                OrderStatus.RATED: steps["dispatch"] + steps["resolve"] + steps["rate"]
                + ((steps["reopen"] + steps["redispatch"] + steps["redo"] + steps["rate"]) if redone
                   else dt.timedelta(0)),
                OrderStatus.REDO: steps["dispatch"] + steps["resolve"] + steps["rate"] + steps["reopen"],
                OrderStatus.REVOKED: steps["revoke"],
            }[status]
            slack = {OrderStatus.ACCEPTED: (0.05, 2), OrderStatus.DISPATCHED: (0.2, 6),
                     OrderStatus.RESOLVED: (0.2, 10)}.get(status, (3, 300))
            accepted = (self.now - chain - dt.timedelta(days=self.rng.uniform(*slack))).replace(microsecond=0)
            row = dict(channel=channel, requester_name=self.name(),
                       requester_phone=self.mobile() if self.rng.random() < 0.9 else None, grid=grid,
                       category=category,
                       description=self.rng.choice(ORDER_TEXTS[category]).format(
                           place=self.rng.choice(PLACES), b=self.rng.randint(1, 18)),
                       status=status, assignee_unit=None, assignee_volunteer=None, assignee_worker=None,
                       due_at=accepted + dt.timedelta(hours=48 if channel == Channel.HOTLINE else 120
                                                      if category == OrderCategory.FULL_PROXY else 72),
                       result=None, rating=None, rating_note=None, revoke_reason=None,
                       redo_count=1 if redone or status == OrderStatus.REDO else 0,
                       accepted_at=accepted, dispatched_at=None, resolved_at=None, rated_at=None,
                       reopened_at=None, revoked_at=None, created_at=accepted)
            if status == OrderStatus.REVOKED:
                row["revoked_at"] = accepted + steps["revoke"]
                row["revoke_reason"] = self.rng.choice(("诉求人已自行解决，申请撤销", "重复工单，已合并办理"))
            elif status != OrderStatus.ACCEPTED:
                row["dispatched_at"] = accepted + steps["dispatch"]
                who = self.rng.random()
                if who < 0.45:
                    row["assignee_unit"] = self.rng.choice(self.active_units)
                elif who < 0.7:
                    row["assignee_volunteer"] = self.rng.choice(volunteers)
                else:
                    row["assignee_worker"] = self.rows[Grid][grid - 1]["worker"]
            if status in (OrderStatus.RESOLVED, OrderStatus.RATED, OrderStatus.REDO):
                row["resolved_at"] = row["dispatched_at"] + steps["resolve"]
                row["result"] = "已上门核实并处理完毕，已电话告知诉求人。"
            if status in (OrderStatus.RATED, OrderStatus.REDO):
                row["rated_at"] = row["resolved_at"] + steps["rate"]
                row["rating"] = Rating.SATISFIED
                row["rating_note"] = "办理及时，态度很好。"
                if status == OrderStatus.REDO or redone:
                    row["reopened_at"] = row["rated_at"] + steps["reopen"]
                    row["rating"] = Rating.UNSATISFIED
                    row["rating_note"] = "问题反复出现，希望彻底解决。"
                if redone:  # dispatched and handled a second time, then rated satisfied
                    row["dispatched_at"] = row["reopened_at"] + steps["redispatch"]
                    row["resolved_at"] = row["dispatched_at"] + steps["redo"]
                    row["rated_at"] = row["resolved_at"] + steps["rate"]
                    row["rating"] = Rating.SATISFIED
                    row["rating_note"] = "二次办理后问题解决，满意。"
                    row["result"] = "二次办理：协调承办单位彻底整改，已回访确认。"
            last = max(t for t in (row["accepted_at"], row["dispatched_at"], row["resolved_at"], row["rated_at"],
                                   row["reopened_at"], row["revoked_at"]) if t)
            row["updated_at"] = last
            for key in ("dispatched_at", "resolved_at", "rated_at", "reopened_at", "revoked_at", "due_at"):
                if row[key]:
                    row[key] = row[key].replace(microsecond=0)
            orders.append(row)
        # numbered as services.workorders.next_number does: GD + day + sequence of the day
        orders.sort(key=lambda row: row["accepted_at"])
        per_day = {}
        for row in orders:
            day = row["accepted_at"].date()
            per_day[day] = per_day.get(day, 0) + 1
            self.add(WorkOrder, number=f"GD{day:%Y%m%d}{per_day[day]:04d}", **row)

    def build_loops(self):
        """What units and volunteers handle themselves: orders the demo unit holds (one
        dispatched, some in hand), orders in hand with volunteers, accepted orders opened to
        党员接单, events the demo unit organises, and a volunteer's account. Adjusts rows
        already built (no new random draws before this point change)."""
        from werkzeug.security import generate_password_hash

        from models.accounts import PASSWORD_METHOD

        orders = self.rows[WorkOrder]
        dispatched = [o for o in orders if o["status"] == OrderStatus.DISPATCHED]
        for i, order in enumerate(dispatched[:10]):
            if i < 4:  # the demo unit's: the first still to accept, the rest in hand
                order.update(assignee_unit=self.demo_unit, assignee_volunteer=None, assignee_worker=None)
            if i and (order["assignee_unit"] or order["assignee_volunteer"]):
                order["status"] = OrderStatus.IN_HAND
                order["taken_at"] = min(order["dispatched_at"] + dt.timedelta(hours=2), self.now).replace(
                    microsecond=0)
        for order in [o for o in orders if o["status"] == OrderStatus.ACCEPTED][:3]:
            order["open_to_volunteers"] = True
        for order in orders:
            order.setdefault("open_to_volunteers", False)
            order.setdefault("taken_at", None)
        events = sorted((e for e in self.rows[Event] if e["published"] and e["status"] == EventStatus.SCHEDULED),
                        key=lambda e: e["starts_at"])
        past = [e for e in events if e["ends_at"] <= self.now][-2:]
        upcoming = [e for e in events if e["starts_at"] > self.now][:2]
        for event in past + upcoming:
            event["organiser"] = self.demo_unit
        for entry in self.rows[PointsEntry]:
            if entry["event"] in {e["id"] for e in past}:
                entry["organiser"] = self.demo_unit
        earners = {e["volunteer"] for e in self.rows[PointsEntry] if e["kind"] == EntryKind.EARNED}
        volunteer = next(v for v in self.rows[Volunteer] if v["party_member"] and v["id"] in earners)
        username, password, role, _ = DEMO_VOLUNTEER_ACCOUNT
        self.add(User, username=username, display_name=volunteer["name"], role=role, unit=None,
                 volunteer=volunteer["id"], active=True,
                 password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
                 created_at=self.now - dt.timedelta(days=30))
        for user in self.rows[User]:
            user.setdefault("volunteer", None)

    def build_order_steps(self):
        """After build_loops (which sets who holds the orders): the steps of every order."""
        self._unit_names = {u["id"]: u["name"] for u in self.rows[MemberUnit]}
        self._volunteer_names = {v["id"]: v["name"] for v in self.rows[Volunteer]}
        self._unit_user = next((u["id"] for u in self.rows[User] if u["role"] == Role.UNIT), None)
        self.order_steps = [row for order in self.rows[WorkOrder] for row in _order_steps(self, order)]

    # -- writing -----------------------------------------------------------------

    def write(self):
        for model in SEEDED_MODELS:
            _bulk(model, self.rows[model])
        _reset_sequences(SEEDED_MODELS)
        _ensure_categories()
        _bulk(WorkOrderStep, self.order_steps)  # every round of every order (after the orders)
        totals.rebuild()  # the running totals of the ledger and the sign-ups written above
        audit.record("seed_demo", entity="Demo", changes=self.counts())

    def counts(self):
        r = self.rows
        return {"grids": len(r[Grid]), "units": len(r[MemberUnit]), "users": len(r[User]),
                "projects": len(r[Project]), "claims": len(r[Claim]), "reports": len(r[ProgressReport]),
                "teams": len(r[VolunteerTeam]), "volunteers": len(r[Volunteer]), "events": len(r[Event]),
                "signups": len(r[Signup]), "points": len(r[PointsEntry]), "work_orders": len(r[WorkOrder])}

    def unit_kinds(self):
        out = {}
        for row in self.rows[MemberUnit]:
            out[row["kind"]] = out.get(row["kind"], 0) + 1
        return out


# --- the steps of the demo orders: every round (models.WorkOrderStep) -------------------------

FIRST_ROUND_RESULT = "已上门核实并处理完毕，已电话告知诉求人。"
FIRST_ROUND_NOTE = "问题反复出现，希望彻底解决。"


def _order_steps(builder, order):
    """The steps of one demo order, as the ORDERS machine would have written them. A redone
    order's first round (its columns keep only the second) is placed between 受理 and 二次办理."""
    clerk = next(u for u in builder.rows[User] if u["id"] == builder.clerk)
    units = builder._unit_names
    volunteers = builder._volunteer_names
    if order["assignee_unit"]:
        assignee = units[order["assignee_unit"]]
    elif order["assignee_volunteer"]:
        assignee = f"志愿者 {volunteers[order['assignee_volunteer']]}"
    else:
        assignee = order["assignee_worker"]
    by_clerk = dict(actor=clerk["id"], actor_label=clerk["display_name"], by_resident=False)
    by_assignee = dict(actor=builder._unit_user if order["assignee_unit"] == builder.demo_unit else None,
                       actor_label=assignee or "承办方", by_resident=False)
    empty = dict(assignee_label=None, result=None, rating=None, rating_note=None, reason=None)

    def step(round_, kind, at, who, **fields):
        return {"order": order["id"], "round": round_, "kind": kind, "at": at.replace(microsecond=0),
                **who, **{**empty, **fields}}

    out = [step(1, "create", order["accepted_at"], by_clerk)]
    round_ = 1
    if order["reopened_at"]:
        if order["status"] != OrderStatus.REDO:  # redone and finished: round 1 before the reopening
            span = order["reopened_at"] - order["accepted_at"]
            out += [step(1, "dispatch", order["accepted_at"] + span * 0.1, by_clerk, assignee_label=assignee),
                    step(1, "resolve", order["accepted_at"] + span * 0.5, by_clerk, result=FIRST_ROUND_RESULT),
                    step(1, "rate", order["accepted_at"] + span * 0.8, by_clerk, rating=Rating.UNSATISFIED,
                         rating_note=FIRST_ROUND_NOTE)]
        round_ = 2
        out.append(step(2, "redo", order["reopened_at"], by_clerk))
    if order["dispatched_at"] and (order["status"] != OrderStatus.REDO):
        out.append(step(round_, "dispatch", order["dispatched_at"], by_clerk, assignee_label=assignee))
    if order["status"] == OrderStatus.REDO:  # round 1 entirely before the reopening
        out[1:1] = [step(1, "dispatch", order["dispatched_at"], by_clerk, assignee_label=assignee),
                    step(1, "resolve", order["resolved_at"], by_clerk, result=order["result"]),
                    step(1, "rate", order["rated_at"], by_clerk, rating=order["rating"],
                         rating_note=order["rating_note"])]
        return out
    if order["taken_at"]:
        out.append(step(round_, "accept", order["taken_at"], by_assignee, assignee_label=assignee))
    if order["resolved_at"]:
        kind = "report" if order["assignee_unit"] or order["assignee_volunteer"] else "resolve"
        out.append(step(round_, kind, order["resolved_at"], by_assignee if kind == "report" else by_clerk,
                        result=order["result"]))
    if order["rated_at"]:
        out.append(step(round_, "rate", order["rated_at"], by_clerk, rating=order["rating"],
                        rating_note=order["rating_note"]))
    if order["revoked_at"]:
        out.append(step(round_, "revoke", order["revoked_at"], by_clerk, reason=order["revoke_reason"]))
    return out


# --- 微心愿 (issue 10; services/wishes.py) ------------------------------------------------------

# (wish, the unit best placed to make it come true, what it did) — seed 002: 圆梦微心愿
WISHES = (
    ("想要一副老花镜，看报纸、看药品说明书方便些", "金牛眼镜店", "店里为老人免费验光，配好老花镜送到家中，并教老人保养镜片。"),
    ("孙子上小学了，想给他买个新书包和一套文具", "新华书店和平街店", "书店党员送来新书包、文具和两本课外书，孩子当场背上了新书包。"),
    ("家里的收音机坏了，想要一台能听评书和长调的收音机", "乐家家电维修部", "师傅上门修好了旧收音机，又送了一台插卡小音箱，老人能听评书了。"),
    ("腿脚不便出不了门，希望有人上门理发", "红浦便民理发店", "理发师每月上门一次，为老人理发、修面，已服务三次。"),
    ("想学会用智能手机和外地的女儿视频通话", "中国移动和平街营业厅", "营业厅志愿者上门手把手教学，老人已能独立发起视频通话。"),
    ("冬天快到了，想要一床厚棉被", "阳光诺卡超市", "超市捐赠新棉被和电热毯各一件，网格员陪同送到老人家中。"),
    ("厨房水龙头一直漏水，希望有人帮忙修一修", "利民五金店", "五金店师傅上门更换了水龙头和角阀，分文未收。"),
    ("想要一个带座的助行器，方便下楼晒太阳", "兴安大药房和平街店", "药房捐赠带座助行器一台，并教老人正确使用。"),
    ("孩子想要几本课外书：《十万个为什么》《安徒生童话》", "新华书店和平街店", "书店送来 12 本课外书，孩子在“漂流书屋”读书会上分享了读后感。"),
    ("过年了，想请人写一副春联", "红浦社区书画协会", "书画协会会员上门写春联、送福字，还为全楼写了 30 多副。"),
    ("独居在家，希望每周有人来陪着聊聊天", "银龄互助社", "互助社结对两名低龄老人志愿者，每周二、周五上门陪伴。"),
    ("想要一个电子血压计，在家能自己量血压", "红浦社区卫生服务站", "卫生服务站送来血压计，医生教会老人测量并建立了健康档案。"),
    ("老伴卧床，想要一个防褥疮气垫", "阳光助残服务中心", "服务中心协调捐赠防褥疮气垫，并上门指导护理。"),
    ("希望能拍一张全家福", "天骄花店", "花店联系摄影志愿者在“民族团结墙”前为一家四代拍了全家福，装裱后送到家中。"),
    ("想要一套蒙汉双语的儿童绘本", "市图书馆", "图书馆赠送蒙汉双语绘本 10 册，并邀请孩子参加周末亲子阅读。"),
    ("想让孩子参加一次书法兴趣班", "市文化馆", "文化馆为孩子提供一学期免费书法课。"),
    ("家里的电暖气坏了，屋里太冷", "乐家家电维修部", "维修部当天上门更换温控器，电暖气恢复正常。"),
    ("想要一部字大声音大的老人手机", "中国电信和平街营业厅", "营业厅赠送老人手机一部并预存话费，存好了子女和网格员的电话。"),
    ("希望有人陪同去医院复查", "兴安盟人民医院", "医院志愿者全程陪同挂号、检查、取药，并预约了下次复查。"),
    ("想要一个保温饭盒，给在工地干活的儿子送饭", "好邻居便利店", "便利店送来保温饭盒两个。"),
    ("想要一台旧缝纫机，给邻居们缝缝补补", "红浦社区老年协会", "老年协会会员捐出闲置缝纫机，老人在楼道里办起了“缝补角”。"),
    ("孙女学舞蹈，想要一双舞蹈鞋", "比塞塔购物中心", "购物中心商户捐赠舞蹈鞋和练功服各一套。"),
    ("轮椅的刹车坏了，希望能修好", "安心家政服务部", "家政服务部师傅上门修好轮椅刹车，并更换了坐垫。"),
    ("想吃一顿热乎的手把肉", "蒙古包手把肉馆", "肉馆邀请楼里 8 位独居老人一起吃了顿手把肉。"),
    ("楼道灯坏了，晚上上下楼看不见", "北辰物业服务有限公司", "物业当天更换了楼道声控灯，并排查了整栋楼的照明。"),
    ("想订一份鲜牛奶，补补钙", "草原鲜奶吧", "鲜奶吧为老人每天送一瓶鲜奶，连送三个月。"),
    ("想给去世老伴的旧照片翻新一下", "明远电脑维修店", "电脑维修店免费扫描修复老照片并冲印放大。"),
    ("希望有人帮忙办理高龄津贴", "市民政局", "包联干部上门帮老人采集信息，高龄津贴已按月发放。"),
    ("想要几盆好养的花，放在阳台上", "天骄花店", "花店送来绿萝、君子兰各两盆，并讲解了养护方法。"),
    ("家门锁坏了，钥匙总是拧不动", "和平街开锁配钥匙店", "师傅上门更换锁芯，配了三把钥匙，一把交给网格员备用。"),
    ("想要一本大字版的《毛泽东诗词》", "市图书馆", "图书馆送来大字版诗词集，并为老人办理了送书上门服务。"),
    ("孩子牙疼，想找个地方看看牙", "美佳口腔诊所", "诊所为孩子免费检查、补牙，并讲解了护牙知识。"),
)
WISHES_SEED = SEED + 10  # a generator of its own: the rest of the demo stays as it was


def build_wishes(builder):
    """微心愿 across the 19 grids: a few 待审核, some open on the wall, some claimed (the demo
    unit holds two), most 已圆梦 with a note and an approved photo (a handful this month), one
    已下架. Written after the alliance (it needs its grids, units and clerk)."""
    import io

    from PIL import Image, ImageDraw

    from models import Photo, Wish, WishSource, WishStatus
    from services import photos
    from services.wishes import mask_name

    rng = random.Random(WISHES_SEED)
    at = builder.now
    units = {u["name"]: u["id"] for u in builder.rows[MemberUnit] if u["status"] == UnitStatus.ACTIVE}
    merchants = [u["id"] for u in builder.rows[MemberUnit]
                 if u["status"] == UnitStatus.ACTIVE and u["kind"] == UnitKind.MERCHANT]
    month_start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    plan = ([WishStatus.FULFILLED] * 22 + [WishStatus.CLAIMED] * 4 + [WishStatus.PUBLISHED] * 3
            + [WishStatus.PENDING] * 2 + [WishStatus.CLOSED] * 1)
    rows, pictures = [], []

    def picture(colour):
        """A small placeholder photo (four distinct ones, reused: the demo stays fast)."""
        image = Image.new("RGB", (320, 240), colour)
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x, y = rng.randrange(0, 280), rng.randrange(0, 200)
            draw.ellipse((x, y, x + rng.randrange(20, 60), y + rng.randrange(20, 60)),
                         fill=tuple(min(255, c + rng.randrange(30, 90)) for c in colour))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        buffer.seek(0)
        return photos.prepare(buffer)

    results = [picture(c) for c in ((200, 90, 60), (190, 140, 70))]
    requests = [picture(c) for c in ((90, 120, 170), (80, 150, 120))]

    demo_claimed = 0
    for n, ((text, helper, note), status) in enumerate(zip(WISHES, plan), start=1):
        name = builder.name()
        created = builder.past(3, 330) if status != WishStatus.PENDING else builder.past(1, 4)
        row = dict(id=n, text=text, grid=(n - 1) % 19 + 1, requester_name=name, requester_phone=builder.mobile(),
                   display_name=mask_name(name), source=rng.choice((WishSource.ONLINE, WishSource.STAFF)),
                   status=status, claimer=None, approved_at=None, claimed_at=None, fulfilled_at=None,
                   fulfil_note=None, withdrawn_at=None, closed_at=None, close_reason=None,
                   created_by=builder.clerk, created_at=created)
        if status != WishStatus.PENDING:
            row["approved_at"] = created + dt.timedelta(hours=rng.randint(2, 30))
        if status in (WishStatus.CLAIMED, WishStatus.FULFILLED):
            claimer = units.get(helper) or rng.choice(merchants)
            if status == WishStatus.CLAIMED and demo_claimed < 2:
                claimer, demo_claimed = builder.demo_unit, demo_claimed + 1
            row["claimer"] = claimer
            row["claimed_at"] = min(row["approved_at"] + dt.timedelta(days=rng.randint(1, 6)), at)
        if status == WishStatus.FULFILLED:
            done = row["claimed_at"] + dt.timedelta(days=rng.randint(2, 20))
            if n % 5 == 0:  # a handful came true this month: the home page's figure is alive
                done = max(month_start, at - dt.timedelta(days=rng.randint(0, 6)), row["claimed_at"])
            row["fulfilled_at"] = min(done, at)
            row["fulfil_note"] = note
        if status == WishStatus.CLOSED:
            row["closed_at"] = row["approved_at"] + dt.timedelta(days=3)
            row["close_reason"] = "居民家属已自行解决，经本人同意下架。"
        row["updated_at"] = max(v for v in (row["created_at"], row["approved_at"], row["claimed_at"],
                                            row["fulfilled_at"], row["closed_at"]) if v)
        rows.append(row)
        if status == WishStatus.FULFILLED:
            pictures.append((n, "result", results[n % 2], True))
        if n % 3 == 0:
            pictures.append((n, "request", requests[n % 2], status != WishStatus.PENDING))
    _bulk(Wish, rows)
    _reset_sequences([Wish])
    photo_rows = [dict(subject="Wish", subject_id=wish_id, role=role, position=0, content=p.content,
                       thumb=p.thumb, content_type=p.content_type, width=p.width, height=p.height,
                       size=len(p.content), digest=p.digest, approved=approved,
                       approved_at=at if approved else None, approved_by=builder.clerk if approved else None,
                       uploaded_by=None, created_at=at, updated_at=at)
                  for wish_id, role, p, approved in pictures]
    _bulk(Photo, photo_rows)
    return len(rows)


# --- 群众点单 (issue 10; services/needs.py) ----------------------------------------------------

NEEDS_SEED = SEED + 20  # a generator of its own: the rest of the demo stays as it was
NEED_TEXTS = {
    "help": (
        ("{place}{b}号楼独居老人腿脚不便，想请人每周帮忙买一次菜。", OrderCategory.ELDERLY),
        ("家里老人八十多岁了，需要代办高龄津贴认证，子女在外地。", OrderCategory.FULL_PROXY),
        ("{place}{b}号楼老人家中水管冻裂，自己修不了，请帮忙联系师傅。", OrderCategory.ELDERLY),
        ("上班时间办不了居住证明，想预约周六上门办理。", OrderCategory.APPOINTMENT_PROXY),
        ("残疾人两项补贴不会在手机上申请，想请网格员帮忙。", OrderCategory.FULL_PROXY),
        ("老伴住院了，家里八十岁老人一个人，希望志愿者上门看看。", OrderCategory.ELDERLY),
    ),
    "appeal": (
        ("{place}{b}号楼楼道灯坏了两个星期，晚上老人上下楼很危险。", OrderCategory.PROPERTY),
        ("{place}{b}号楼单元门禁坏了，陌生人随便进出。", OrderCategory.SAFETY),
        ("{place}垃圾箱满了好几天没人清运，气味很大。", OrderCategory.ENVIRONMENT),
        ("{place}{b}号楼有人在楼道里给电动车充电，担心着火。", OrderCategory.SAFETY),
        ("楼上{b}0{b}室长期漏水，沟通多次没有结果，请社区调解。", OrderCategory.MEDIATION),
        ("{place}消防通道被私家车长期占用。", OrderCategory.SAFETY),
        ("{place}{b}号楼前的路面塌陷积水，出行不便。", OrderCategory.PROPERTY),
    ),
    "suggestion": (
        ("建议在{place}增设几处休息座椅，老人散步累了能歇歇脚。", OrderCategory.OTHER),
        ("建议社区多组织几次民族团结主题的邻里节活动，孩子们很喜欢。", OrderCategory.OTHER),
        ("建议{place}设一个快递集中存放点，方便上班族取件。", OrderCategory.OTHER),
        ("希望社区开办老年人智能手机培训班。", OrderCategory.POLICY),
    ),
}
NEED_KIND_WEIGHTS = {"help": 35, "appeal": 45, "suggestion": 12}
NEED_REFUSALS = ("属于物业公司职责范围，已转告物业并告知您联系电话。", "该问题已纳入老旧小区改造计划，届时统一解决。",
                 "经核实不属于本社区辖区，已告知所属社区。")
NEED_NOTES = {Rating.SATISFIED: ("办得很快，谢谢社区！", "网格员很负责，满意。", ""),
              Rating.FAIR: ("问题解决了，就是等的时间长了点。", ""),
              Rating.UNSATISFIED: ("问题没有彻底解决，过几天又坏了。", "只处理了一半，希望再来看看。")}


def build_needs(builder):
    """A year of 群众点单 across the 19 grids: most accepted within one working day and handled
    as work orders (线上点单) through to the resident's own rating, some rated 不满意 and redone
    (two rounds), a few refused with a reason, merged into an earlier order, or still 待受理;
    the online 微心愿 came in as needs too. Written after the alliance and the wishes."""
    from models import Need, Wish, WishSource
    from models.needs import CODE_ALPHABET
    from services.needs import one_working_day_after

    rng = random.Random(NEEDS_SEED)
    at = builder.now
    orders = builder.rows[WorkOrder]
    order_id = max((o["id"] for o in orders), default=0)
    per_day = {}
    for o in orders:
        day = o["accepted_at"].date()
        per_day[day] = max(per_day.get(day, 0), int(o["number"][-4:]))
    units = builder.active_units
    workers = {g["id"]: g["worker"] for g in builder.rows[Grid]}
    codes = set()

    def code():
        while True:
            c = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
            if c not in codes:
                codes.add(c)
                return c

    def h(lo, hi):
        return dt.timedelta(hours=rng.uniform(lo, hi))

    needs, new_orders, online = [], [], []
    kinds, weights = list(NEED_KIND_WEIGHTS), list(NEED_KIND_WEIGHTS.values())
    for n in range(236):
        kind = rng.choices(kinds, weights)[0]
        text, category = rng.choice(NEED_TEXTS[kind])
        submitted = (at - dt.timedelta(days=365 * (n + rng.random()) / 236)).replace(microsecond=0)
        submitted = submitted.replace(hour=rng.choice((7, 8, 9, 10, 11, 14, 15, 16, 19, 20, 21)))
        recent = n >= 224  # the last days: the queue and the open orders are alive
        if recent:
            submitted = (at - h(1, 96)).replace(microsecond=0)
        if submitted >= at:
            submitted = at - h(1, 20)
        grid = rng.randint(1, 19) if rng.random() < 0.93 else None
        row = dict(code=code(), kind=kind, text=text.format(place=rng.choice(PLACES), b=rng.randint(1, 18)),
                   name=builder.name(), mobile=builder.mobile(), grid=grid, consent=True,
                   source=rng.choices(("web", "poster", "miniprogram"), (45, 35, 20))[0],
                   status="pending", submitted_at=submitted, accept_due_at=one_working_day_after(submitted),
                   handled_at=None, handled_by=None, refuse_reason=None, work_order=None, merged_into=None,
                   wish_id=None, created_at=submitted)
        handled = submitted + (h(0.3, 20) if rng.random() < (0.4 if recent else 0.86) else h(26, 80))
        roll = rng.random()
        if handled > at:
            pass  # still 待受理
        elif roll < 0.06:
            row.update(status="refused", refuse_reason=rng.choice(NEED_REFUSALS))
        elif roll < 0.14 and online and kind == "appeal":
            target = rng.choice(online[-15:])
            row.update(status="merged", merged_into=target["id"])
        else:
            row["status"] = "accepted"
            order_id += 1
            order = _need_order(rng, builder, row, order_id, handled, category, units, workers, h)
            day = order["accepted_at"].date()
            per_day[day] = per_day.get(day, 0) + 1
            order["number"] = f"GD{day:%Y%m%d}{per_day[day]:04d}"
            row["work_order"] = order_id
            new_orders.append(order)
            online.append(order)
        if row["status"] != "pending":
            row["handled_at"], row["handled_by"] = handled.replace(microsecond=0), builder.clerk
        row["updated_at"] = row["handled_at"] or submitted
        needs.append(row)
    # the online 微心愿 came in as needs, published to the wall by a clerk
    for wish in Wish.select().where(Wish.source == WishSource.ONLINE).order_by(Wish.id):
        submitted = (wish.created_at - h(2, 20)).replace(microsecond=0)
        needs.append(dict(code=code(), kind="wish", text=wish.text, name=wish.requester_name,
                          mobile=wish.requester_phone, grid=wish.grid_id, consent=True, source="web",
                          status="wished", submitted_at=submitted, accept_due_at=one_working_day_after(submitted),
                          handled_at=wish.created_at, handled_by=builder.clerk, refuse_reason=None, work_order=None,
                          merged_into=None, wish_id=wish.id, created_at=submitted, updated_at=wish.created_at))
    for order in new_orders:
        order.setdefault("open_to_volunteers", False)
    steps = []
    for order in new_orders:
        for step in _order_steps(builder, order):
            if step["kind"] == "rate":  # the resident rated it on the tracking page
                step.update(actor=None, actor_label="居民", by_resident=True)
            steps.append(step)
    _fast_bulk(WorkOrder, new_orders)
    _fast_bulk(WorkOrderStep, steps)
    needs.sort(key=lambda r: r["submitted_at"])
    for i, row in enumerate(needs, start=1):
        row["id"] = i
    _fast_bulk(Need, needs)
    _reset_sequences([WorkOrder, Need])
    return len(needs)


def _fast_bulk(model, rows):
    """``executemany`` of one prepared INSERT: peewee's ``insert_many`` spends most of its
    time building the SQL text of every row (measured: 0.9 s of these 1,700 rows)."""
    if not rows:
        return
    names = list(rows[0])
    fields = [model._meta.fields[name] for name in names]
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    marks = ", ".join([db.obj.param] * len(fields))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
    values = [tuple(f.db_value(row[name]) for f, name in zip(fields, names)) for row in rows]
    db.cursor().executemany(sql, values)


def _need_order(rng, builder, need, order_id, accepted, category, units, workers, h):
    """The work order a need became: as far along 派单—办结—评价 (二次办理) as the time since allows."""
    at = builder.now
    accepted = accepted.replace(microsecond=0)
    row = dict(id=order_id, channel=Channel.ONLINE, requester_name=need["name"], requester_phone=need["mobile"],
               grid=need["grid"], category=category, description=need["text"], status=OrderStatus.ACCEPTED,
               assignee_unit=None, assignee_volunteer=None, assignee_worker=None,
               due_at=accepted + dt.timedelta(hours=72), result=None, rating=None, rating_note=None,
               revoke_reason=None, redo_count=0, accepted_at=accepted, dispatched_at=None, resolved_at=None,
               rated_at=None, reopened_at=None, revoked_at=None, taken_at=None, created_at=accepted)
    unit = rng.random() < 0.55 or not need["grid"]
    dispatched = accepted + h(1, 20)
    resolved = dispatched + h(10, 90)
    rated = resolved + h(2, 40)
    rating = rng.choices((Rating.SATISFIED, Rating.FAIR, Rating.UNSATISFIED), (70, 18, 12))[0]
    rates = rng.random() < 0.9
    if dispatched <= at:
        row.update(status=OrderStatus.DISPATCHED, dispatched_at=dispatched)
        if unit:
            row["assignee_unit"] = rng.choice(units)
        else:
            row["assignee_worker"] = workers[need["grid"]]
    if resolved <= at:
        row.update(status=OrderStatus.RESOLVED, resolved_at=resolved,
                   result="已上门查看并处理完毕，已电话告知居民。")
        if unit:
            row["taken_at"] = dispatched + dt.timedelta(hours=1)
    if rated <= at and rates:
        row.update(status=OrderStatus.RATED, rated_at=rated, rating=rating,
                   rating_note=rng.choice(NEED_NOTES[rating]) or None)
        if rating == Rating.UNSATISFIED:
            reopened = rated + h(1, 10)
            redispatched = reopened + h(1, 12)
            redone = redispatched + h(12, 72)
            rerated = redone + h(2, 30)
            if reopened <= at:
                row.update(status=OrderStatus.REDO, reopened_at=reopened, redo_count=1)
            if rerated <= at:  # the second round, rated 满意 (columns keep round 2; steps keep both)
                row.update(status=OrderStatus.RATED, dispatched_at=redispatched, resolved_at=redone,
                           rated_at=rerated, rating=Rating.SATISFIED, rating_note="二次办理后彻底解决了，满意。",
                           result="二次办理：更换了全部损坏部件，回访确认已解决。", taken_at=None)
    for key in ("dispatched_at", "resolved_at", "rated_at", "reopened_at", "taken_at", "due_at"):
        if row[key]:
            row[key] = row[key].replace(microsecond=0)
    row["updated_at"] = max(t for t in (row["accepted_at"], row["dispatched_at"], row["resolved_at"],
                                        row["rated_at"], row["reopened_at"]) if t)
    return row
