# Two entry points for a fresh machine (Python 3.11+, git, make): `make dry-run` and `make test`.
# Each creates .venv from the hashed lock on first use.
PY ?= python3
VENV := .venv
STACK ?= dev
ARGS ?=

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

.PHONY: venv dry-run test lint bench lock policy-docs
venv: $(VENV)/.installed

## make dry-run [STACK=dev] [ARGS="--json"]: what `pulumi preview` would create, without a cloud.
dry-run: venv
	$(VENV)/bin/mystira-infra preview --stack $(STACK) --policy-pack policy $(ARGS)

## make test: the whole suite, under the Pulumi SDK's mock runtime.
test: venv
	$(VENV)/bin/python -m pytest $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .  # what `typechecker: mypy` checks before every pulumi preview/up

## make policy-docs: regenerate docs/policy.md from the policies' metadata and policy/config/*.json.
policy-docs: venv
	$(VENV)/bin/python scripts/gen_policy_docs.py

bench: venv
	$(VENV)/bin/python benchmarks/bench_dryrun.py $(ARGS)

## make lock: regenerate requirements.txt (hashed) after changing a pin in pyproject.toml.
lock: venv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.txt
