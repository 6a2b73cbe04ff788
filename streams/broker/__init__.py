"""The embedded Apache Kafka broker's parts: the Maven-fetched jars and the config it runs with.

`streams.broker.embedded` starts and stops the JVM; this package holds what that needs (the pom, the
server.properties and log4j2 templates) and the one error type of the broker area.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent
POM = TEMPLATES / "pom.xml"


class BrokerError(Exception):
    """A broker-side failure with a stable `code` and a message that says what to do.

    Codes: java_missing, maven_missing, fetch_failed, port_taken, data_corrupt,
    start_failed, start_timeout, stop_failed, bad_settings, unreachable.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"
