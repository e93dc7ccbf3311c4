"""Which services the model may call, per domain, and the arguments each takes: views of the
domain table (domains.py) as the prompt, grammar and validator ask for them.

The names are the Home format's (what the model writes); `Argument.ha_field` is what Home
Assistant receives after validation. The published Home models know only the arguments in
COMPAT_ARGUMENTS and the services outside EXTENDED_SERVICES; the compatible prompt preset
shows them nothing else.
"""

from __future__ import annotations

from .domains import ARGUMENTS, COMPAT_ARGUMENTS, DOMAINS, Argument

__all__ = ["ARGUMENTS", "COMPAT_ARGUMENTS", "EXTENDED_SERVICES", "SERVICES", "SUPPORTED_DOMAINS", "Argument", "services_for"]

SERVICES: dict[str, dict[str, tuple[str, ...]]] = {name: dict(d.services) for name, d in DOMAINS.items() if d.services}

# Services the published Home models never saw; the compatible preset leaves them out.
EXTENDED_SERVICES = frozenset(f"{name}.{service}" for name, d in DOMAINS.items() for service in d.new_services)

SUPPORTED_DOMAINS = frozenset(SERVICES)


# For these services every argument is optional (light.turn_on alone switches on); for all
# others the arguments are the point of the call (set_temperature needs a temperature).
_OPTIONAL_ARGUMENT_SERVICES = frozenset({"turn_on", "start"})


def required_arguments(domain: str, service: str) -> tuple[str, ...]:
    return () if service in _OPTIONAL_ARGUMENT_SERVICES else SERVICES[domain][service]


def services_for(domain: str, *, compat: bool = False) -> dict[str, tuple[str, ...]]:
    """Services of a domain with their argument names, as the given preset shows them."""
    result = {}
    for service, args in SERVICES.get(domain, {}).items():
        if compat and f"{domain}.{service}" in EXTENDED_SERVICES:
            continue
        result[service] = tuple(a for a in args if not compat or a in COMPAT_ARGUMENTS)
    return result
