"""Test-wide settings: notebooks run offline with no key, whatever the developer's .env says.

Stored notebook outputs come from the offline backend; an empty key counts as no key
(for the SDK and for ``connect``) and stops ``.env`` from supplying one.
"""

import os

os.environ["KIT_MODE"] = "offline"
os.environ["ANTHROPIC_API_KEY"] = ""
os.environ["ANTHROPIC_AUTH_TOKEN"] = ""
os.environ.pop("ANTHROPIC_BASE_URL", None)
