//go:build e2e

/*
Copyright 2026 The Kubetink Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubetink/kubetink/test/e2e/localenv"
)

// Where Tinkerbell served what, by release (upstream github.com/tinkerbell/tinkerbell at the tag named; the legacy
// stack is github.com/tinkerbell/charts stack 0.6.2):
//
//   - legacy stack 0.6.2: Hegel's EC2-style metadata on 50061 (stack/charts/hegel/values.yaml), the Hook artifacts
//     from the stack's nginx on 8080 (stack/values.yaml).
//   - v0.21.0: Smee's HTTP on 7171 (smee/smee.go DefaultHTTPPort), with the iPXE binaries under /ipxe/
//     (/ipxe/<file>, /ipxe/<mac>/<file>), every other path to the script handler, which answers only
//     .../auto.ipxe (/auto.ipxe by the client's IP, /<mac>/auto.ipxe by MAC), and the patched ISOs under
//     /iso/<mac>/<name>.iso; Tootles on 7172 (helm/tinkerbell/values.yaml tootles bindPort; the binary's own
//     default is still 50061, cmd/tinkerbell/cmd.go).
//   - v0.22.0: the script moved to /ipxe/script/ and the binaries to /ipxe/binary/ (smee/smee.go IPXEScriptURI,
//     IPXEBinaryURI); /iso/ stayed (ISOURI). Ports unchanged (7171 and 7172, HTTPS 7272 new).
//   - v0.23.0: Smee, Tootles and the UI on one HTTP port 7080 and one HTTPS port 7443 (cmd/tinkerbell/defaults.go).
//   - v0.24.0 and v0.25.0: the same routes on 7080 (cmd/tinkerbell/http.go); the UI (enabled by the chart,
//     helm/tinkerbell/values.yaml enableUI, at urlPrefix "/") gets every path no other route takes, and answers
//     404 for those it does not know (ui/ui.go registers no catch-all route).

const (
	// urlsFrom is the release the objects of urlsObjects were written for. Its CRDs are not in the module proxy;
	// upstream's v0.22.1 CRDs, which only add fields to v0.21.0's (Hardware isoboot and DHCP options; none used
	// here), stand in for them.
	urlsFrom = "v0.21.0"
	// urlsCRDsRelease is the release of the upstream CRD files read from upstreamCRDsDir.
	urlsCRDsRelease = "v0.22.1"
	// upstreamCRDsDir holds upstream's CRD files, relative to the repository root (tinkerbell-repo-<tag>.<version>.<file>).
	upstreamCRDsDir = "../shared/upstream/crds"
	// urlsHTTPPort is the release's HTTP port, the one the migrated URLs name (v0.23.0 and later).
	urlsHTTPPort = localenv.TinkerbellHTTPPort
	// artifactsFileServer is spec.artifactsFileServer: the OSIE URL of the iPXE script.
	artifactsFileServer = "http://192.168.2.112:7173"
)

// urlsObjects are the objects TestMigratedURLsServedByRealTinkerbell migrates.
var urlsObjects = filepath.Join("testdata", "objects", "urls-v0.21.0.yaml")

// urlMachine is a machine of urlsObjects.
type urlMachine struct {
	name, ip, mac string
	// ipxeURL is the Hardware's netboot.ipxe.url after the migration, if it has one: Smee then answers the
	// machine's script request with a script that chains to it.
	ipxeURL string
}

var (
	urlsMachine1 = urlMachine{name: "machine1", ip: "10.1.1.5", mac: "02:00:00:00:00:01"}
	urlsMachine2 = urlMachine{name: "machine2", ip: "10.1.1.6", mac: "02:00:00:00:00:02", ipxeURL: newURL("/ipxe/script/auto.ipxe")}
)

// urlMove is one URL on Tinkerbell's address in an object of urlsObjects: as it is written for v0.21.0 and as it
// must read once migrated to v0.24.0 or later.
type urlMove struct {
	object   string // kind/name
	old, new string
	// machine is who fetches it: the machine the object boots or describes.
	machine urlMachine
}

// urlMoves lists every URL on Tinkerbell's address in urlsObjects. Tinkerbell's URLs are exactly these, before
// and after the migration; any other URL must not change.
var urlMoves = []urlMove{
	// Hegel's metadata base URL, as cloud-init's EC2 datasource takes it: Tootles answers the same paths.
	{"Hardware/machine1", urlAt(50061, ""), newURL(""), urlsMachine1},
	// The iPXE script by client IP: /auto.ipxe until v0.22.0.
	{"Hardware/machine2", urlAt(7171, "/auto.ipxe"), newURL("/ipxe/script/auto.ipxe"), urlsMachine2},
	{"Template/provision", urlAt(7171, "/ipxe/snp-x86_64.efi"), newURL("/ipxe/binary/snp-x86_64.efi"), urlsMachine1},
	// The iPXE script by MAC: /<mac>/auto.ipxe until v0.22.0.
	{"Template/provision", urlAt(7171, "/02:00:00:00:00:01/auto.ipxe"), newURL("/ipxe/script/02:00:00:00:00:01/auto.ipxe"), urlsMachine1},
	{"Template/provision", urlAt(7172, "/2009-04-04/meta-data/hostname"), newURL("/2009-04-04/meta-data/hostname"), urlsMachine1},
	{"Template/provision", urlAt(7172, ""), newURL(""), urlsMachine1},
	{"Workflow/provision-machine1", urlAt(7171, "/iso/02:00:00:00:00:01/hook.iso"), newURL("/iso/02:00:00:00:00:01/hook.iso"), urlsMachine1},
	{"Job/mount-hook-machine1", urlAt(7171, "/iso/02:00:00:00:00:01/hook.iso"), newURL("/iso/02:00:00:00:00:01/hook.iso"), urlsMachine1},
	{"Task/mount-hook-machine1-task-1", urlAt(7171, "/iso/02:00:00:00:00:01/hook.iso"), newURL("/iso/02:00:00:00:00:01/hook.iso"), urlsMachine1},
}

// machineOf returns the machine that uses the URLs of an object of urlMoves ("kind/name").
func machineOf(object string) urlMachine {
	for _, m := range urlMoves {
		if m.object == object {
			return m.machine
		}
	}
	return urlMachine{name: "no machine of " + object}
}

// urlAt is a URL on Tinkerbell's address at a port.
func urlAt(port int, p string) string {
	return "http://" + net.JoinHostPort(publicIP, strconv.Itoa(port)) + p
}

// newURL is a URL on Tinkerbell's address at the HTTP port of v0.23.0 and later.
func newURL(p string) string { return urlAt(urlsHTTPPort, p) }

// urlKinds are the kinds whose objects hold URLs.
var urlKinds = []schema.GroupVersionKind{
	hardwareGVK, templateGVK, workflowGVK,
	{Group: "bmc.tinkerbell.org", Version: "v1alpha1", Kind: "Job"},
	{Group: "bmc.tinkerbell.org", Version: "v1alpha1", Kind: "Task"},
}

// TestMigratedURLsServedByRealTinkerbell checks, against the real binary of each release with one, that the URLs
// the migrations write for an upgrade from v0.21.0 are served, and that those they replace are not. For each
// release it starts only a kube-apiserver, creates the objects of urlsObjects on upstream's CRDs, runs the
// upgrade's migrations, starts the real Tinkerbell on loopback, and then, as the machines would, requests every URL
// on Tinkerbell's address found in the objects: each must be served with what that machine expects, the URL it
// replaced must find no listener, and the old path on the new port must be 404.
func TestMigratedURLsServedByRealTinkerbell(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"v0.24.0", "v0.25.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ctx := context.Background()
			start := time.Now()
			bin := tinkerbellImages[localenv.TinkerbellRepository+":"+version]
			if bin == "" {
				t.Fatalf("no real Tinkerbell %s in TINKERBELL_BINARIES: run through make test-e2e, which builds it", version)
			}
			env := startControlPlane(t, upstreamCRDs(t, urlsCRDsRelease)...)
			g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: target}})).To(Succeed())
			applyObjects(t, env, filepath.Join(repoRoot, "test", "e2e", urlsObjects))
			wantBefore := movedURLs(func(m urlMove) string { return m.old })
			wantAfter := movedURLs(func(m urlMove) string { return m.new })
			before := objectURLs(g, env)
			g.Expect(tinkerbellURLs(before)).To(Equal(wantBefore), "the URLs on Tinkerbell's address in %s", urlsObjects)

			// The upgrade: the pre-upgrade migrations on the old CRDs, the new release (whose binary installs
			// its CRDs before it serves), then the post-upgrade migrations. Their URL moves are written by hand
			// for now: kubetink migrate moves only the ports of Templates and Hardware yet, not the paths, nor
			// Workflows and bmc objects.
			runMigrate(t, env, version, "pre")
			iso := isoServer(t)
			tink, err := env.StartTinkerbell(ctx, "tinkerbell-"+version, bin, target, tinkerbellEnv(iso))
			g.Expect(err).NotTo(HaveOccurred())
			migrateByHand(t, env)

			// What the migrations wrote: every URL on Tinkerbell's address as urlMoves has it, every other as
			// it was. Failures from here on do not stop the test, so that it tells what the real Tinkerbell
			// makes of each URL.
			soft := NewGomega(func(message string, _ ...int) { t.Helper(); t.Error(message) })
			after := objectURLs(g, env)
			soft.Expect(tinkerbellURLs(after)).To(Equal(wantAfter), "the URLs on Tinkerbell's address after the migrations")
			soft.Expect(otherURLs(after)).To(Equal(otherURLs(before)), "URLs on other hosts are not Tinkerbell's and stay")

			// Every URL on Tinkerbell's address in the migrated objects is served to the machine that uses it.
			c := machineHTTPClient(tink)
			for _, e := range tinkerbellURLs(after) {
				object, raw, _ := strings.Cut(e, " ")
				m := machineOf(object)
				var what string
				if soft.Eventually(func(g Gomega) { what = expectServed(g, c, raw, m) }).WithTimeout(10*time.Second).WithPolling(poll).
					Should(Succeed(), "%s: %s fetches %s", object, m.name, raw) {
					t.Logf("%s: %s %s: %s", object, m.name, raw, what)
				}
			}
			// The URLs they replaced are not: their ports have no listener, and their paths, where they
			// changed, are 404 on the new port. Only now that the same machines are served is a 404 a verdict
			// on the path.
			for _, e := range tinkerbellURLs(before) {
				object, raw, _ := strings.Cut(e, " ")
				m := machineOf(object)
				code, body, err := fetch(c, raw, m.ip)
				soft.Expect(errors.Is(err, syscall.ECONNREFUSED)).To(BeTrue(), "%s: %s reaches Tinkerbell %s: %d %v %.80q", object, raw, version, code, err, body)
				samePath := withPort(raw, urlsHTTPPort)
				if slices.Contains(wantAfter, object+" "+samePath) {
					t.Logf("%s: %s: connection refused (the path is the same on %d)", object, raw, urlsHTTPPort)
					continue
				}
				code, body, err = fetch(c, samePath, m.ip)
				soft.Expect(err).NotTo(HaveOccurred(), "GET %s", samePath)
				soft.Expect(code).To(Equal(http.StatusNotFound), "%s: the old path %s is served by Tinkerbell %s: %.200q", object, samePath, version, body)
				t.Logf("%s: %s: connection refused; %s as %s: %d %.40q", object, raw, samePath, m.name, code, body)
			}
			if !t.Failed() {
				t.Logf("FIGURE Tinkerbell %s serves the %d migrated URLs and none they replaced: %s", version, len(urlMoves), time.Since(start).Round(100*time.Millisecond))
			}
		})
	}
}

// startControlPlane starts a kube-apiserver and etcd with the CRDs of crdPaths for the test, and stops them and
// what runs against them when the test ends, printing the ends of the logs when it failed.
func startControlPlane(t *testing.T, crdPaths ...string) *localenv.Env {
	t.Helper()
	env, err := localenv.StartControlPlane(localenv.Options{
		WorkDir:         workDir(t),
		ControlPlaneDir: os.Getenv("KUBEBUILDER_ASSETS"),
		Logf:            func(format string, args ...any) { t.Logf(format, args...) },
	}, crdPaths...)
	if err != nil {
		t.Fatalf("failed to start kube-apiserver and etcd: %v", err)
	}
	envsMu.Lock()
	envs = append(envs, env)
	envsMu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range env.LogNames() {
				t.Logf("--- last lines of %s.log:\n%s", name, env.LogTail(name, 40))
			}
			t.Logf("logs: %s", env.LogDir)
		}
		env.Stop()
	})
	return env
}

// upstreamCRDs returns upstream's v1alpha1 CRD files of a release (Hardware, Template, Workflow, WorkflowRuleSet,
// and Rufio's Machine, Job and Task) from upstreamCRDsDir.
func upstreamCRDs(t *testing.T, release string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, upstreamCRDsDir, "tinkerbell-repo-"+release+".v1alpha1.*.yaml"))
	if err != nil || len(files) != 7 {
		t.Fatalf("want upstream's 7 v1alpha1 CRDs of %s in %s, found %v (%v)", release, upstreamCRDsDir, files, err)
	}
	return files
}

// runMigrate runs the kubetink binary's migrations of the upgrade from urlsFrom to version in one phase.
func runMigrate(t *testing.T, env *localenv.Env, version, phase string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"migrate", "--kubeconfig", env.Kubeconfig, "--from", urlsFrom, "--to", version, "--phase", phase,
		"--public-ip", publicIP, "--verbose"}
	out, err := exec.CommandContext(ctx, kubetinkBin, args...).CombinedOutput()
	t.Logf("$ kubetink %s\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("kubetink migrate --phase %s: %v", phase, err)
	}
}

// migrateByHand writes, in place of the post-upgrade migrations, the URLs urlMoves expects them to write.
func migrateByHand(t *testing.T, env *localenv.Env) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	moves := map[string]map[string]string{}
	for _, m := range urlMoves {
		if moves[m.object] == nil {
			moves[m.object] = map[string]string{}
		}
		moves[m.object][m.old] = m.new
	}
	for _, gvk := range urlKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk)
		g.Expect(env.Client.List(ctx, list, client.InNamespace(target))).To(Succeed())
		for i := range list.Items {
			obj := &list.Items[i]
			byOld := moves[gvk.Kind+"/"+obj.GetName()]
			if byOld == nil {
				continue
			}
			obj.Object["spec"] = mapStrings(obj.Object["spec"], func(s string) string {
				return urlPattern.ReplaceAllStringFunc(s, func(u string) string {
					if n, ok := byOld[u]; ok {
						return n
					}
					return u
				})
			})
			g.Expect(env.Client.Update(ctx, obj)).To(Succeed())
		}
	}
}

// mapStrings returns v with f applied to every string in it.
func mapStrings(v any, f func(string) string) any {
	switch v := v.(type) {
	case string:
		return f(v)
	case map[string]any:
		for k, e := range v {
			v[k] = mapStrings(e, f)
		}
	case []any:
		for i, e := range v {
			v[i] = mapStrings(e, f)
		}
	}
	return v
}

// urlPattern matches an http(s) URL in free text: up to white space, a quote, a comma or a closing bracket.
var urlPattern = regexp.MustCompile(`https?://[^\s"'<>,\]]+`)

// objectURLs returns the URLs in the specs of the objects of urlKinds in the target namespace, as "kind/name url",
// sorted.
func objectURLs(g Gomega, env *localenv.Env) []string {
	var out []string
	for _, gvk := range urlKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk)
		g.Expect(env.Client.List(context.Background(), list, client.InNamespace(target))).To(Succeed())
		for _, obj := range list.Items {
			mapStrings(obj.Object["spec"], func(s string) string {
				for _, u := range urlPattern.FindAllString(s, -1) {
					out = append(out, gvk.Kind+"/"+obj.GetName()+" "+u)
				}
				return s
			})
		}
	}
	slices.Sort(out)
	return out
}

// tinkerbellURLs keeps the entries of objectURLs whose URL is on Tinkerbell's address; otherURLs the others.
func tinkerbellURLs(entries []string) []string {
	return slices.DeleteFunc(slices.Clone(entries), func(e string) bool { return !onTinkerbell(e) })
}

func otherURLs(entries []string) []string {
	return slices.DeleteFunc(slices.Clone(entries), onTinkerbell)
}

func onTinkerbell(entry string) bool {
	_, raw, _ := strings.Cut(entry, " ")
	u, err := url.Parse(raw)
	return err == nil && u.Hostname() == publicIP
}

// movedURLs returns one side of urlMoves as objectURLs would list it.
func movedURLs(side func(urlMove) string) []string {
	out := make([]string, 0, len(urlMoves))
	for _, m := range urlMoves {
		out = append(out, m.object+" "+side(m))
	}
	slices.Sort(out)
	return out
}

// withPort returns raw with its port replaced.
func withPort(raw string, port int) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
	return u.String()
}

// isoMagic stands in for the string HookOS's ISO carries for Smee to overwrite with the machine's kernel
// parameters (TINKERBELL_ISO_PATCH_MAGIC_STRING; upstream's default is smee/smee.go isoMagicString). It must be
// longer than what Smee writes over it.
var isoMagic = strings.Repeat("kubetink-e2e-iso-magic-", 48)

// isoServer serves a stand-in HookOS ISO on loopback, as the artifacts file server would serve the real one; it
// is what Smee reads and patches for /iso/ requests (TINKERBELL_ISO_UPSTREAM_URL).
func isoServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hook-x86_64-efi-initrd.iso" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "CD001 stand-in HookOS ISO\n"+isoMagic+"\n")
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook-x86_64-efi-initrd.iso"
}

// tinkerbellEnv is the environment of the tinkerbell container as the release's chart would set it with the
// values Kubetink generates, for a user who boots machines from ISOs. localenv adds its loopback overrides.
func tinkerbellEnv(isoURL string) map[string]string {
	return map[string]string{
		// From the Tinkerbell spec (internal/values): spec.publicIP, spec.artifactsFileServer, and the trusted
		// proxies from the Nodes' pod CIDRs, here loopback, where the test's requests come from.
		"TINKERBELL_PUBLIC_IPV4":               publicIP,
		"TINKERBELL_IPXE_HTTP_SCRIPT_OSIE_URL": artifactsFileServer,
		"TINKERBELL_TRUSTED_PROXIES":           loopbackPodCIDR,
		// The chart's defaults at v0.24.0 and v0.25.0 (helm/tinkerbell/values.yaml): the ports, the UI, ISO mode.
		"TINKERBELL_HTTP_PORT":               strconv.Itoa(urlsHTTPPort),
		"TINKERBELL_HTTPS_PORT":              "7443",
		"TINKERBELL_ENABLE_UI":               "true",
		"TINKERBELL_ISO_ENABLED":             "true",
		"TINKERBELL_ISO_STATIC_IPAM_ENABLED": "true",
		// What a user who boots from ISOs sets in spec.values: the chart leaves the ISO empty, and v0.21.0's
		// Hardware cannot name one (isoboot.sourceISO came with v0.22.0's CRD), so without it /iso/ answers 400.
		"TINKERBELL_ISO_UPSTREAM_URL":       isoURL,
		"TINKERBELL_ISO_PATCH_MAGIC_STRING": isoMagic,
		// Off: they serve no URL, and would act on the objects (the Tink controller makes bmc Jobs for an
		// isoboot Workflow, Rufio runs them against a BMC that does not exist).
		"TINKERBELL_ENABLE_TINK_CONTROLLER":  "false",
		"TINKERBELL_ENABLE_RUFIO_CONTROLLER": "false",
		"TINKERBELL_ENABLE_SECONDSTAR":       "false",
	}
}

// machineHTTPClient returns an HTTP client that reaches Tinkerbell as the machines do, at the public IP and the
// ports the URLs name, although the binary listens on loopback ports picked for the test. Only the dialer
// changes: publicIP:<port> goes to the loopback port the binary listens on for that container port, as the
// chart's Service forwards its ports to the Pod's; any other port of the public IP is refused, as at a
// Service without it; other hosts are not dialled at all. The request itself (URL, Host header) is exactly the
// machine's, so no URL has to be rewritten to be fetched, and an unmigrated one fails the way it would at a site.
func machineHTTPClient(tink *localenv.Tinkerbell) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		// Never follow redirects: a redirect is an answer of its own.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, port, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				if host != publicIP {
					return nil, fmt.Errorf("%s is not Tinkerbell's address", addr)
				}
				for containerPort, hostPort := range tink.Ports {
					if strconv.Itoa(int(containerPort)) == port {
						return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort)))
					}
				}
				return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
			},
		},
	}
}

// fetch GETs raw as the machine with IP forwardedFor, behind a trusted proxy (X-Forwarded-For), and returns the
// status code and body.
func fetch(c *http.Client, raw, forwardedFor string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-Forwarded-For", forwardedFor)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, string(body), err
}

// expectServed fetches a URL on Tinkerbell's address as machine m, checks that Tinkerbell answers it with what m
// would boot or read (smee/internal/ipxe/script/ipxe.go, smee/internal/ipxe/binary, smee/internal/iso/iso.go and
// tootles at v0.24.0 and v0.25.0), and says what it got.
func expectServed(g Gomega, c *http.Client, raw string, m urlMachine) string {
	u, err := url.Parse(raw)
	g.Expect(err).NotTo(HaveOccurred())
	p := u.Path
	if p == "" || p == "/" {
		// A metadata base URL (cloud-init's EC2 datasource): the client appends the EC2 paths.
		raw, p = strings.TrimSuffix(raw, "/")+"/2009-04-04/meta-data/hostname", "/2009-04-04/meta-data/hostname"
	}
	code, body, err := fetch(c, raw, m.ip)
	g.Expect(err).NotTo(HaveOccurred(), "GET %s", raw)
	g.Expect(code).To(Equal(http.StatusOK), "GET %s as %s: %.200q", raw, m.name, body)
	switch {
	case p == "/2009-04-04/meta-data/hostname":
		// Tootles finds the machine by its IP.
		g.Expect(strings.TrimSpace(body)).To(Equal(m.name))
		return fmt.Sprintf("%s/2009-04-04/meta-data/hostname is %q", strings.TrimSuffix(u.String(), "/2009-04-04/meta-data/hostname"), strings.TrimSpace(body))
	case strings.HasPrefix(p, "/ipxe/script/"):
		// By the MAC in the path if there is one, else by the client's IP; a Hardware with netboot.ipxe.url gets a
		// script that chains to it (so a URL on Smee's own script there loops, in every release).
		g.Expect(body).To(HavePrefix("#!ipxe"))
		switch mac, err := net.ParseMAC(path.Base(path.Dir(p))); {
		case err == nil:
			g.Expect(body).To(ContainSubstring("worker_id=" + mac.String()))
			g.Expect(body).To(ContainSubstring("set download-url " + artifactsFileServer))
			return "the iPXE script booting Hook for " + mac.String()
		case m.ipxeURL != "":
			g.Expect(body).To(ContainSubstring("chain --autofree " + m.ipxeURL))
			return "the custom iPXE script of its Hardware, chain --autofree " + m.ipxeURL
		default:
			g.Expect(body).To(ContainSubstring("worker_id=" + m.mac))
			return "the iPXE script booting Hook for " + m.mac
		}
	case strings.HasPrefix(p, "/ipxe/binary/"):
		// One of the iPXE binaries embedded in Smee; the EFI ones are PE images.
		g.Expect(body).NotTo(BeEmpty())
		if path.Ext(p) == ".efi" {
			g.Expect(body).To(HavePrefix("MZ"))
		}
		return fmt.Sprintf("the iPXE binary %s, %d bytes", path.Base(p), len(body))
	case strings.HasPrefix(p, "/iso/"):
		// The ISO from TINKERBELL_ISO_UPSTREAM_URL, with the machine's kernel parameters over the magic string.
		mac, err := net.ParseMAC(path.Base(path.Dir(p)))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(body).To(HavePrefix("CD001 stand-in HookOS ISO"))
		g.Expect(body).To(ContainSubstring("worker_id=" + mac.String()))
		g.Expect(body).NotTo(ContainSubstring(isoMagic))
		return "the ISO patched for " + mac.String()
	}
	g.Expect(p).To(BeEmpty(), "no check for what Tinkerbell serves at %s", raw)
	return ""
}
