package config

import (
	"cmp"
	"errors"
	"flag"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Loader reads a Config from its sources, each overriding the one before: the defaults,
// the YAML file (--config, or GATEWAY_CONFIG), GATEWAY_* environment variables, then
// command-line flags.
type Loader struct {
	environ func() []string      // KEY=VALUE pairs, as os.Environ
	file    string               // --config
	flags   map[string]*[]string // the values given to each configuration flag, in order
}

// NewLoader registers every configuration flag, and --config, on fs. environ lists the
// environment as KEY=VALUE pairs; os.Environ in production, a fixed list in tests.
func NewLoader(fs *flag.FlagSet, environ func() []string) *Loader {
	l := &Loader{environ: environ, flags: map[string]*[]string{}}
	fs.StringVar(&l.file, "config", "", "YAML configuration `file` (GATEWAY_* variables win over it, flags over both)")
	defaults := Defaults()
	for _, f := range fields(&defaults) {
		vals := new([]string)
		l.flags[f.name] = vals
		_, isBool := f.ptr.(*bool)
		fs.Var(flagValue{vals, f.text(), isBool}, f.name, f.usage)
	}
	return l
}

// flagValue records what a flag was given; Read parses it, so a bad value is one more
// problem in the list rather than the end of flag parsing. String is the default, which
// the help shows.
type flagValue struct {
	vals   *[]string
	def    string
	isBool bool // --ui alone means --ui=true
}

// IsBoolFlag lets a switch be given without a value (flag's boolFlag).
func (v flagValue) IsBoolFlag() bool { return v.isBool }

func (v flagValue) String() string     { return v.def }
func (v flagValue) Set(s string) error { *v.vals = append(*v.vals, s); return nil }

// Load reads the configuration (after fs.Parse) and validates it. The error lists every
// problem at once, reading and validation alike, as *Problem values (see Problems), each
// pointed at where its key was set: file and line, variable or flag.
func (l *Loader) Load() (Config, error) {
	c, origin, unread, errs := l.read()
	for _, e := range Problems(c.Validate()) {
		p, ok := errors.AsType[*Problem](e)
		switch {
		case !ok:
			errs = append(errs, e)
		case unread[p.Key]:
			// Its value could not be read; the default standing in for it says nothing.
		default:
			p.Source = origin[p.Key]
			errs = append(errs, p)
		}
	}
	// In the order a reader fixes them: the file top to bottom, then the variables, then
	// the flags, then problems of defaults.
	slices.SortStableFunc(errs, func(a, b error) int {
		sa, sb := sourceOf(a), sourceOf(b)
		return cmp.Or(cmp.Compare(sa.rank(), sb.rank()), cmp.Compare(sa.Line, sb.Line), strings.Compare(sa.Env, sb.Env))
	})
	return c, errors.Join(errs...)
}

func sourceOf(err error) Source {
	if p, ok := errors.AsType[*Problem](err); ok {
		return p.Source
	}
	return Source{}
}

// Read reads the configuration (after fs.Parse) without validating it, for commands
// that use only part of it. The error lists every problem reading it.
func (l *Loader) Read() (Config, error) {
	c, _, _, errs := l.read()
	return c, errors.Join(errs...)
}

// read applies the sources in order. origin says where each key's value came from; unread
// holds the keys whose last value given could not be read (the one before stands in).
func (l *Loader) read() (c Config, origin map[string]Source, unread map[string]bool, errs []error) {
	c = Defaults()
	origin, unread = map[string]Source{}, map[string]bool{}
	set := func(key string, src Source) { origin[key] = src; delete(unread, key) }
	env := environMap(l.environ())

	file, fileSrc := l.file, Source{Flag: "config"}
	if file == "" {
		file, fileSrc = env[configEnv], Source{Env: configEnv}
	}
	if file != "" {
		if data, err := os.ReadFile(file); err != nil {
			errs = append(errs, problemf(fileSrc, "", "reading the configuration file: %v", err))
		} else {
			fileErrs := parseYAML(file, data, &c, origin)
			for _, e := range fileErrs {
				if k := keyOf(e); k != "" {
					unread[k] = true
				}
			}
			errs = append(errs, fileErrs...)
		}
	}

	byEnv := map[string]field{}
	for _, f := range fields(&c) {
		byEnv[f.env()] = f
	}
	for _, name := range slices.Sorted(maps.Keys(env)) {
		src := Source{Env: name}
		f, ok := byEnv[name]
		switch {
		case ok:
			if msg := f.setText(env[name]); msg != "" {
				errs = append(errs, problemf(src, f.key(), "%s", msg))
				unread[f.key()] = true
			} else {
				set(f.key(), src)
			}
		case name == configEnv, serviceLink(name, env[name]):
		default:
			errs = append(errs, problemf(src, "", "unknown variable%s", didYouMean(nearestEnv(name))))
		}
	}

	for _, f := range fields(&c) {
		if vals := *l.flags[f.name]; len(vals) > 0 {
			src := Source{Flag: f.name}
			if msg := f.setFlag(vals); msg != "" {
				errs = append(errs, problemf(src, f.key(), "%s", msg))
				unread[f.key()] = true
			} else {
				set(f.key(), src)
			}
		}
	}
	return c, origin, unread, errs
}

// environMap keeps the GATEWAY_* variables of a KEY=VALUE list; the first of a name wins,
// as with os.Getenv.
func environMap(environ []string) map[string]string {
	m := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if _, seen := m[k]; !seen && strings.HasPrefix(k, envPrefix) {
			m[k] = v
		}
	}
	return m
}

// kubernetesLink matches the variables Kubernetes puts in every pod for a Service (and
// Docker for a --link) named "gateway": GATEWAY_SERVICE_HOST, GATEWAY_SERVICE_PORT(_NAME),
// GATEWAY_PORT_8443_TCP(_PROTO|_PORT|_ADDR). They are not settings; refusing them would
// stop the gateway from starting beside a Service of that name.
var kubernetesLink = regexp.MustCompile(`^GATEWAY_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)$`)

// serviceLink reports whether an unknown variable is one of those; GATEWAY_PORT itself
// only with the tcp://host:port value they give it.
func serviceLink(name, value string) bool {
	if name == envPrefix+"PORT" {
		return strings.HasPrefix(value, "tcp://") || strings.HasPrefix(value, "udp://") || strings.HasPrefix(value, "sctp://")
	}
	return kubernetesLink.MatchString(name)
}
