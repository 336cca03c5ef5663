"""The one place that builds the shared structured logger.

Logs go to stderr so that the CLI's stdout stays a clean report (JSON / CycloneDX).
"""

import logging
import os
import sys

from aws_lambda_powertools import Logger

logger = Logger(
    service="quaywatch",
    level=os.environ.get("QUAYWATCH_LOG_LEVEL", os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING")),
    logger_handler=logging.StreamHandler(sys.stderr),
)
