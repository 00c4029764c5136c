"""`python -m cashroom_reconciliation`: the reconciliation service's HTTP API and consumers in one process."""

from cashroom_chassis.runtime import serve
from cashroom_reconciliation.app import build
from cashroom_reconciliation.settings import Settings

settings = Settings()
serve(build(settings), settings)
