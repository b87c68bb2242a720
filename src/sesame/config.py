"""One frozen Settings object: every option of `sesame serve`.

Each field is a command-line flag (`--data-dir`) and an environment variable
(`SESAME_DATA_DIR`); the flag wins. The `help` text of each field is what
`sesame serve --help` prints and what the README's configuration table says
(a test keeps the two in step).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sesame.store import DEFAULT_POOL_SIZE


def _option(default: Any, help: str, **extra: Any) -> Any:
    # Secrets stay out of repr(), so a logged or printed Settings never shows them.
    return field(default=default, repr=not extra.get("secret"), metadata={"help": help, **extra})


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = _option("127.0.0.1", "Address the API listener binds to.")
    port: int = _option(8840, "Port of the API listener.")
    role: str = _option(
        "all",
        "What this server serves: all (the API, the web inbox and tracking); api (the API "
        "and the web inbox, not the tracking paths: needs --tracking-domain); tracking "
        "(only the open pixel, click redirects, one-click unsubscribe and the health check "
        "/_sesame/tracking; no API key pair, no delivery, no publishing).",
        choices=("all", "api", "tracking"),
    )
    data_dir: Path = _option(
        Path(".sesame"), "Folder for the SQLite database and generated credentials."
    )
    database_url: str | None = _option(
        None,
        "Database to use, overriding --data-dir: sqlite:///path/to/file.db "
        "(default: sqlite:///<data-dir>/sesame.db) or postgresql://user:password@host:5432/db.",
    )
    database_pool_size: int = _option(
        DEFAULT_POOL_SIZE,
        "PostgreSQL only: connections each process keeps open at most; store calls run "
        "on as many threads.",
    )
    region: str = _option(
        "us-east-1", "The AWS region Sesame answers as; requests must be signed for it."
    )
    account_id: str = _option("000000000000", "The 12-digit account id used in ARNs.")
    access_key_id: str | None = _option(
        None,
        "Access key id requests must be signed with. Without it (and the secret), "
        "a pair is generated on first start and kept in the data dir.",
    )
    secret_access_key: str | None = _option(
        None, "Secret access key that goes with --access-key-id.", secret=True
    )
    identity_verification: str = _option(
        "auto",
        "auto: identities are verified as soon as they are created (development); "
        "dns: they start PENDING until their DNS records are checked.",
        choices=("auto", "dns"),
    )
    smtp_relay: str | None = _option(
        None,
        "HOST:PORT of the SMTP server that delivers Sesame's mail. Without it, mail is "
        "kept in the local mailbox only.",
    )
    smtp_tls: str = _option(
        "none",
        "TLS to the relay: none, starttls (upgrade after EHLO) or tls (implicit, port 465).",
        choices=("none", "starttls", "tls"),
    )
    smtp_ca_file: str | None = _option(
        None,
        "PEM file of the CA certificate(s) that sign the relay's TLS certificate, for a "
        "relay with a private CA or a self-signed certificate (default: the system's CAs). "
        "The certificate and its host name are always verified.",
    )
    smtp_username: str | None = _option(None, "User name for SMTP AUTH at the relay.")
    smtp_password: str | None = _option(None, "Password for SMTP AUTH at the relay.", secret=True)
    delivery_retry_seconds: int = _option(
        60,
        "Delay before the first retry of a transient delivery failure; it doubles on each "
        "retry, up to an hour, until the set's MaxDeliverySeconds has passed.",
    )
    delivery_lease_seconds: int = _option(
        300,
        "How long a worker holds the messages it took for delivery; if it dies, another "
        "worker takes them over after this (delivery is at least once). Keep it above the "
        "SMTP timeout (60 s).",
    )
    tracking_domain: str | None = _option(
        None,
        "Host[:port] of the default tracking host, for configuration sets without a "
        "CustomRedirectDomain (default: this listener's host:port, plain http).",
    )
    tracking_port: int | None = _option(
        None,
        "Also serve the tracking endpoint (pixel and click redirects, nothing else) on this "
        "port, so it can face the internet while the API stays private.",
        kind=int,
    )
    tracking_buffer: int = _option(
        100_000,
        "Most opens and clicks kept in memory while they wait to be written (every second, "
        "in one batch); beyond it, while the database is slow or away, they are counted, "
        "logged and not recorded.",
    )
    trusted_proxies: str = _option(
        "",
        "Comma-separated networks (e.g. 10.0.0.0/8) whose X-Forwarded-For header is "
        "believed when recording the IP address of opens and clicks.",
    )
    deliver: bool = _option(
        True,
        "Run the delivery worker inside this server and the event publisher in a child "
        "process of it (--no-deliver leaves both to `sesame worker` processes on the same "
        "database).",
    )
    workers: int = _option(
        1,
        "Number of processes serving the API on the same port; they share the "
        "database (SQLite in WAL mode allows that on one machine).",
    )
    ui_password: str | None = _option(
        None,
        "Password for the web inbox at /_sesame/ (besides the access key pair), for "
        "when it asks for a login.",
        secret=True,
    )
    ui_login: str = _option(
        "auto",
        "When the web inbox asks for a login: auto (unless --host is a loopback "
        "address) or always.",
        choices=("auto", "always"),
    )
    # --- event publishing (issue 4) ---
    sns_webhooks: tuple[str, ...] = _option(
        (),
        "TOPIC_ARN=URL: POST the SNS notifications of an SnsDestination's topic to URL, "
        "signed as SNS signs them. Repeatable; the variable takes a space-separated list.",
        multiple=True,
        # A URL may carry a password (https://user:pass@host/), as SNS endpoints may.
        secret=True,
    )
    aws_endpoint_url: str | None = _option(
        None,
        "Publish event destinations for real with the AWS SDK to this endpoint (SNS Publish, "
        "EventBridge PutEvents, Firehose PutRecordBatch, CloudWatch PutMetricData); "
        "credentials from the usual AWS_* variables.",
    )
    publish_machine_events: bool = _option(
        True,
        "Publish Open and Click events classified as made by a machine "
        "(--no-publish-machine-events keeps them in the store only).",
    )
    machine_click_seconds: int = _option(
        5,
        "A click this many seconds or less after the message's delivery is a link "
        "scanner's (0 turns the rule off).",
    )
    publish_retry_seconds: int = _option(
        5,
        "Delay before the first retry of a failed publication; it doubles on each retry, "
        "up to an hour, for a day.",
    )
    publish_lease_seconds: int = _option(
        60,
        "How long a publisher holds the publications it took; if it dies, another process "
        "takes them over after this (events are published at least once).",
    )

    # --- account: quotas and throttling (issue 5) ---
    max_send_rate: float = _option(
        -1.0,
        "Most recipients the account may send to per second (SES's maximum send rate), "
        "across every process on the database; -1 for no limit.",
        kind=float,
    )
    max_24h_send: float = _option(
        -1.0,
        "Most recipients the account may send to in any 24 hours (SES's sending quota); "
        "-1 for no limit.",
        kind=float,
    )
    api_rate: tuple[str, ...] = _option(
        (),
        "OPERATION=N/s: at most N calls a second of that operation (e.g. "
        "GetAccount=1/s), answered with 429 TooManyRequestsException beyond; repeatable.",
        multiple=True,
    )

    def __post_init__(self) -> None:
        if self.smtp_relay is not None:
            host, _, port = self.smtp_relay.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"--smtp-relay must be HOST:PORT, not {self.smtp_relay!r}")
        if self.smtp_ca_file is not None and not Path(self.smtp_ca_file).is_file():
            raise ValueError(f"--smtp-ca-file: no such file: {self.smtp_ca_file}")
        if self.delivery_retry_seconds < 1:
            raise ValueError("--delivery-retry-seconds must be at least 1")
        if self.delivery_lease_seconds < 1:
            raise ValueError("--delivery-lease-seconds must be at least 1")
        try:
            self.proxy_networks()
        except ValueError as problem:
            raise ValueError(f"--trusted-proxies: {problem}") from None
        if self.workers < 1:
            raise ValueError("--workers must be at least 1")
        if self.database_pool_size < 1:
            raise ValueError("--database-pool-size must be at least 1")
        self._check_role()
        if self.tracking_port is not None and self.workers > 1:
            raise ValueError("--tracking-port needs --workers 1 (one process per listener pair)")
        if self.tracking_buffer < 1:
            raise ValueError("--tracking-buffer must be at least 1")
        if not re.fullmatch(r"\d{12}", self.account_id):
            raise ValueError(f"--account-id must be 12 digits, not {self.account_id!r}")
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
            raise ValueError(f"--region must look like us-east-1, not {self.region!r}")
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("--access-key-id and --secret-access-key go together")
        if self.ui_login not in ("auto", "always"):
            raise ValueError("--ui-login must be auto or always")
        if self.identity_verification not in ("auto", "dns"):
            raise ValueError("--identity-verification must be auto or dns")
        try:
            self.webhooks()
        except ValueError as problem:
            raise ValueError(f"--sns-webhook: {problem}") from None
        if self.publish_lease_seconds < 1:
            raise ValueError("--publish-lease-seconds must be at least 1")
        if self.publish_retry_seconds < 1:
            raise ValueError("--publish-retry-seconds must be at least 1")
        if self.machine_click_seconds < 0:
            raise ValueError("--machine-click-seconds must not be negative")
        for name, value in (
            ("--max-send-rate", self.max_send_rate),
            ("--max-24h-send", self.max_24h_send),
        ):
            if value != -1 and value <= 0:
                raise ValueError(f"{name} must be positive, or -1 for no limit")
        self.api_rates()

    def _check_role(self) -> None:
        if self.role not in ("all", "api", "tracking"):
            raise ValueError("--role must be all, api or tracking")
        if self.role != "all" and self.tracking_port is not None:
            # --tracking-port adds a tracking listener beside the API: that is --role all.
            serves = "serves tracking on --port" if self.role == "tracking" else "has no tracking"
            raise ValueError(f"--tracking-port needs --role all (--role {self.role} {serves})")
        if self.role == "api" and not self.tracking_domain:
            # Links of sets without a CustomRedirectDomain point at the default tracking
            # host; this listener is not one, so it must be named.
            raise ValueError(
                "--role api serves no tracking links: give --tracking-domain, the host the "
                "tracking nodes answer on, for sets without a CustomRedirectDomain"
            )

    @property
    def serves_api(self) -> bool:
        return self.role != "tracking"

    @property
    def serves_tracking(self) -> bool:
        return self.role != "api"

    def api_rates(self) -> dict[str, float]:
        """--api-rate as operation name → calls per second."""
        from sesame.protocol.model import operation_names

        known = set(operation_names())
        rates: dict[str, float] = {}
        for entry in self.api_rate:
            match = re.fullmatch(r"([A-Za-z0-9]+)=(\d+(?:\.\d+)?)/s", entry.strip())
            if match is None or float(match[2]) <= 0:
                raise ValueError(f"--api-rate must be OPERATION=N/s with N > 0, not {entry!r}")
            if match[1] not in known:
                raise ValueError(f"--api-rate: {match[1]} is not an SES v2 operation")
            rates[match[1]] = float(match[2])
        return rates

    @property
    def inbox_is_open(self) -> bool:
        """The inbox needs no login: bound to a loopback address, and not told otherwise."""
        if self.ui_login == "always":
            return False
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def database(self) -> str:
        """The effective database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sesame.db').as_posix()}"

    @property
    def database_shown(self) -> str:
        """The database URL without its password, for printing."""
        return shown_url(self.database)

    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        parts = [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]
        return [ipaddress.ip_network(part, strict=False) for part in parts]

    def webhooks(self) -> dict[str, list[str]]:
        """Topic ARN → the URLs its notifications are POSTed to."""
        found: dict[str, list[str]] = {}
        for entry in self.sns_webhooks:
            topic, _, url = entry.partition("=")
            if not topic.startswith("arn:") or not url.startswith(("http://", "https://")):
                raise ValueError(f"want TOPIC_ARN=http(s)://URL, not {entry!r}")
            found.setdefault(topic, []).append(url)
        return found

    @property
    def tracking_host(self) -> str:
        """Host[:port] of the default tracking host."""
        if self.tracking_domain:
            return self.tracking_domain
        listener = self.endpoint_url.removeprefix("http://")
        if self.tracking_port is not None:
            return f"{listener.rsplit(':', 1)[0]}:{self.tracking_port}"
        return listener

    @property
    def unsubscribe_base(self) -> str:
        """`scheme://host` of List-Unsubscribe URLs: the default tracking host, over
        https when it is a public --tracking-domain (RFC 8058 wants https), else
        this listener over plain http (a developer's machine)."""
        scheme = "https" if self.tracking_domain else "http"
        return f"{scheme}://{self.tracking_host}"

    @property
    def endpoint_url(self) -> str:
        """The URL this listener is reached at; a wildcard address becomes the loopback
        of its family, and an IPv6 literal is bracketed (RFC 3986), as URLs want."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


def to_environment(settings: Settings) -> dict[str, str]:
    """The SESAME_* variables that rebuild `settings` in another process."""
    return {
        "SESAME_" + f.name.upper(): _environment_value(getattr(settings, f.name))
        for f in fields(Settings)
        if getattr(settings, f.name) is not None
    }


def _environment_value(value: Any) -> str:
    # A repeatable option travels as one space-separated variable (click splits it).
    return " ".join(value) if isinstance(value, tuple) else str(value)


def option_fields() -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(flag, env var, default, metadata) for every setting, in declaration order."""
    return [
        (
            # A repeatable option is named in the singular: --sns-webhook, used per value.
            "--" + f.name.replace("_", "-").removesuffix("s" if f.metadata.get("multiple") else ""),
            "SESAME_" + f.name.upper(),
            f.default,
            dict(f.metadata),
        )
        for f in fields(Settings)
    ]


def shown_url(url: str) -> str:
    """`url` with any password (in the user part or a `password=` parameter) masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:***@" + netloc.rpartition("@")[2]
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)]
    if netloc == parts.netloc and not any(k == "password" for k, _ in query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))
