"""The kit's offline backend: the Messages API's behaviour with the kit's own deterministic text.

Plain functions (``validate``, ``replies``, ``respond``, ``stream``) behind two thin
adapters: ``OfflineTransport`` (in-process, used by ``helpers.connect``) and a
loopback HTTP server (``python -m helpers.offline``; ``server.running()``).
"""

from .fault_injection import KINDS as FAULT_KINDS
from .fault_injection import faults
from .server import LoopbackServer, running, start
from .transport import OfflineTransport

__all__ = ["FAULT_KINDS", "LoopbackServer", "OfflineTransport", "faults", "running", "start"]
