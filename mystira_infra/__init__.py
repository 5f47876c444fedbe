"""mystira-infra: settings, naming, the service catalogue and the cloud-free dry run."""
