"""Every background task and webhook refresher of the platform, declared by each domain in its
own `tasks.py` and gathered here explicitly: nothing is registered by importing a module.

`autoscribe worker` (and the in-process worker of `autoscribe serve`) runs these; the queues are
"webhooks" (the outbox dispatcher) and the first part of each task kind.
"""

from __future__ import annotations

from autoscribe.dictation import tasks as dictation_tasks
from autoscribe.queue.runner import Periodic, TaskSpec
from autoscribe.reports import tasks as reports_tasks
from autoscribe.users import tasks as users_tasks
from autoscribe.webhooks.outbox import EventRefresher

WEBHOOKS_QUEUE = "webhooks"

TASKS: dict[str, TaskSpec] = {
    spec.kind: spec for spec in (*reports_tasks.TASKS, *dictation_tasks.TASKS, *users_tasks.TASKS)
}
PERIODIC: tuple[Periodic, ...] = (*dictation_tasks.PERIODIC,)
WEBHOOK_REFRESHERS: dict[str, EventRefresher] = {**reports_tasks.WEBHOOK_REFRESHERS}
QUEUES: tuple[str, ...] = (WEBHOOKS_QUEUE, *sorted({spec.queue for spec in TASKS.values()}))
# Tasks of one queue a worker runs at once. PDF rendering is short and partly outside the GIL, so
# a burst of signatures renders in parallel; a transcription already keeps the CPUs busy.
QUEUE_THREADS: dict[str, int] = {"reports": 4, **dictation_tasks.QUEUE_THREADS}
