"""项目分类 in the admin: renaming a category renames it on its projects (same transaction,
audited); a category still in use is switched off (启用 = 否), never deleted."""
from models import Project
from services import audit


class ProjectCategoryRulesMixin:
    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if is_created:
            return
        old = type(model).select(type(model).name).where(type(model).id == model.id).scalar()
        if old and old != model.name:
            for project in Project.select(Project.id, Project.category).where(Project.category == old):
                audit.record("update", project, changes={"category": [old, model.name]})
            Project.update(category=model.name).where(Project.category == old).execute()

    def dependents(self, model):
        out = super().dependents(model)
        used = Project.select().where(Project.category == model.name).count()
        if used:
            out.append((Project._meta.verbose_name, used))
        return out
