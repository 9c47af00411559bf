package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/policy"
)

const policyUsage = `usage:
  gateway policy test [DIR]
      Run the Rego tests (test_ rules, *_test.rego) of the policy in DIR (default .), then
      check it loads as a serving policy. Exit 0 if all pass, 1 if a test fails, 2 if the
      policy does not load or compile.
  gateway policy eval [--policy PATH] (--user U [--groups a,b] [--auth basic|bearer|mtls] | --anonymous)
                      [--method M] [--path P] [--client-ip IP] [--user-agent UA] [--claims JSON]
                      --scope TYPE:NAME:ACTIONS [--scope ...] [--json]
      Print the decision for one request: ALLOW or DENY, the actions granted per scope, and
      the reason. Without --policy, the built-in default policy decides. Exit 0 on allow
      (every action asked is granted), 1 on deny, 2 on a usage, load or evaluation error.
`

// runPolicy implements `gateway policy test|eval`.
func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return 2
	}
	switch args[0] {
	case "test":
		return policyTestCmd(ctx, args[1:], stdout, stderr)
	case "eval":
		return policyEvalCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, policyUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "gateway policy: unknown command %q\n\n%s", args[0], policyUsage)
		return 2
	}
}

func policyTestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, policyUsage) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "gateway policy test: one DIR at most, got %q\n", fs.Args())
		return 2
	}
	dir := "."
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	passed, failed, err := policy.RunTests(ctx, dir, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "gateway policy test: %v\n", err)
		return 2
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "gateway policy test: %d failed, %d passed\n", failed, passed)
		return 1
	}
	// The tests pass; now check the gateway would accept it (contract, data files).
	if _, err := policy.Load(ctx, dir); err != nil {
		fmt.Fprintf(stderr, "gateway policy test: tests pass but the policy would not load: %v\n", err)
		return 2
	}
	return 0
}

// policyList is a repeatable string flag.
type policyList []string

func (l *policyList) String() string     { return strings.Join(*l, " ") }
func (l *policyList) Set(s string) error { *l = append(*l, s); return nil }

func policyEvalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, policyUsage) }
	var (
		path      = fs.String("policy", "", "policy `file or directory` (default: the built-in policy)")
		user      = fs.String("user", "", "principal `name`")
		groups    = fs.String("groups", "", "comma-separated `groups` of the principal")
		authn     = fs.String("auth", access.MethodBasic, "how the principal authenticated: basic, bearer or mtls")
		anonymous = fs.Bool("anonymous", false, "evaluate for an anonymous principal")
		claims    = fs.String("claims", "", "token claims as a JSON `object` (bearer principals)")
		method    = fs.String("method", "GET", "request HTTP `method`")
		reqPath   = fs.String("path", "", "request `path`, e.g. /v2/team/app/manifests/latest")
		clientIP  = fs.String("client-ip", "", "request client `IP`")
		userAgent = fs.String("user-agent", "", "request `user agent`")
		asJSON    = fs.Bool("json", false, "print the input and decision as JSON")
		scopes    policyList
	)
	fs.Var(&scopes, "scope", "token-spec `scope` asked for, e.g. repository:team/app:pull,push (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in, err := policyEvalInput(*user, *groups, *authn, *anonymous, *claims, scopes)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err != nil {
		fmt.Fprintf(stderr, "gateway policy eval: %v\n", err)
		return 2
	}
	in.Request = access.Request{Method: *method, Path: *reqPath, ClientIP: *clientIP, UserAgent: *userAgent}

	var e *policy.Engine
	if *path == "" {
		e, err = policy.Default(ctx)
	} else {
		e, err = policy.Load(ctx, *path)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gateway policy eval: %v\n", err)
		return 2
	}
	d, err := e.Authorize(ctx, in)
	if err != nil {
		fmt.Fprintf(stderr, "gateway policy eval: %v\n", err)
		return 2
	}
	allowed := d.AllowsAll(in.Access)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Allowed  bool            `json:"allowed"`
			Input    access.Input    `json:"input"`
			Decision access.Decision `json:"decision"`
		}{allowed, in, d}); err != nil {
			fmt.Fprintf(stderr, "gateway policy eval: %v\n", err)
			return 2
		}
	} else {
		policyPrintDecision(stdout, in.Access, d, allowed)
	}
	if !allowed {
		return 1
	}
	return 0
}

func policyEvalInput(user, groups, authn string, anonymous bool, claims string, scopes []string) (access.Input, error) {
	var in access.Input
	switch {
	case anonymous && user != "":
		return in, errors.New("--user and --anonymous exclude each other")
	case anonymous:
		in.Principal = access.Anonymous()
	case user == "":
		return in, errors.New("give --user NAME or --anonymous")
	default:
		switch authn {
		case access.MethodBasic, access.MethodBearer, access.MethodMTLS:
		default:
			return in, fmt.Errorf("--auth %q: want basic, bearer or mtls", authn)
		}
		in.Principal = access.Principal{Name: user, Method: authn, Groups: []string{}}
		for g := range strings.SplitSeq(groups, ",") {
			if g = strings.TrimSpace(g); g != "" {
				in.Principal.Groups = append(in.Principal.Groups, g)
			}
		}
	}
	if claims != "" {
		if err := json.Unmarshal([]byte(claims), &in.Principal.Claims); err != nil {
			return in, fmt.Errorf("--claims: want a JSON object: %w", err)
		}
	}
	if len(scopes) == 0 {
		return in, errors.New("give at least one --scope, e.g. --scope repository:team/app:pull")
	}
	for _, s := range scopes {
		rs, err := access.ParseScopes(s)
		if err != nil {
			return in, err
		}
		in.Access = append(in.Access, rs...)
	}
	return in, nil
}

// policyPrintDecision writes the verdict, then for each scope asked what was granted and
// what was not, then the reason.
func policyPrintDecision(w io.Writer, asked []access.Resource, d access.Decision, allowed bool) {
	verdict := "DENY"
	if allowed {
		verdict = "ALLOW"
	}
	fmt.Fprintln(w, verdict)
	for _, want := range asked {
		var got, not []string
		for _, a := range want.Actions {
			if d.Allows(access.Resource{Type: want.Type, Name: want.Name, Actions: []string{a}}) {
				got = append(got, a)
			} else {
				not = append(not, a)
			}
		}
		line := fmt.Sprintf("  %s:%s", want.Type, want.Name)
		if len(got) > 0 {
			line += "  granted " + strings.Join(got, ",")
		}
		if len(not) > 0 {
			line += "  not granted " + strings.Join(not, ",")
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "reason: %s\n", d.Reason)
}
