"""RemoteKernel.invoke_stream over the sidecar's POST /v1/invoke_stream (docs/design.md section 5),
through the drop-in constructor: the streaming driver runs in this process's DriverHost, the
sidecar streams its chunks back as ndjson Frames, and the client yields them as they arrive."""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from typing import Any

import pytest
from weaver_kernel import (
    Capability,
    CapabilityRegistry,
    DriverError,
    HMACTokenProvider,
    Kernel,
    Principal,
    SafetyClass,
    StaticRouter,
    TokenScopeError,
)
from weaver_kernel.models import RawResult

from capgate import RemoteKernel

SECRET = "stream-test-secret"
ALICE = Principal("alice", ["reader"])
FILL = "x" * 300
# An e-mail address split across two chunks of one field: each chunk alone holds no secret.
SPLIT_SECRET = [{"text": FILL + " mail ali", "n": 1}, {"text": "ce@example.com ok", "n": 2},
                {"text": "tail", "n": 3}]


class Scripted:
    """A StreamingDriver: yields ctx.args["chunks"], raises after `fail_after` of them, or (with
    `forever`) yields until its iteration is stopped. Per `tag` (one per test stream) it counts
    what it yielded and records in `stopped[tag]` that its iteration ended."""

    driver_id = "streamer"

    def __init__(self) -> None:
        self.stopped: collections.defaultdict[str, threading.Event] = collections.defaultdict(threading.Event)
        self.yielded: collections.Counter[str] = collections.Counter()

    async def execute(self, ctx) -> RawResult:
        return RawResult(capability_id=ctx.capability_id, data={"unused": True})

    async def execute_stream(self, ctx):
        args = ctx.args
        tag = args.get("tag", "")
        try:
            await asyncio.sleep(args.get("delay", 0))
            if args.get("forever"):
                while True:
                    self.yielded[tag] += 1
                    yield {"i": self.yielded[tag]}
                    await asyncio.sleep(0.01)
            for i, chunk in enumerate(args.get("chunks", [])):
                if i == args.get("fail_after"):
                    raise DriverError(f"stream broke after {i}")
                yield chunk
        finally:
            self.stopped[tag].set()


def _kernels() -> tuple[RemoteKernel, Kernel, HMACTokenProvider, Scripted]:
    reg = CapabilityRegistry()
    reg.register(Capability(capability_id="docs.read", name="Read", description="Read docs",
                            safety_class=SafetyClass.READ))
    provider = HMACTokenProvider(secret=SECRET)
    routes = {"docs.read": ["streamer"]}
    remote = RemoteKernel(registry=reg, token_provider=provider, router=StaticRouter(routes=routes))
    driver = Scripted()
    remote.register_driver(driver)
    reference = Kernel(registry=reg, token_provider=provider, router=StaticRouter(routes=routes))
    reference.register_driver(Scripted())
    return remote, reference, provider, driver


@pytest.fixture(scope="module")
def kernels():
    remote, reference, provider, driver = _kernels()
    try:
        yield remote, reference, provider, driver
    finally:
        remote.close()


def _collect(kernel: Any, provider: HMACTokenProvider, args: dict[str, Any], mode: str = "summary") -> list:
    async def run() -> list:
        return [f async for f in kernel.invoke_stream(provider.issue("docs.read", "alice"), principal=ALICE,
                                                      args=args, response_mode=mode)]
    return asyncio.run(run())


def _view(frames: list) -> list:
    """Everything but the ids and times (action ids, handle ids, provenance timestamps)."""
    return [(f.capability_id, f.response_mode, f.facts, f.table_preview, f.raw_data, f.warnings,
             f.handle is not None, f.is_final) for f in frames]


@pytest.mark.parametrize("mode", ["summary", "table"])
def test_frames_equal_the_reference_and_a_split_secret_is_redacted(kernels, mode):
    remote, reference, provider, _ = kernels
    args = {"chunks": SPLIT_SECRET}
    frames = _collect(remote, provider, args, mode)
    expected = _collect(reference, provider, args, mode)
    assert _view(frames) == _view(expected)
    assert [f.is_final for f in frames] == [False, False, False, True]
    text = repr(_view(frames))
    assert "ce@example.com" not in text and "alice@example.com" not in text
    assert len({f.action_id for f in frames}) == 1  # one action, one trace for the whole stream
    assert remote.explain(frames[0].action_id).driver_id == "streamer"


def test_frames_arrive_as_the_driver_yields_them(kernels):
    """The first frame reaches the caller while the driver is still producing (not buffered
    until the end): a `forever` stream would otherwise never yield at all."""
    remote, _, provider, driver = kernels

    async def first() -> Any:
        async for frame in remote.invoke_stream(provider.issue("docs.read", "alice"), principal=ALICE,
                                                args={"forever": True, "tag": "first"}):
            return frame

    frame = asyncio.run(asyncio.wait_for(first(), 30))
    assert frame.is_final is False and frame.capability_id == "docs.read"
    assert driver.stopped["first"].wait(10)


def test_breaking_out_resets_the_stream_and_stops_the_driver(kernels):
    remote, _, provider, driver = kernels

    async def two() -> list:
        got = []
        async for frame in remote.invoke_stream(provider.issue("docs.read", "alice"), principal=ALICE,
                                                args={"forever": True, "tag": "break"}):
            got.append(frame)
            if len(got) == 2:
                break
        return got

    assert len(asyncio.run(two())) == 2
    # The kernel (and its connection) stays open: only the RST_STREAM can tell the sidecar.
    assert driver.stopped["break"].wait(10), "the driver kept streaming after the client left the iteration"
    settled = driver.yielded["break"]
    time.sleep(0.3)
    assert driver.yielded["break"] == settled  # no longer iterated
    # the same connection still serves the next stream
    assert [f.is_final for f in _collect(remote, provider, {"chunks": [{"a": 1}]})] == [False, True]


def test_cancelling_the_caller_stops_the_driver(kernels):
    remote, _, provider, driver = kernels

    async def consume(seen: asyncio.Event) -> None:
        async for _ in remote.invoke_stream(provider.issue("docs.read", "alice"), principal=ALICE,
                                            args={"forever": True, "tag": "cancel"}):
            seen.set()

    async def run() -> None:
        seen = asyncio.Event()
        task = asyncio.create_task(consume(seen))
        await asyncio.wait_for(seen.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert driver.stopped["cancel"].wait(10), "the driver kept streaming after the caller was cancelled"


def test_cancelling_before_the_first_frame_stops_the_driver(kernels):
    """No answer yet (the sidecar answers with the first frame), so no stream to reset: the
    client retires the connection, whose close cancels the driver; the next call reconnects."""
    remote, _, provider, driver = kernels

    async def run() -> None:
        it = remote.invoke_stream(provider.issue("docs.read", "alice"), principal=ALICE,
                                  args={"delay": 30, "forever": True, "tag": "early"})
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(it.__anext__(), 0.5)
        await it.aclose()

    asyncio.run(run())
    # stopped in its 30 s delay: only the cancellation can have ended it
    assert driver.stopped["early"].wait(10), "the driver ran on after its caller was cancelled"
    assert [f.is_final for f in _collect(remote, provider, {"chunks": [{"a": 1}]})] == [False, True]


def test_an_error_mid_stream_raises_after_the_earlier_frames(kernels):
    remote, reference, provider, _ = kernels
    args = {"chunks": [{"n": 1}, {"n": 2}, {"n": 3}], "fail_after": 2}

    async def run(kernel: Any) -> tuple[list, BaseException | None]:
        got: list = []
        try:
            async for frame in kernel.invoke_stream(provider.issue("docs.read", "alice"), principal=ALICE, args=args):
                got.append(frame)
        except Exception as exc:  # noqa: BLE001 - compared below
            return got, exc
        return got, None

    frames, exc = asyncio.run(run(remote))
    ref_frames, ref_exc = asyncio.run(run(reference))
    assert isinstance(exc, DriverError) and isinstance(ref_exc, DriverError)
    assert "stream broke after 2" in str(exc)
    assert _view(frames) == _view(ref_frames) and len(frames) == 2
    assert exc.code is not None and exc.status == 200  # the final error line of a 200 stream


def test_an_error_before_the_first_frame_is_the_envelope(kernels):
    remote, _, provider, _ = kernels

    async def run() -> list:
        return [f async for f in remote.invoke_stream(provider.issue("docs.read", "bob"), principal=ALICE,
                                                      args={"chunks": [{"a": 1}]})]

    with pytest.raises(TokenScopeError) as ei:
        asyncio.run(run())
    assert ei.value.status != 200
