"""``recorder resume FLOW``: continue a stored flow run from what the database holds.

The flow is rebuilt by calling the factory recorded in its meta (flows started
with ``engines.load_from_factory``), matched to its stored atoms by name:
atoms that finished are not run again and their stored results feed the rest;
atoms left RUNNING run again, unless a failure the crash left unhandled makes
their retry revert them (see :mod:`recorder.engines.action_engine.resuming`).
The resumed run writes its transitions trail as every engine loaded with a
database does (the chain continues from the stored rows), and the timing
listeners' meta (``recorder.record``). A flow first loaded with ``trail=False``
stays without a trail; a flow stored without one by an older recorder starts
its trail at the resume (``recorder verify`` accepts a trail that starts after
the flow's start).
"""

from __future__ import annotations

import click

from recorder.cli.common import say
from recorder.cli.options import database_url, db_option, engine_option
from recorder.exceptions import EngineError, RecorderError


@click.command()
@click.argument("flow")
@click.option(
    "--mode",
    type=click.Choice(["durable", "batched"]),
    default="durable",
    show_default=True,
    help="Write mode for the resumed run.",
)
@engine_option
@db_option
@click.pass_context
def resume(ctx: click.Context, flow: str, mode: str, engine_kind: str) -> None:
    """Continue FLOW (uuid, uuid prefix or name) where it stopped.

    Exit 0 when the flow ends in SUCCESS; 1 when it cannot be resumed (no
    recorded factory, unknown flow) or ends reverted or failed.

    \b
    Examples:
      recorder resume order-fulfilment
      recorder resume 3f2a --engine parallel --mode batched
    """
    import recorder
    from recorder import engines
    from recorder.audit.trail import recorder_for
    from recorder.persistence import connect
    from recorder.query.reads import find_flow

    backend = connect(database_url(ctx), mode=mode)
    try:
        with backend.engine.connect() as conn:
            found = find_flow(conn, flow)
        detail = backend.load_flow(found.uuid)
        if detail.state == "SUCCESS":
            say("flow %s (%s) already ended in SUCCESS" % (detail.name, detail.uuid))
            return
        engine = engines.load_from_detail(detail, backend=backend, engine=engine_kind)
        say("resuming %s (%s) from %s" % (detail.name, detail.uuid, detail.state))
        if recorder_for(engine.storage) is None:
            say(
                "flow %s (%s) has no transitions trail (loaded with trail=False): the "
                "resumed run writes none either" % (detail.name, detail.uuid)
            )
        try:
            with recorder.record(engine):
                engine.run()
        except Exception as exc:
            if isinstance(exc, RecorderError):
                raise
            state = engine.storage.get_flow_state()
            raise EngineError(
                "flow %s ended in %s: %s: %s" % (detail.name, state, type(exc).__name__, exc)
            ) from exc
        say("flow %s (%s) is %s" % (detail.name, detail.uuid, engine.storage.get_flow_state()))
    finally:
        backend.close()
