"""mystira-infra: load the stack's settings, build the stack."""

from mystira_infra.settings import load_settings
from stacks import build

build(load_settings())
