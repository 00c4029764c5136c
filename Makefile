# Cashroom: the two commands a newcomer needs are `make run` and `make test`.
# Each bootstraps what it needs (uv in .tools/, the locked workspace in .venv/).

PY := .venv/bin/python
BOOT := .venv/.bootstrapped

.PHONY: run test test-slow test-containers lint typecheck check bench asyncapi bootstrap clean

$(BOOT): uv.lock pyproject.toml scripts/bootstrap
	@scripts/bootstrap
	@touch $(BOOT)

bootstrap: $(BOOT)

run: $(BOOT)
	@.venv/bin/cashroom demo

test: $(BOOT)
	@$(PY) -m pytest -m "not slow and not containers"

test-slow: $(BOOT)
	@$(PY) -m pytest -m slow

test-containers: $(BOOT)
	@CASHROOM_INFRA=containers $(PY) -m pytest -m "not slow"

lint: $(BOOT)
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

typecheck: $(BOOT)
	@scripts/typecheck

check: lint typecheck test

bench: $(BOOT)
	@$(PY) -m bench

asyncapi: $(BOOT)
	@$(PY) -m cashroom_contracts.asyncapi --write docs/asyncapi.yaml

clean:
	rm -rf .venv .tools
