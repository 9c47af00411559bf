package migrate

import (
	"fmt"

	"github.com/portcullis/portcullis/nginxconf"
)

// blocks are the nginx directives that take a block, with their least number of arguments.
var blocks = map[string]int{
	"http": 0, "events": 0, "server": 0, "location": 1, "upstream": 1, "if": 1, "map": 2,
	"types": 0, "limit_except": 1, "geo": 1, "split_clients": 2, "stream": 0, "mail": 0,
}

// simple are the directives the converter reads, which take no block, with their least
// and most numbers of arguments (-1: any).
var simple = map[string][2]int{
	"listen": {1, -1}, "server_name": {1, -1}, "proxy_pass": {1, 1}, "ssl_certificate": {1, 1},
	"ssl_certificate_key": {1, 1}, "ssl_protocols": {1, -1}, "ssl": {1, 1}, "auth_basic": {1, 1},
	"auth_basic_user_file": {1, 1}, "proxy_set_header": {2, 2}, "add_header": {2, 3},
	"client_max_body_size": {1, 1}, "set_real_ip_from": {1, 1}, "real_ip_header": {1, 1},
	"ssl_client_certificate": {1, 1}, "ssl_verify_client": {1, 1}, "allow": {1, 1}, "deny": {1, 1},
	"return": {1, 2}, "include": {1, 1}, "chunked_transfer_encoding": {1, 1}, "proxy_read_timeout": {1, 1},
}

// check finds what nginx itself would refuse in the directives the converter relies on:
// a missing ';' that made a directive swallow the next block, a block directive without
// its block, a wrong number of arguments. Directives it does not read are not checked.
func check(ds []*nginxconf.Directive) error {
	for _, d := range ds {
		if lim, ok := simple[d.Name]; ok {
			if d.IsBlock() {
				return fmt.Errorf("%s: %s takes no block: is the \";\" at its end missing?", d.Pos(), d.Name)
			}
			if len(d.Args) < lim[0] || (lim[1] >= 0 && len(d.Args) > lim[1]) {
				return fmt.Errorf("%s: invalid number of arguments in %q", d.Pos(), d.Name)
			}
		}
		if least, ok := blocks[d.Name]; ok {
			if !d.IsBlock() && !(d.Name == "server" && len(d.Args) > 0) { // "server ADDR;" inside upstream
				return fmt.Errorf("%s: %s needs a { block }", d.Pos(), d.Name)
			}
			if d.IsBlock() && len(d.Args) < least {
				return fmt.Errorf("%s: invalid number of arguments in %q", d.Pos(), d.Name)
			}
		}
		if err := check(d.Block); err != nil {
			return err
		}
	}
	return nil
}
