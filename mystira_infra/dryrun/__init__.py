"""The dry run: any Pulumi Python program stack under recording mocks, with Azure-shaped answers."""
