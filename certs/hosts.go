package certs

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// names is the set of names a server certificate covers, split the way x509 wants them.
type names struct {
	DNS []string     // sorted, lower-case, no trailing dot
	IPs []netip.Addr // sorted, unmapped
}

// parseHosts normalises host names and addresses for a certificate: it lower-cases names,
// drops a trailing dot, IPv6 brackets and any ":port", removes duplicates and sorts, so two
// readings of the same list compare equal (this is what decides "the names changed").
func parseHosts(hosts []string) (names, error) {
	var n names
	var errs []error
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.TrimPrefix(strings.TrimSuffix(h, "]"), "[")
		// A trailing dot is dropped before deciding name or address: "0.0.0.0." is the
		// address 0.0.0.0, which a DNS SAN would not match (found by FuzzParseHosts).
		if trimmed := strings.TrimSuffix(h, "."); trimmed != h {
			if _, err := netip.ParseAddr(trimmed); err == nil {
				h = trimmed
			}
		}
		if ip, err := netip.ParseAddr(h); err == nil {
			if ip.Zone() != "" {
				errs = append(errs, fmt.Errorf("host %q: zoned addresses cannot go in a certificate", h))
				continue
			}
			n.IPs = append(n.IPs, ip.Unmap())
			continue
		}
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if err := checkDNSName(h); err != nil {
			errs = append(errs, fmt.Errorf("host %q: %w", h, err))
			continue
		}
		n.DNS = append(n.DNS, h)
	}
	slices.Sort(n.DNS)
	n.DNS = slices.Compact(n.DNS)
	slices.SortFunc(n.IPs, netip.Addr.Compare)
	n.IPs = slices.Compact(n.IPs)
	return n, errors.Join(errs...)
}

// checkDNSName accepts RFC 1123 host names, with an optional leading "*." wildcard label.
func checkDNSName(h string) error {
	if h == "" || len(h) > 253 {
		return errors.New("a host name must have 1 to 253 characters")
	}
	labels := strings.Split(h, ".")
	for i, l := range labels {
		if i == 0 && l == "*" && len(labels) > 1 {
			continue
		}
		if l == "" || len(l) > 63 {
			return errors.New("each label must have 1 to 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("a label cannot start or end with '-'")
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("invalid character %q (use letters, digits, '-' and '.')", c)
			}
		}
	}
	return nil
}

// strings returns the names as one sorted list, DNS names first.
func (n names) strings() []string {
	out := slices.Clone(n.DNS)
	for _, ip := range n.IPs {
		out = append(out, ip.String())
	}
	return out
}

func (n names) netIPs() []net.IP {
	out := make([]net.IP, 0, len(n.IPs))
	for _, ip := range n.IPs {
		out = append(out, net.IP(ip.AsSlice()))
	}
	return out
}
