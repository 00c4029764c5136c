"""`python -m cashroom_ledger`: the ledger service's HTTP API and consumers in one process."""

from cashroom_chassis.runtime import serve
from cashroom_ledger.app import build
from cashroom_ledger.process import tune_garbage_collection
from cashroom_ledger.settings import Settings

settings = Settings()
app = build(settings)
tune_garbage_collection()
serve(app, settings)
