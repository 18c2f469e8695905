"""What an import's page shows: its progress (counts, rate, time left, the
bar's segments) and what cancelling or deleting its upload would lose."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from adminpanel.lib.leased_run import is_stale

from .jobs import WAITING_HINT_AFTER, shown_state
from .models import DONE_STATES, ImportJob, JobState, MessageState

#: States of a message the server has answered for (or may have: unknown).
SENT_STATES = (
    MessageState.DELIVERED,
    MessageState.DISCARDED,
    MessageState.REFUSED,
    MessageState.UNKNOWN,
)
#: The bar's segments, left to right: (name, the states it counts).
SEGMENTS = (
    ("delivered", (MessageState.DELIVERED, MessageState.DISCARDED)),
    ("failed", (MessageState.REFUSED, MessageState.UNKNOWN)),
    ("not-sent", (MessageState.CANCELLED,)),
)


def _number(value: int) -> str:
    return f"{value:,}"


def _duration(seconds: float) -> str:
    """``about 40 s``, ``about 3 min``, ``about 2 h 5 min``."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"


@dataclass(frozen=True)
class Progress:
    state: JobState
    total: int | None
    total_bytes: int | None
    counts: dict[str, int]
    #: Messages in a final state (sent, or never to be sent).
    done: int
    done_bytes: int
    #: Bytes of the messages sent (see :attr:`sent`).
    sent_bytes: int
    #: Messages delivered per second, and their bytes, in the current (or last)
    #: run: only what reached a mailbox counts, never messages left unsent.
    rate: float | None
    byte_rate: float | None
    elapsed_seconds: float | None

    @property
    def failures(self) -> int:
        return self.counts[MessageState.REFUSED] + self.counts[MessageState.UNKNOWN]

    @property
    def sent(self) -> int:
        """Messages the server answered for (delivered, discarded, refused, unknown)."""
        return sum(self.counts[state] for state in SENT_STATES)

    @property
    def not_sent(self) -> int:
        """Messages that will never be sent (the import was cancelled)."""
        return self.counts[MessageState.CANCELLED]

    @property
    def waiting(self) -> int:
        return self.counts[MessageState.PENDING] + self.counts[MessageState.SENDING]

    @property
    def percent(self) -> int | None:
        """How much of the import was sent."""
        if not self.total:
            return 100 if self.total == 0 and self.state == JobState.FINISHED else None
        return min(100, int(100 * self.sent / self.total))

    @property
    def is_final(self) -> bool:
        return self.state in (JobState.FINISHED, JobState.CANCELLED, JobState.FAILED)

    @property
    def eta_seconds(self) -> float | None:
        """Time left at the current delivery rate, while a worker runs the import."""
        if self.state != JobState.RUNNING or not self.rate or self.total is None:
            return None
        return self.waiting / self.rate

    def segments(self) -> list[dict[str, object]]:
        """The bar's parts as percentages of the total: ``x`` and ``width``."""
        total = self.total or 0
        parts: list[dict[str, object]] = []
        start = 0.0
        for name, states in SEGMENTS:
            count = sum(self.counts[state] for state in states)
            width = 100 * count / total if total else 0.0
            parts.append({"name": name, "x": f"{start:.2f}%", "width": f"{width:.2f}%"})
            start += width
        return parts

    def sentence(self) -> str:
        """The figures that matter for the state, in words that follow its label
        ("Cancelled" + " after 32 of 100 messages: ...")."""
        total = _number(self.total) if self.total is not None else "?"
        sent = f"{_number(self.sent)} of {total} messages"
        delivered = _number(self.counts[MessageState.DELIVERED])
        if self.state == JobState.QUEUED:
            return "nothing has been sent yet."
        if self.state == JobState.RUNNING:
            if self.total is None:
                return f"reading the archive; {_number(self.sent)} messages sent."
            left = self.eta_seconds
            eta = f"; {_duration(left)} left" if left is not None else ""
            return f"{sent} sent{eta}."
        if self.state == JobState.FINISHED:
            failed = f", {_number(self.failures)} not delivered" if self.failures else ""
            return f"{sent} sent, {delivered} delivered{failed}."
        if self.state == JobState.CANCELLED:
            return f"after {sent}: {delivered} delivered, {_number(self.not_sent)} never sent."
        # Interrupted or stopped.
        waiting = f"; {_number(self.waiting)} not sent yet" if self.waiting else ""
        return f"after {sent}: {delivered} delivered{waiting}."

    def texts(self) -> dict[str, str]:
        """The figures as the page shows them; the page's script sets the same
        texts from the JSON, so a reload and a refresh look alike."""
        total = _number(self.total) if self.total is not None else "counting…"
        if self.total_bytes is not None:
            volume = f"{filesizeformat(self.sent_bytes)} of {filesizeformat(self.total_bytes)}"
        else:
            volume = filesizeformat(self.sent_bytes)
        if self.rate is not None and self.byte_rate is not None:
            rate = f"{self.rate:.0f} delivered/s ({filesizeformat(self.byte_rate)}/s)"
        else:
            rate = "not yet known"
        eta = self.eta_seconds
        percent = f"({self.percent}%)" if self.percent is not None else ""
        value_text = f"{_number(self.sent)} of {total} sent"
        if self.not_sent:
            value_text += f", {_number(self.not_sent)} never sent"
        return {
            "state_label": self.state.label,
            "sentence": self.sentence(),
            "sent": _number(self.sent),
            "done": _number(self.done),
            "total": total,
            "percent": percent,
            "value_text": value_text,
            "volume": volume,
            "rate": rate,
            "eta": _duration(eta) if eta is not None else "",
            "delivered": _number(self.counts[MessageState.DELIVERED]),
            "discarded": _number(self.counts[MessageState.DISCARDED]),
            "refused": _number(self.counts[MessageState.REFUSED]),
            "unknown": _number(self.counts[MessageState.UNKNOWN]),
            "cancelled": _number(self.not_sent),
            "waiting": _number(self.waiting),
            "failures": _number(self.failures),
        }

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "final": self.is_final,
            "total": self.total,
            "done": self.done,
            "sent": self.sent,
            "not_sent": self.not_sent,
            "waiting": self.waiting,
            "total_bytes": self.total_bytes,
            "done_bytes": self.done_bytes,
            "sent_bytes": self.sent_bytes,
            "percent": self.percent,
            "delivered": self.counts[MessageState.DELIVERED],
            "discarded": self.counts[MessageState.DISCARDED],
            "refused": self.counts[MessageState.REFUSED],
            "unknown": self.counts[MessageState.UNKNOWN],
            "cancelled": self.counts[MessageState.CANCELLED],
            "rate": self.rate,
            "byte_rate": self.byte_rate,
            "eta_seconds": self.eta_seconds,
            "elapsed_seconds": self.elapsed_seconds,
            "segments": self.segments(),
            "texts": self.texts(),
        }


@dataclass(frozen=True)
class RunStart:
    """What was delivered when a run started: the delivery rate's baseline."""

    delivered: int
    delivered_bytes: int


def delivered_so_far(job: ImportJob) -> RunStart:
    found = job.messages.filter(state=MessageState.DELIVERED).aggregate(
        n=Count("id"), size=Sum("size")
    )
    return RunStart(delivered=found["n"] or 0, delivered_bytes=found["size"] or 0)


def progress(job: ImportJob) -> Progress:
    counts = dict.fromkeys(MessageState.values, 0)
    sizes = dict.fromkeys(MessageState.values, 0)
    rows = job.messages.values("state").annotate(n=Count("id"), size=Sum("size"))
    for row in rows:
        counts[row["state"]] = row["n"]
        sizes[row["state"]] = row["size"] or 0
    done = sum(counts[state] for state in DONE_STATES)
    done_bytes = sum(sizes[state] for state in DONE_STATES)
    rate = byte_rate = elapsed = None
    if job.run_started_at is not None:
        until = job.finished_at or job.heartbeat_at or timezone.now()
        if job.state == JobState.RUNNING and not is_stale(job):
            until = timezone.now()
        elapsed = max(0.0, (until - job.run_started_at).total_seconds())
        if elapsed > 0:
            rate = max(0, counts[MessageState.DELIVERED] - job.run_start_done) / elapsed
            byte_rate = max(0, sizes[MessageState.DELIVERED] - job.run_start_bytes) / elapsed
    return Progress(
        state=shown_state(job),
        total=job.total,
        total_bytes=job.total_bytes,
        counts=counts,
        done=done,
        done_bytes=done_bytes,
        sent_bytes=sum(sizes[state] for state in SENT_STATES),
        rate=rate,
        byte_rate=byte_rate,
        elapsed_seconds=elapsed,
    )


@dataclass(frozen=True)
class Stakes:
    """What cancelling an import or deleting its upload would leave behind,
    from :func:`progress`: the figures its confirmation page states."""

    state: JobState
    #: The archive was read to its end, so every message has a row.
    counted: bool
    total: int | None
    delivered: int
    #: Accepted, then discarded by the user's filter.
    filtered: int
    refused: int
    unknown: int
    #: Being sent by a worker that runs: it finishes them and records their outcome.
    in_flight: int
    #: Claimed by a worker that stopped: they will be marked "outcome unknown".
    stranded: int
    #: Never sent: after a cancel or a discard, they will never be sent.
    unsent: int

    @property
    def unknown_after(self) -> int:
        """Messages whose outcome is unknown once the stranded ones are marked."""
        return self.unknown + self.stranded

    @property
    def loses_nothing(self) -> bool:
        """Every message was sent and none has an unknown outcome: the upload
        can no longer serve anything."""
        return self.counted and not (self.unsent or self.in_flight or self.unknown_after)


def stakes(job: ImportJob) -> Stakes:
    now = progress(job)
    counts = now.counts
    sending = counts[MessageState.SENDING]
    live = now.state == JobState.RUNNING  # a running job whose worker went silent is not
    return Stakes(
        state=now.state,
        counted=job.split_done,
        total=now.total,
        delivered=counts[MessageState.DELIVERED],
        filtered=counts[MessageState.DISCARDED],
        refused=counts[MessageState.REFUSED],
        unknown=counts[MessageState.UNKNOWN],
        in_flight=sending if live else 0,
        stranded=0 if live else sending,
        unsent=counts[MessageState.PENDING],
    )


def waiting_for_worker(job: ImportJob) -> bool:
    return job.state == JobState.QUEUED and timezone.now() - job.created_at > WAITING_HINT_AFTER
