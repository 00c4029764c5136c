"""A started service keeps what starting made out of the garbage collector's walks: a full
collection then walks only what requests made, so a request that makes many objects does not
pause for all of them."""

from __future__ import annotations

import gc

from pydantic import SecretStr
from sample_service import migrate, sample_settings

from cashroom_chassis.runtime import Runtime, create_app
from cashroom_chassis.testing import Infrastructure


async def test_what_starting_made_is_frozen_and_what_requests_make_is_not(
    infrastructure: Infrastructure, unique_name: str
) -> None:
    settings = sample_settings(infrastructure, unique_name, auth_signing_key=SecretStr("key"))
    await migrate(settings)
    runtime = Runtime(settings)
    app = create_app(runtime, title="sample")
    gc.unfreeze()  # another service started earlier in this test process froze its own
    assert gc.get_freeze_count() == 0

    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0
        walked = gc.get_objects()
        assert not any(o is app.router for o in walked)
        made_later = [{"row": n} for n in range(3)]
        assert any(o is made_later for o in gc.get_objects())
    await runtime.db.dispose()
