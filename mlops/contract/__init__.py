"""The SageMaker container contract: /opt/ml paths, configuration files, channel readers, pipe mode,
metric lines, the failure file and the /ping + /invocations serving skeleton.

Installed inside every algorithm image as well as in the platform, so it depends on the standard
library and numpy only (pandas and scipy are imported lazily by the readers that need them) and
has no side effects at import.
"""

from mlops.contract.errors import AlgorithmError, ChannelDataError, UnsupportedContentTypeError
from mlops.contract.layout import Layout

__all__ = ["AlgorithmError", "ChannelDataError", "Layout", "UnsupportedContentTypeError"]
