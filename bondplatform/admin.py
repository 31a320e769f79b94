"""django-q2's records, to look at only.

A schedule names any importable function and its arguments, and the worker
calls it as the service itself: one added in the admin would run past every
gate, with no audit row. The service's recurring jobs are listed in code
(`investments/schedules.py`) and set by `migrate`. The queue and the record of
tasks run are the service's own work and its trace: deleting a queued task
would drop work (a refund to send), deleting a record would hide what ran. The
one action kept is django-q2's "resubmit" of a failed task, which runs the
service's own task again with its own arguments.
"""

from django.contrib import admin
from django_q.models import Failure, OrmQ, Schedule, Success


class ViewOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


for model in (Schedule, Success, Failure, OrmQ):
    if admin.site.is_registered(model):
        registered = type(admin.site.get_model_admin(model))
        admin.site.unregister(model)
        admin.site.register(model, type(f"ViewOnly{registered.__name__}", (ViewOnly, registered), {}))
