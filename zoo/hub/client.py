"""Talking to a Hub: which endpoint, which token, a quick reachability probe, and one-line errors.

``huggingface_hub`` does the HTTP; this module only decides the endpoint (``--endpoint``, a catalogue
entry's ``endpoint``, ``$HF_ENDPOINT``, huggingface.co), turns its exceptions into one-line ``HubError``
messages that say how to fix the problem, and makes sure a token never appears in one (``redact``).

Usage::

    endpoint = resolve_endpoint(args.endpoint)
    with hub_errors("org/name", endpoint, revision="main", what="model.safetensors"):
        path = hf_hub_download("org/name", "model.safetensors", endpoint=endpoint)
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from zoo.errors import HubError

DEFAULT_ENDPOINT = "https://huggingface.co"
# Hugging Face tokens look like hf_xxx; anything after "Bearer " is a credential too.
_TOKEN_PATTERN = re.compile(r"(hf_[A-Za-z0-9_]{6,}|Bearer\s+\S+)")


def resolve_endpoint(explicit: str | None = None, entry_endpoint: str | None = None) -> str:
    """The Hub URL to use: the explicit one, the catalogue entry's, ``$HF_ENDPOINT``, else huggingface.co."""
    return (explicit or entry_endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline() -> bool:
    """``HF_HUB_OFFLINE=1``: only the local cache is used (huggingface_hub reads the same variable)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def token_from(explicit: str | None = None) -> str | None:
    """The token to send: an explicit one, else whatever huggingface_hub finds (``$HF_TOKEN``, ``hf auth login``)."""
    if explicit:
        return explicit
    from huggingface_hub import get_token

    return get_token()


def redact(text: str, token: str | None = None) -> str:
    """``text`` with every token-looking string (and ``token`` itself) replaced by ``***``."""
    if token:
        text = text.replace(token, "***")
    return _TOKEN_PATTERN.sub("***", text)


def reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """True when something accepts TCP connections at the endpoint's host and port.

    huggingface_hub retries an unreachable host for ~20 s with warnings on stderr; this answers at once,
    so "no network" is one line, or a fall back to the cache, without the wait.
    """
    parts = urlsplit(endpoint)
    proxied = any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"))
    if proxied and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return True  # behind a proxy a direct connection proves nothing: let huggingface_hub try
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "localhost", port), timeout=timeout):
            return True
    except OSError:
        return False


def unreachable_error(endpoint: str, repo: str, what: str) -> HubError:
    return HubError(f"cannot reach the Hub at {endpoint} and {what} of '{repo}' is not in the local cache; "
                    "check the network (or HF_ENDPOINT / --endpoint), or pull it once while online")


@contextlib.contextmanager
def hub_errors(repo: str, endpoint: str, revision: str | None = None, what: str = "the file",
               token: str | None = None, repo_type: str = "model") -> Iterator[None]:
    """Translate huggingface_hub exceptions raised inside into one-line ``HubError``s (token redacted)."""
    from huggingface_hub import errors as hf

    rev = revision or "main"
    kind = "" if repo_type == "model" else f"{repo_type} "
    try:
        yield
    except hf.GatedRepoError:
        raise HubError(f"{kind}repo '{repo}' is gated: accept its conditions at {endpoint}/{repo} and set HF_TOKEN "
                       "to a token of that account (or run `hf auth login`)") from None
    except hf.RepositoryNotFoundError:
        raise HubError(f"no {kind}repo '{repo}' on {endpoint} (or it is private: set HF_TOKEN); check the name "
                       "(org/name) and --endpoint") from None
    except hf.RevisionNotFoundError:
        raise HubError(f"{kind}repo '{repo}' has no revision '{rev}'; use a branch (main), a tag or a commit sha "
                       "that exists") from None
    except hf.RemoteEntryNotFoundError:
        raise HubError(f"{kind}repo '{repo}' at revision '{rev}' has no {what}") from None
    except (hf.OfflineModeIsEnabled, hf.LocalEntryNotFoundError):
        if offline():
            raise HubError(f"HF_HUB_OFFLINE=1 and {what} of '{repo}' (revision {rev}) is not in the cache; "
                           "pull it once with the network on, or unset HF_HUB_OFFLINE") from None
        raise unreachable_error(endpoint, repo, what) from None
    except hf.HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else "?"
        if status in (401, 403):
            raise HubError(f"the Hub at {endpoint} refused access to {kind}repo '{repo}' (HTTP {status}); set "
                           "HF_TOKEN to a token with write access to it") from None
        first = redact(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__, token)
        raise HubError(f"the Hub at {endpoint} answered HTTP {status} for {kind}repo '{repo}': {first}") from None
    except Exception as err:  # transport failures (httpx) mid-request: the Hub went away
        import httpx

        if isinstance(err, (ConnectionError, httpx.TransportError)):
            raise unreachable_error(endpoint, repo, what) from None
        raise
