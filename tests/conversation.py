"""The child conversation a caseworker records before a decision (Barnets Lov §5 stk. 3).

The walks and tests that decide record it first, the way a caseworker would; facts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHILD_CONVERSATION: Mapping[str, Any] = {"without_parents": False, "support_person_offered": True}
