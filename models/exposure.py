"""What an entity shows the outside world, declared once on the model.

A model opts in with ``Meta.api`` beside ``Meta.public_fields``::

    class Meta:
        public_fields = ("id", "title", "category", "starts_at", ...)
        api = dict(
            path="events",                          # /api/v1/events and /api/v1/events/{id}
            visible={"published": True},            # the rows anyone may see
            filters=("category", "status",          # ?category=… (equality)
                     ("date_from", "starts_at", ">="),
                     ("date_to", "starts_at", "<=")),
            sorts=("starts_at", "title", "id"),     # ?sort=starts_at | ?sort=-starts_at
            default_sort="starts_at",
        )

Optional keys: ``computed`` ({name: (json type, 中文说明)} read as attributes),
``scope="own"`` with ``owner`` (rows belong to the caller's unit through that field)
and ``permission`` (what the caller must hold, asked through auth.permissions).

The JSON serializer, the list filters and sorts, the OpenAPI document (``api/``) and
the admin's filter list (``admin_filters``) are all derived from this one declaration,
so adding a public entity is a declaration, not a new view module.
"""
from dataclasses import dataclass, field as dc_field

from peewee import ForeignKeyField

OPERATORS = ("=", ">=", "<=")


class DeclarationError(Exception):
    """A ``Meta.api`` that names a field the model lacks: caught at start-up."""


@dataclass(frozen=True)
class Filter:
    param: str
    field: object  # a peewee Field
    op: str = "="


@dataclass
class Exposure:
    model: type
    path: str
    fields: list
    visible: dict
    filters: dict
    sorts: tuple
    default_sort: str
    computed: dict = dc_field(default_factory=dict)
    scope: str = "public"
    owner: str = None
    permission: str = None

    @property
    def name(self):
        return self.model._meta.verbose_name

    @property
    def foreign_keys(self):
        return [f for f in self.fields if isinstance(f, ForeignKeyField)]


def exposure_of(model):
    """The checked declaration of ``model``, or None when it declares no ``Meta.api``."""
    spec = getattr(model._meta, "api", None)
    if spec is None:
        return None
    return _build(model, spec)


def shape_of(model):
    """The public shape of a model that is shown inside another resource (no routes)."""
    return _build(model, getattr(model._meta, "api", None) or {"path": None})


def _build(model, spec):
    meta = model._meta

    def field(name):
        if name not in meta.fields:
            raise DeclarationError(f"{model.__name__}.Meta.api names unknown field {name!r}")
        return meta.fields[name]

    public = getattr(meta, "public_fields", None)
    if not public:
        raise DeclarationError(f"{model.__name__} declares Meta.api but no Meta.public_fields")
    filters = {}
    for item in spec.get("filters", ()):
        param, name, op = (item, item, "=") if isinstance(item, str) else item
        if op not in OPERATORS:
            raise DeclarationError(f"{model.__name__}: unknown filter operator {op!r}")
        filters[param] = Filter(param, field(name), op)
    sorts = tuple(spec.get("sorts", ("id",)))
    for name in sorts:
        # a sort must walk an index, or a big table is sorted on every page
        if not (field(name).index or field(name).unique or field(name).primary_key):
            raise DeclarationError(f"{model.__name__}: sort field {name!r} has no index")
    default_sort = spec.get("default_sort", sorts[0])
    if default_sort.lstrip("-") not in sorts:
        raise DeclarationError(f"{model.__name__}: default_sort {default_sort!r} is not in sorts")
    visible = dict(spec.get("visible", {}))
    for name in visible:
        field(name)
    scope = spec.get("scope", "public")
    owner = spec.get("owner")
    if scope == "own":
        field(owner)
    return Exposure(
        model=model, path=spec["path"], fields=[field(n) for n in public], visible=visible,
        filters=filters, sorts=sorts, default_sort=default_sort,
        computed=dict(spec.get("computed", {})), scope=scope, owner=owner,
        permission=spec.get("permission"),
    )


def exposures(models=None):
    """Every declared entity, in the order of ``models.ALL_MODELS``."""
    if models is None:
        from . import ALL_MODELS as models
    return [e for e in (exposure_of(m) for m in models) if e is not None]


def admin_filters(model, *extra):
    """Field names the admin list can filter by: the API's filter fields, then ``extra``."""
    exposure = exposure_of(model)
    names = []
    for f in (exposure.filters.values() if exposure else ()):
        if f.field.name not in names:
            names.append(f.field.name)
    return tuple(names) + tuple(n for n in extra if n not in names)
