"""The hub: every subscriber gets every frame once, in order; a paced pump; bounded memory."""

from __future__ import annotations

import asyncio

from server.services.streaming.events import Frame, RingChannel, keepalive
from server.services.streaming.fanout import RunHub


def frames(*numbers: int) -> list[Frame]:
    return [Frame(n, n, f"id: {n}\n\n".encode()) for n in numbers]


async def test_a_quiet_subscriber_gets_keepalives_and_a_busy_one_frames() -> None:
    hub = RunHub(queue_limit=2)
    quiet, busy = hub.subscribe("run_a"), hub.subscribe("run_b")
    ticker = asyncio.create_task(keepalive(0.05))
    try:
        assert await asyncio.wait_for(quiet.wait(), 1.0) is False  # a keepalive is due
        hub.publish("run_b", frames(1))
        assert await asyncio.wait_for(busy.wait(), 1.0) is True
        assert [f.last for f in busy.drain()] == [1]
        hub.publish("run_b", frames(2, 3, 4))  # more than the hub keeps
        assert busy.overflowed  # it must catch up from storage
        busy.skip()
        assert not busy.pending
        hub.publish("run_b", frames(5))
        assert [f.last for f in busy.drain()] == [5]
    finally:
        ticker.cancel()


async def test_a_thousand_subscribers_each_get_every_frame_once_in_order() -> None:
    hub = RunHub(per_pass=64)
    got: list[list[int]] = [[] for _ in range(1000)]

    async def client(i: int) -> None:
        sub = hub.subscribe("run")
        while len(got[i]) < 30:
            await sub.wait()
            got[i].extend(frame.last for frame in sub.drain())

    clients = [asyncio.create_task(client(i)) for i in range(1000)]
    await asyncio.sleep(0)  # all subscribed
    for n in range(1, 31, 3):
        hub.publish("run", frames(n, n + 1, n + 2))
        await asyncio.sleep(0.001)
    await asyncio.wait_for(asyncio.gather(*clients), 10)
    assert all(numbers == list(range(1, 31)) for numbers in got)


async def test_the_pump_wakes_a_few_clients_per_pass_of_the_loop() -> None:
    hub = RunHub(per_pass=3)
    subs = [hub.subscribe("run") for _ in range(10)]
    waits = [asyncio.ensure_future(sub.wait()) for sub in subs]
    await asyncio.sleep(0)  # everyone waits
    hub.publish("run", frames(1))
    done_after = []
    for _ in range(6):
        await asyncio.sleep(0)
        done_after.append(sum(w.done() for w in waits))
    steps = [b - a for a, b in zip([0, *done_after], done_after, strict=False)]
    assert max(steps) <= 3 and done_after[-1] == 10  # three per pass, and all in the end


async def test_a_steady_stream_goes_out_in_rounds_and_a_line_after_a_quiet_spell_at_once() -> None:
    hub = RunHub(gap=0.1)
    sub = hub.subscribe("run")
    waiting = asyncio.ensure_future(sub.wait())
    await asyncio.sleep(0)
    hub.publish("run", frames(1))
    await asyncio.sleep(0)  # the pump's pass
    await asyncio.sleep(0)  # the client's turn
    assert waiting.done()  # no round for a while: it goes out in this pass of the loop
    writes: list[list[int]] = [[frame.last for frame in sub.drain()]]

    async def client() -> None:
        while writes[-1][-1] < 60:
            await sub.wait()
            writes.append([frame.last for frame in sub.drain()])

    reader = asyncio.create_task(client())
    for n in range(2, 61):  # one frame every 5 ms for 0.3 s
        hub.publish("run", frames(n))
        await asyncio.sleep(0.005)
    await asyncio.wait_for(reader, 2.0)
    assert [n for write in writes for n in write] == list(range(1, 61))
    assert len(writes) <= 6  # a write per 0.1 s round, not one per frame


async def test_clients_taking_the_same_frames_share_one_joined_copy() -> None:
    hub = RunHub()
    a, b = hub.subscribe("run"), hub.subscribe("run")
    hub.publish("run", frames(1, 2, 3))
    joined_a, joined_b = hub.join(a.drain()), hub.join(b.drain())
    assert joined_a == b"id: 1\n\nid: 2\n\nid: 3\n\n"
    assert joined_a is joined_b


async def test_a_list_view_subscriber_is_woken_by_each_change() -> None:
    channel = RingChannel()
    sub = channel.subscribe()
    waiting = asyncio.ensure_future(sub.wait())
    await asyncio.sleep(0)
    assert not waiting.done()  # nothing yet: it waits
    channel.publish("run.status", b"{}")
    assert await asyncio.wait_for(waiting, 1.0) is True
    assert len(sub.drain()) == 1
