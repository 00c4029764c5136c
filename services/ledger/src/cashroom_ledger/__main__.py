"""`python -m cashroom_ledger`: the ledger service's HTTP API and consumers in one process."""

from cashroom_chassis.runtime import serve
from cashroom_ledger.app import build
from cashroom_ledger.settings import Settings

settings = Settings()
serve(build(settings), settings)
