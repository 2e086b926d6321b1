"""Every entity of the alliance platform, importable without an app:

    from models import MemberUnit, Project, Claim
"""
from .accounts import AccountActivation, ApiToken, AuditLog, LoginAttempt, LoginSession, Role, SessionEnd, User
from .alliance import Grid, MemberUnit, UnitKind, UnitStatus
from .base import SHANGHAI, BaseModel, Choices, clock, db, now
from .dataversion import DataVersion
from .events import Event, EventCategory, EventStatus, Signup, SignupStatus
from .imports import ImportJob, ImportStatus
from .media import Photo
from .notices import DeliveryStatus, Notice, NoticeDelivery
from .points import AppendOnlyError, EntryKind, PointsEntry
from .projects import Claim, ClaimStatus, Line, ProgressReport, Project, ProjectCategory, ProjectStatus
from .ratelimit import RateLimitCounter
from .registrations import ApplicationStatus, VolunteerApplication
from .volunteers import Volunteer, VolunteerStatus, VolunteerTeam
from .workorders import Channel, OrderCategory, OrderStatus, Rating, StepKind, WorkOrder, WorkOrderStep

# In dependency order: creating tables walks it forwards, dropping backwards.
ALL_MODELS = [
    Grid, VolunteerTeam, Volunteer, MemberUnit, User, LoginAttempt, ApiToken, AuditLog, LoginSession,
    Project, Claim, ProgressReport,
    Event, Signup, PointsEntry, WorkOrder,
    Photo, Notice,
    RateLimitCounter,
    NoticeDelivery, AccountActivation, VolunteerApplication,
    ProjectCategory, ImportJob,
    WorkOrderStep,
    DataVersion,
]

__all__ = [m.__name__ for m in ALL_MODELS] + [
    "ALL_MODELS", "SHANGHAI", "AppendOnlyError", "ApplicationStatus", "BaseModel", "Channel", "Choices",
    "ClaimStatus", "DeliveryStatus",
    "EntryKind", "EventCategory", "EventStatus", "ImportStatus", "Line", "OrderCategory", "OrderStatus",
    "ProjectStatus", "Rating", "Role", "SessionEnd", "SignupStatus", "StepKind", "UnitKind", "UnitStatus",
    "VolunteerStatus", "clock", "db", "now",
]

# 群众点单 (models/needs.py): residents' own requests, with their tracking code
from .needs import Need, NeedKind, NeedSource, NeedStatus  # noqa: E402

ALL_MODELS.append(Need)
__all__ += ["Need", "NeedKind", "NeedSource", "NeedStatus"]

# 微心愿 (issue 10): the wall, claimed by one unit, fulfilled with a photo
from .wishes import Wish, WishSource, WishStatus  # noqa: E402

ALL_MODELS.append(Wish)
__all__ += ["Wish", "WishSource", "WishStatus"]
