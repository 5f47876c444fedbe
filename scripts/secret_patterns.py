"""detect-secrets plugins for Azure and Pulumi credentials the stock plugins don't know.

Loaded by scripts/ci_checks.sh with `detect-secrets scan -p scripts/secret_patterns.py`.
"""

import re

from detect_secrets.plugins.base import RegexBasedDetector


class AzureCredentialDetector(RegexBasedDetector):
    """Entra client secrets, keys in connection strings, SAS signatures, Pulumi access tokens."""

    secret_type = "Azure or Pulumi credential"

    denylist = (
        # Entra application (client) secret: three characters, a digit, "Q~", then 31-34 more
        re.compile(r"(?<![\w~.-])[\w~.-]{3}\dQ~[\w~.-]{31,34}(?![\w~.-])"),
        # AccountKey= / SharedAccessKey= / AccessKey= with a base64 key (storage, Service Bus, Redis)
        re.compile(r"(?:Account|SharedAccess|Access|Primary|Secondary)Key=([A-Za-z0-9+/]{30,}={0,2})"),
        # a SAS token's signature
        re.compile(r"[?&]sig=([A-Za-z0-9%+/]{30,}={0,2})"),
        # Pulumi Cloud access token
        re.compile(r"\bpul-[0-9a-f]{40}\b"),
    )
