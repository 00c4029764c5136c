import sys
from pathlib import Path

# The builders the ledger's domain tests share live beside them.
sys.path.insert(0, str(Path(__file__).parent))
