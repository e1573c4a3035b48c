import sys
from pathlib import Path

# Let test modules import their shared support modules (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parent))
