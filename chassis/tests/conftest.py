import sys
from pathlib import Path

# The sample service the chassis tests drive lives beside them.
sys.path.insert(0, str(Path(__file__).parent))
