"""How many wrong passwords the login form takes, and from whom.

Only failures count (a correct login costs nothing, so an office behind one connection logs in
all day), and no count on a name alone can lock its owner out, as OWASP's authentication cheat
sheet advises against lockouts an attacker can trigger:

- one address and one name: ten failures, then one try a minute; the right password clears them;
- one address, whatever the names: thirty failures, then one try a minute (spraying many names);
- one name, from any addresses: after ten failures the name is under attack. An address with
  failures of its own still counting may then not try it; an address with none (the owner at home
  or at the office) still may, and the right password lets it in. A failure on a name under attack
  empties the address's whole allowance, so a guesser gets one try per address per half hour.

An IPv6 "address" here is its /64 network: one connection is given a whole /64.
"""

from __future__ import annotations

import ipaddress

from .ratelimit import RateLimiter

__all__ = ["LoginLimits", "address_key"]

PER_MINUTE = 1 / 60


class LoginLimits:
    def __init__(self) -> None:
        self.by_address_and_name = RateLimiter(PER_MINUTE, 10)
        self.by_address = RateLimiter(PER_MINUTE, 30)
        self.by_name = RateLimiter(PER_MINUTE, 10)

    def wait(self, address: str, name: str, now: float) -> float:
        """Seconds before `address` may try to log in as `name` (0: it may now)."""
        waits = [self.by_address_and_name.retry_after(f"{address} {name}", now),
                 self.by_address.retry_after(address, now)]
        attacked = self.by_name.retry_after(name, now)
        if attacked:
            waits.append(min(attacked, self.by_address.full_after(address, now)))
        return max(waits)

    def failed(self, address: str, name: str, now: float) -> None:
        attacked = self.by_name.retry_after(name, now) > 0
        self.by_address_and_name.allow(f"{address} {name}", now)
        self.by_address.allow(address, now)
        self.by_name.allow(name, now)
        if attacked:
            self.by_address.empty(address, now)

    def succeeded(self, address: str, name: str) -> None:
        """The owner is back: the failures on the name are forgotten (not the address's others)."""
        self.by_address_and_name.forget(f"{address} {name}")
        self.by_name.forget(name)


def address_key(host: str) -> str:
    """An IPv4 address as it is; an IPv6 one as its /64 network."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # not an address (a test client, a Unix socket)
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)
