"""What every file of one run shares: the S3 handles and retry policy, the dataset's layout,
manifest and partial files, the split and buffer settings, and the run (its counters and
listener)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._local.layout import DatasetLayout
from .._local.manifest import LocalManifest
from .._local.partials import PartialFiles, current_boot
from .._progress import ProgressCallback
from .._retry import RetryPolicy
from .._run import Run
from .._s3.getter import Getter
from .buffers import BufferBudget
from .landing_gate import LandingGate
from .ranges import ranges_in_flight
from .writes import SmallWrites

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from .._config import IngestConfig
    from .._config.config import VerifyOption
    from .._s3.client import S3Handles


@dataclass(frozen=True, slots=True)
class TransferContext:
    """What every file of one run shares."""

    client: Callable[[], Awaitable[S3Client]]  # opens aiobotocore on first use
    getter: Getter
    bucket: str
    layout: DatasetLayout
    manifest: LocalManifest
    workers_per_file: int
    part_size: int
    chunk_size: int
    retry: RetryPolicy
    run: Run
    small_writes: SmallWrites
    buffers: BufferBudget
    partials: PartialFiles
    verify: VerifyOption = "auto"
    gate: LandingGate = field(default_factory=LandingGate)

    @property
    def notify(self) -> ProgressCallback:
        """The run's progress listener: progress has this one channel."""
        return self.run.notify

    @classmethod
    def for_run(
        cls,
        config: IngestConfig,
        s3: S3Handles,
        layout: DatasetLayout,
        manifest: LocalManifest,
        run: Run,
        *,
        sizes: Sequence[int] = (),
        gate: LandingGate | None = None,
    ) -> TransferContext:
        """The context of one run (or one worker's share of it) from its configuration;
        ``sizes``, the objects it will fetch if known, let the buffers be shared fairly;
        ``gate``: where finished files wait while the listing is checked (none: they land
        at once)."""
        return cls(
            client=s3.client,
            getter=s3.getter,
            bucket=config.s3_bucket_name,
            layout=layout,
            manifest=manifest,
            workers_per_file=config.workers_per_file,
            part_size=config.part_size,
            chunk_size=config.chunk_size,
            retry=s3.retry,
            run=run,
            small_writes=SmallWrites(),
            buffers=BufferBudget(
                config.chunk_size,
                ranges_per_file=config.workers_per_file,
                most_ranges=config.max_requests,
                in_flight=ranges_in_flight(config, sizes),
            ),
            partials=PartialFiles(
                layout, config.s3_bucket_name, current_boot(), min_size=config.part_size
            ),
            verify=config.verify,
            gate=gate or LandingGate(),
        )
