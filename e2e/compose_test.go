package e2e

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// composeCmd is one Compose implementation: docker-compose (1.29, Debian's) or the
// docker compose plugin (v2).
type composeCmd struct {
	name string
	argv []string
}

// composeImplementations lists the Compose commands on this machine. docker-compose is a
// tool CI installs (missing: fail under CI); Compose v2 is tested where present (Debian
// 12 does not package it): the docker compose plugin, or the binary E2E_COMPOSE_V2 names.
func composeImplementations(t *testing.T, d *docker) []composeCmd {
	var out []composeCmd
	if _, err := exec.LookPath("docker-compose"); err == nil || os.Getenv("CI") != "" {
		out = append(out, composeCmd{"docker-compose", []string{testenv.NeedTool(t, "docker-compose")}})
	}
	switch v2 := os.Getenv("E2E_COMPOSE_V2"); {
	case v2 != "": // a Compose v2 binary run on its own (go install github.com/docker/compose/v2/cmd)
		out = append(out, composeCmd{"compose-v2", []string{v2}})
	default:
		if _, _, err := d.try("", "compose", "version"); err == nil {
			out = append(out, composeCmd{"compose-v2", []string{d.bin, "compose"}})
		} else {
			t.Logf("Compose v2 (docker compose) is not installed here; testing docker-compose only (E2E_COMPOSE_V2=/path/to/compose-v2 adds it)")
		}
	}
	if len(out) == 0 {
		t.Skip("no docker-compose and no docker compose plugin")
	}
	return out
}

// TestCompose brings up each profile of deploy/compose.yaml with each Compose
// implementation, waits for the gateway's HEALTHCHECK, pushes and pulls with skopeo
// through the published port, checks the sidecar's registry publishes none, then tears
// down with down -v and checks that no container, network or volume of the project is
// left.
func TestCompose(t *testing.T) {
	t.Parallel()
	d := newDockerUntrusted(t)
	testenv.NeedTool(t, "skopeo")
	impls := composeImplementations(t, d)
	dir := cleanCheckout(t)
	image := gatewayImage(t)
	registry := registryImage(t)
	file := filepath.Join(dir, "deploy", "compose.yaml")

	for _, impl := range impls {
		for _, profile := range []struct{ name, service string }{
			{"standalone", "gateway"},
			{"sidecar", "gateway-sidecar"},
		} {
			t.Run(impl.name+"/"+profile.name, func(t *testing.T) {
				t.Parallel()
				project := "pcullis" + strings.ToLower(rand.Text()[:8])
				https, http := freeAddr(t), freeAddr(t)
				_, httpsPort, _ := strings.Cut(https, ":")
				_, httpPort, _ := strings.Cut(http, ":")
				env := append(os.Environ(),
					"PORTCULLIS_IMAGE="+image, "PORTCULLIS_REGISTRY_IMAGE="+registry,
					"PORTCULLIS_BIND=127.0.0.1", "PORTCULLIS_HEALTH_INTERVAL=1s", "PORTCULLIS_HTTPS_PORT="+httpsPort, "PORTCULLIS_HTTP_PORT="+httpPort,
					"DOCKER_CONFIG="+d.config)
				compose := func(args ...string) (string, error) {
					argv := append(append(append([]string{}, impl.argv...), "-p", project, "-f", file, "--profile", profile.name), args...)
					cmd := exec.CommandContext(t.Context(), argv[0], argv[1:]...)
					cmd.Env = env
					out, err := cmd.CombinedOutput()
					return string(out), err
				}
				down := func() (time.Duration, error) {
					start := time.Now()
					out, err := compose("down", "-v", "--remove-orphans", "-t", "20")
					if err != nil {
						t.Logf("compose down: %v\n%s", err, out)
					}
					return time.Since(start), err
				}
				t.Cleanup(func() {
					if !t.Failed() {
						return
					}
					if out, _ := compose("logs", "--no-color"); out != "" {
						t.Logf("compose logs:\n%s", out)
					}
					down()
				})

				start := time.Now()
				if out, err := compose("up", "-d"); err != nil {
					t.Fatalf("compose up: %v\n%s", err, out)
				}
				ids, err := compose("ps", "-q", profile.service)
				gw := strings.TrimSpace(ids)
				if err != nil || gw == "" {
					t.Fatalf("compose ps -q %s: %q %v", profile.service, ids, err)
				}
				d.waitHealthy(gw)
				upTook := time.Since(start)

				g, pass := d.gatewayFromContainer(gw, https)
				pushPull(t, g, "admin", pass, "admin/compose-"+profile.name)
				if out, errOut, _ := d.try("", "logs", gw); !strings.Contains(out+errOut, "docker login localhost:"+httpsPort) {
					t.Errorf("startup hints do not name the published port %s:\n%s", httpsPort, errOut)
				}
				if profile.name == "sidecar" {
					reg, _ := compose("ps", "-q", "registry")
					reg = strings.TrimSpace(reg)
					if ports := strings.TrimSpace(d.run("", "port", reg)); ports != "" {
						t.Errorf("the sidecar registry publishes ports: %s", ports)
					}
					if out, errOut, _ := d.try("", "logs", gw); !strings.Contains(out+errOut, "upstream http://registry:5000") {
						t.Errorf("the sidecar gateway does not front the registry service:\n%s", errOut)
					}
					if out, errOut, _ := d.try("", "logs", reg); !strings.Contains(out+errOut, "admin/compose-sidecar") {
						t.Errorf("the push did not reach the registry container")
					}
				}

				took, err := down()
				if err != nil {
					t.Fatal("compose down failed")
				}
				label := "label=com.docker.compose.project=" + project
				for _, what := range [][]string{
					{"ps", "-a", "-q", "--filter", label},
					{"network", "ls", "-q", "--filter", label},
					{"volume", "ls", "-q", "--filter", label},
				} {
					if left := strings.TrimSpace(d.run("", what...)); left != "" {
						t.Errorf("after down -v, docker %s still lists %s", strings.Join(what[:2], " "), left)
						cleanupCmd(d.bin, append([]string{what[0], "rm", "-f"}, strings.Fields(left)...)...)
					}
				}
				t.Logf("%s %s: up until healthy %v, down -v %v", impl.name, profile.name, upTook.Round(100*time.Millisecond), took.Round(100*time.Millisecond))
			})
		}
	}
}
