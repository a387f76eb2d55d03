"""The dictation domain's background tasks (registered in autoscribe.tasks): transcription runs
on the "dictation" queue, never on a request thread; audio past retention is purged hourly."""

from __future__ import annotations

from autoscribe.dictation import service
from autoscribe.queue.runner import Periodic, TaskSpec

TASKS = (
    TaskSpec(service.PARTIAL_JOB, service.run_partial),
    # A transcription that takes longer than this is presumed dead and claimed again.
    TaskSpec(service.FINAL_JOB, service.run_final, on_failure=service.final_failed, lease_seconds=600),
)
# One transcription at a time per worker: the model already uses AUTOSCRIBE_ASR_THREADS cores.
QUEUE_THREADS = {"dictation": 1}
PERIODIC = (Periodic("dictation.purge_audio", "dictation", 3600.0, service.purge_expired_audio),)
