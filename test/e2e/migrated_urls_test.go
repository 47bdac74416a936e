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
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
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
//     IPXEBinaryURI); /iso/ stayed (ISOURI). Ports unchanged, and with a certificate Smee serves the same paths
//     over HTTPS on 7272 (smee/smee.go DefaultHTTPSPort; Tootles has no HTTPS).
//   - v0.23.0: Smee, Tootles and the UI on one HTTP port 7080 and one HTTPS port 7443 (cmd/tinkerbell/defaults.go).
//   - v0.24.0 and v0.25.0: the same routes on 7080 (cmd/tinkerbell/http.go); the UI (enabled by the chart,
//     helm/tinkerbell/values.yaml enableUI, at urlPrefix "/") gets every path no other route takes, and answers
//     404 for those it does not know (ui/ui.go registers no catch-all route). On 7443 only the ISOs, Tootles and
//     the UI are served, no iPXE script or binary; and with a certificate, HTTP requests for Tootles and the UI
//     are redirected to HTTPS (WithHTTPSEnabled, WithRewriteHTTPToHTTPS).

const (
	// httpPort and httpsPort are the ports the migrated URLs name (v0.23.0 and later).
	httpPort  = localenv.TinkerbellHTTPPort
	httpsPort = 7443
	// urlsCRDsRelease is the release of the upstream CRDs the objects are created on. The releases the scenarios
	// start from are not in the module proxy; v0.22.1's CRDs are theirs, or only add fields to them (v0.21.0:
	// Hardware isoboot and DHCP options, none used here).
	urlsCRDsRelease = "v0.22.1"
	// upstreamCRDsDir holds upstream's CRD files (tinkerbell-repo-<tag>.<version>.<file>), relative to the
	// repository root.
	upstreamCRDsDir = "../shared/upstream/crds"
	// artifactsFileServer is spec.artifactsFileServer: the OSIE URL of the iPXE script.
	artifactsFileServer = "http://192.168.2.112:7173"
)

// urlScenario is an upgrade whose URL moves the test checks: objects as a user of a release has them, in a
// namespace of their own, served after the upgrade by a Tinkerbell of their own that watches only that namespace.
type urlScenario struct {
	name string
	// from is the release the objects were written for.
	from      string
	namespace string
	// objects is the file under testdata/objects.
	objects string
	// moves lists every URL on Tinkerbell's address in the objects. Tinkerbell's URLs are exactly these, before
	// and after the migration; any other URL must not change.
	moves []urlMove
	// tls gives Tinkerbell a certificate for its public IP, as the user's had.
	tls bool
}

// urlMachine is a machine of the objects.
type urlMachine struct {
	name, ip, mac string
	// ipxeURL is the Hardware's netboot.ipxe.url after the migration, if it has one: Smee then answers the
	// machine's script request with a script that chains to it.
	ipxeURL string
}

// urlMove is one URL on Tinkerbell's address in an object: as it is written for the old release and as it must
// read once migrated to v0.24.0 or later.
type urlMove struct {
	object   string // kind/name
	old, new string
	// machine is who fetches it: the machine the object boots or describes.
	machine urlMachine
	// gone says that no release from v0.23.0 serves the URL anywhere, so the migration leaves it as it is.
	gone bool
}

var (
	urlsMachine1 = urlMachine{name: "machine1", ip: "10.1.1.5", mac: "02:00:00:00:00:01"}
	urlsMachine2 = urlMachine{name: "machine2", ip: "10.1.1.6", mac: "02:00:00:00:00:02", ipxeURL: tinkURL("http", httpPort, "/ipxe/script/auto.ipxe")}
	urlsMachine3 = urlMachine{name: "machine3", ip: "10.1.1.7", mac: "02:00:00:00:00:03", ipxeURL: tinkURL("https", 7272, "/ipxe/script/02:00:00:00:00:03/auto.ipxe")}
)

var urlScenarios = []urlScenario{{
	name: "from-v0.21.0", from: "v0.21.0", namespace: target, objects: "urls-v0.21.0.yaml",
	moves: []urlMove{
		// Hegel's metadata base URL, as cloud-init's EC2 datasource takes it: Tootles answers the same paths.
		{object: "Hardware/machine1", old: tinkURL("http", 50061, ""), new: tinkURL("http", httpPort, ""), machine: urlsMachine1},
		// The iPXE script by client IP: /auto.ipxe until v0.22.0.
		{object: "Hardware/machine2", old: tinkURL("http", 7171, "/auto.ipxe"), new: tinkURL("http", httpPort, "/ipxe/script/auto.ipxe"), machine: urlsMachine2},
		{object: "Template/provision", old: tinkURL("http", 7171, "/ipxe/snp-x86_64.efi"), new: tinkURL("http", httpPort, "/ipxe/binary/snp-x86_64.efi"), machine: urlsMachine1},
		// The iPXE script by MAC: /<mac>/auto.ipxe until v0.22.0.
		{object: "Template/provision", old: tinkURL("http", 7171, "/02:00:00:00:00:01/auto.ipxe"), new: tinkURL("http", httpPort, "/ipxe/script/02:00:00:00:00:01/auto.ipxe"), machine: urlsMachine1},
		{object: "Template/provision", old: tinkURL("http", 7172, "/2009-04-04/meta-data/hostname"), new: tinkURL("http", httpPort, "/2009-04-04/meta-data/hostname"), machine: urlsMachine1},
		{object: "Template/provision", old: tinkURL("http", 7172, ""), new: tinkURL("http", httpPort, ""), machine: urlsMachine1},
		{object: "Workflow/provision-machine1", old: tinkURL("http", 7171, "/iso/02:00:00:00:00:01/hook.iso"), new: tinkURL("http", httpPort, "/iso/02:00:00:00:00:01/hook.iso"), machine: urlsMachine1},
		{object: "Job/mount-hook-machine1", old: tinkURL("http", 7171, "/iso/02:00:00:00:00:01/hook.iso"), new: tinkURL("http", httpPort, "/iso/02:00:00:00:00:01/hook.iso"), machine: urlsMachine1},
		{object: "Task/mount-hook-machine1-task-1", old: tinkURL("http", 7171, "/iso/02:00:00:00:00:01/hook.iso"), new: tinkURL("http", httpPort, "/iso/02:00:00:00:00:01/hook.iso"), machine: urlsMachine1},
	},
}, {
	name: "from-v0.22.1-tls", from: "v0.22.1", namespace: "tinkerbell-tls", objects: "urls-v0.22.1-tls.yaml", tls: true,
	moves: []urlMove{
		// iPXE over HTTPS: 7443 serves no iPXE script, so the URL stays and stays unserved.
		{object: "Hardware/machine3", old: urlsMachine3.ipxeURL, new: urlsMachine3.ipxeURL, machine: urlsMachine3, gone: true},
		// Over HTTP, answered with a redirect to HTTPS.
		{object: "Template/hostname", old: tinkURL("http", 7172, "/2009-04-04/meta-data/hostname"), new: tinkURL("http", httpPort, "/2009-04-04/meta-data/hostname"), machine: urlsMachine3},
		{object: "Workflow/hostname-machine3", old: tinkURL("https", 7272, "/iso/02:00:00:00:00:03/hook.iso"), new: tinkURL("https", httpsPort, "/iso/02:00:00:00:00:03/hook.iso"), machine: urlsMachine3},
	},
}}

// tinkURL is a URL on Tinkerbell's address.
func tinkURL(scheme string, port int, p string) string {
	return scheme + "://" + net.JoinHostPort(publicIP, strconv.Itoa(port)) + p
}

// urlKinds are the kinds whose objects hold URLs.
var urlKinds = []schema.GroupVersionKind{
	hardwareGVK, templateGVK, workflowGVK,
	{Group: "bmc.tinkerbell.org", Version: "v1alpha1", Kind: "Job"},
	{Group: "bmc.tinkerbell.org", Version: "v1alpha1", Kind: "Task"},
}

// TestMigratedURLsServedByRealTinkerbell checks, against the real binary of each release with one, that the URLs
// the migrations write for an upgrade from an older release are served, and that those they replace are not. For
// each release it starts only a kube-apiserver with upstream's CRDs, and for each scenario creates the objects,
// runs the upgrade's migrations, starts the real Tinkerbell on loopback, and then, as the machines would,
// requests every URL on Tinkerbell's address found in the objects: each must be served with what that machine
// expects, the URL it replaced must find no listener, and the old path on the new port must be 404.
func TestMigratedURLsServedByRealTinkerbell(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"v0.24.0", "v0.25.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			bin := tinkerbellImages[localenv.TinkerbellRepository+":"+version]
			if bin == "" {
				t.Fatalf("no real Tinkerbell %s in TINKERBELL_BINARIES: run through make test-e2e, which builds it", version)
			}
			start := time.Now()
			env := startControlPlane(t, upstreamCRDs(t, urlsCRDsRelease)...)
			iso := isoServer(t)
			// Every scenario's objects and pre-upgrade migrations on the old CRDs, before the first binary of
			// the new release installs its own.
			before := map[string][]string{}
			for _, sc := range urlScenarios {
				before[sc.name] = createAndMigratePre(t, env, version, sc)
			}
			for _, sc := range urlScenarios {
				t.Run(sc.name, func(t *testing.T) {
					start := time.Now()
					migratedURLsServed(t, env, version, bin, iso, sc, before[sc.name])
					if !t.Failed() {
						t.Logf("FIGURE Tinkerbell %s serves the %d URLs migrated %s: %s", version, len(sc.moves), sc.name, time.Since(start).Round(100*time.Millisecond))
					}
				})
			}
			if !t.Failed() {
				t.Logf("FIGURE Tinkerbell %s, both scenarios, control plane included: %s", version, time.Since(start).Round(100*time.Millisecond))
			}
		})
	}
}

// createAndMigratePre creates the objects of a scenario on the old CRDs, checks that their URLs on Tinkerbell's
// address are the scenario's, runs the pre-upgrade migrations of the upgrade to version, and returns the URLs of
// the objects (objectURLs).
func createAndMigratePre(t *testing.T, env *localenv.Env, version string, sc urlScenario) []string {
	t.Helper()
	g := NewWithT(t)
	g.Expect(env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sc.namespace}})).To(Succeed())
	applyObjects(t, env, filepath.Join(repoRoot, "test", "e2e", "testdata", "objects", sc.objects))
	before := objectURLs(g, env, sc.namespace)
	g.Expect(tinkerbellURLs(before)).To(Equal(movedURLs(sc.moves, func(m urlMove) string { return m.old })),
		"the URLs on Tinkerbell's address in %s", sc.objects)
	runMigrate(t, env, sc, version, "pre")
	return before
}

// migratedURLsServed finishes the upgrade of a scenario, whose objects had the URLs before, to the real
// Tinkerbell bin of version, and checks what it serves.
func migratedURLsServed(t *testing.T, env *localenv.Env, version, bin, isoURL string, sc urlScenario, before []string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	wantAfter := movedURLs(sc.moves, func(m urlMove) string { return m.new })

	// The rest of the upgrade, as the manager runs it: the new release (whose binary installs its CRDs before it
	// serves), then the post-upgrade migrations.
	tinkEnv := tinkerbellEnv(isoURL, sc.namespace)
	var roots *x509.CertPool
	if sc.tls {
		var certFile, keyFile string
		certFile, keyFile, roots = tlsCertificate(t)
		tinkEnv["TINKERBELL_TLS_CERT_FILE"], tinkEnv["TINKERBELL_TLS_KEY_FILE"] = certFile, keyFile
	}
	tink, err := env.StartTinkerbell(ctx, "tinkerbell-"+version+"-"+sc.name, bin, sc.namespace, tinkEnv)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = tink.Stop() })
	runMigrate(t, env, sc, version, "post")

	// What the migrations wrote: every URL on Tinkerbell's address as the scenario has it, every other as it
	// was. Failures from here on do not stop the test, so that it tells what the real Tinkerbell makes of each
	// URL.
	soft := NewGomega(func(message string, _ ...int) { t.Helper(); t.Error(message) })
	after := objectURLs(g, env, sc.namespace)
	soft.Expect(tinkerbellURLs(after)).To(Equal(wantAfter), "the URLs on Tinkerbell's address after the migrations")
	soft.Expect(otherURLs(after)).To(Equal(otherURLs(before)), "URLs on other hosts are not Tinkerbell's and stay")

	// Every URL on Tinkerbell's address in the migrated objects is served to the machine that uses it, but
	// those no release serves any more.
	c := machineHTTPClient(tink, roots)
	for _, e := range tinkerbellURLs(after) {
		object, raw, _ := strings.Cut(e, " ")
		m, ok := moveOf(sc.moves, object, raw, func(m urlMove) string { return m.new })
		if !ok || m.gone {
			continue
		}
		var what string
		if soft.Eventually(func(g Gomega) { what = expectServed(g, c, tink, raw, m.machine) }).WithTimeout(10*time.Second).WithPolling(poll).
			Should(Succeed(), "%s: %s fetches %s", object, m.machine.name, raw) {
			t.Logf("%s: %s %s: %s", object, m.machine.name, raw, what)
		}
	}
	// The URLs they replaced are not: their ports have no listener, and their paths, where they changed, are
	// 404 on the new port. Only now that the same machines are served is a 404 a verdict on the path.
	for _, e := range tinkerbellURLs(before) {
		object, raw, _ := strings.Cut(e, " ")
		m, _ := moveOf(sc.moves, object, raw, func(m urlMove) string { return m.old })
		a, err := fetch(c, raw, m.machine.ip)
		soft.Expect(errors.Is(err, syscall.ECONNREFUSED)).To(BeTrue(), "%s: %s reaches Tinkerbell %s: %d %v %.80q", object, raw, version, a.code, err, a.body)
		samePath := onNewPort(raw)
		if slices.Contains(wantAfter, object+" "+samePath) && !m.gone {
			t.Logf("%s: %s: connection refused (the path is the same on the new port)", object, raw)
			continue
		}
		a, err = fetch(c, samePath, m.machine.ip)
		soft.Expect(err).NotTo(HaveOccurred(), "GET %s", samePath)
		soft.Expect(a.code).To(Equal(http.StatusNotFound), "%s: the old path %s is served by Tinkerbell %s: %.200q", object, samePath, version, a.body)
		t.Logf("%s: %s: connection refused; %s as %s: %d %.40q", object, raw, samePath, m.machine.name, a.code, a.body)
	}
}

// moveOf returns the move of the scenario for an object's URL, old or new.
func moveOf(moves []urlMove, object, raw string, side func(urlMove) string) (urlMove, bool) {
	for _, m := range moves {
		if m.object == object && side(m) == raw {
			return m, true
		}
	}
	return urlMove{machine: urlMachine{name: "no machine"}}, false
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
	return stopAtCleanup(t, env)
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

// runMigrate runs one phase of the migrations of the scenario's upgrade to version with the kubetink binary, with
// the arguments the manager's migration Job gives it for a site with spec.publicIP and spec.artifactsFileServer
// serving the scenario's namespace (internal/migration JobArgs), and prints what it changed.
func runMigrate(t *testing.T, env *localenv.Env, sc urlScenario, version, phase string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"migrate", "--from=" + sc.from, "--to=" + version, "--phase=" + phase, "--public-ip=" + publicIP,
		"--artifacts-file-server=" + artifactsFileServer, "--namespace=" + sc.namespace,
		"--kubeconfig=" + env.Kubeconfig, "--verbose"}
	out, err := exec.CommandContext(ctx, kubetinkBin, args...).CombinedOutput()
	t.Logf("$ kubetink %s\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("kubetink migrate --phase %s: %v", phase, err)
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

// objectURLs returns the URLs in the specs of the objects of urlKinds in namespace, as "kind/name url", sorted.
func objectURLs(g Gomega, env *localenv.Env, namespace string) []string {
	var out []string
	for _, gvk := range urlKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk)
		g.Expect(env.Client.List(context.Background(), list, client.InNamespace(namespace))).To(Succeed())
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

// movedURLs returns one side of moves as objectURLs would list it.
func movedURLs(moves []urlMove, side func(urlMove) string) []string {
	out := make([]string, 0, len(moves))
	for _, m := range moves {
		out = append(out, m.object+" "+side(m))
	}
	slices.Sort(out)
	return out
}

// onNewPort returns a URL on Tinkerbell's address with the port of its scheme from v0.23.0 on.
func onNewPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	port := httpPort
	if u.Scheme == "https" {
		port = httpsPort
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

// tlsCertificate writes a self-signed certificate for the public IP and its key (RSA: iPXE supports no other)
// and returns their files and a pool that trusts the certificate.
func tlsCertificate(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: publicIP},
		IPAddresses:  []net.IP{net.ParseIP(publicIP)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// tinkerbellEnv is the environment of the tinkerbell container as the release's chart would set it with the
// values Kubetink generates for a site serving namespace, for a user who boots machines from ISOs. localenv
// adds its loopback overrides.
func tinkerbellEnv(isoURL, namespace string) map[string]string {
	return map[string]string{
		// From the Tinkerbell spec (internal/values): spec.publicIP, spec.artifactsFileServer, the trusted
		// proxies from the Nodes' pod CIDRs (here loopback, where the test's requests come from), and the
		// namespace a site with scope Namespace serves.
		"TINKERBELL_PUBLIC_IPV4":               publicIP,
		"TINKERBELL_IPXE_HTTP_SCRIPT_OSIE_URL": artifactsFileServer,
		"TINKERBELL_TRUSTED_PROXIES":           loopbackPodCIDR,
		"TINKERBELL_BACKEND_KUBE_NAMESPACE":    namespace,
		// The chart's defaults at v0.24.0 and v0.25.0 (helm/tinkerbell/values.yaml): the ports, the UI, ISO mode.
		"TINKERBELL_HTTP_PORT":               strconv.Itoa(httpPort),
		"TINKERBELL_HTTPS_PORT":              strconv.Itoa(httpsPort),
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
// Service without it; other hosts are not dialled at all. The request itself (URL, Host header, TLS server
// name) is exactly the machine's, so no URL has to be rewritten to be fetched, and an unmigrated one fails the
// way it would at a site. roots are the certificates trusted for HTTPS.
func machineHTTPClient(tink *localenv.Tinkerbell, roots *x509.CertPool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		// Never follow redirects: a redirect is an answer of its own.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:           nil,
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
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

// answer is Tinkerbell's answer to a request.
type answer struct {
	code           int
	body, location string
}

// fetch GETs raw as the machine with IP forwardedFor, behind a trusted proxy (X-Forwarded-For).
func fetch(c *http.Client, raw, forwardedFor string) (answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("X-Forwarded-For", forwardedFor)
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return answer{code: resp.StatusCode, body: string(body), location: resp.Header.Get("Location")}, err
}

// expectServed fetches a URL on Tinkerbell's address as machine m, checks that Tinkerbell answers it with what m
// would boot or read (smee/internal/ipxe/script/ipxe.go, smee/internal/ipxe/binary, smee/internal/iso/iso.go and
// tootles at v0.24.0 and v0.25.0), and says what it got.
func expectServed(g Gomega, c *http.Client, tink *localenv.Tinkerbell, raw string, m urlMachine) string {
	u, err := url.Parse(raw)
	g.Expect(err).NotTo(HaveOccurred())
	if u.Path == "" || u.Path == "/" {
		// A metadata base URL (cloud-init's EC2 datasource): the client appends the EC2 paths.
		u.Path = "/2009-04-04/meta-data/hostname"
	}
	a, err := fetch(c, u.String(), m.ip)
	g.Expect(err).NotTo(HaveOccurred(), "GET %s", u)
	how := ""
	if a.code == http.StatusPermanentRedirect {
		// With a certificate, HTTP requests for Tootles and the UI are redirected to the same path on the HTTPS
		// port (pkg/http/handler RedirectToHTTPS): 7443 in the Pod, the port the binary has here.
		to := *u
		to.Scheme, to.Host = "https", net.JoinHostPort(publicIP, strconv.Itoa(tink.Ports[httpsPort]))
		g.Expect(a.location).To(Equal(to.String()), "GET %s as %s", u, m.name)
		to.Host = net.JoinHostPort(publicIP, strconv.Itoa(httpsPort))
		how = "redirected to " + to.String() + ", "
		u = &to
		a, err = fetch(c, u.String(), m.ip)
		g.Expect(err).NotTo(HaveOccurred(), "GET %s", u)
	}
	g.Expect(a.code).To(Equal(http.StatusOK), "GET %s as %s: %.200q", u, m.name, a.body)
	p := u.Path
	switch {
	case p == "/2009-04-04/meta-data/hostname":
		// Tootles finds the machine by its IP.
		g.Expect(strings.TrimSpace(a.body)).To(Equal(m.name))
		return fmt.Sprintf("%s%s is %q", how, u, strings.TrimSpace(a.body))
	case strings.HasPrefix(p, "/ipxe/script/"):
		// By the MAC in the path if there is one, else by the client's IP; a Hardware with netboot.ipxe.url gets a
		// script that chains to it (so a URL on Smee's own script there loops, in every release).
		g.Expect(a.body).To(HavePrefix("#!ipxe"))
		switch mac, err := net.ParseMAC(path.Base(path.Dir(p))); {
		case err == nil:
			g.Expect(a.body).To(ContainSubstring("worker_id=" + mac.String()))
			g.Expect(a.body).To(ContainSubstring("set download-url " + artifactsFileServer))
			return how + "the iPXE script booting Hook for " + mac.String()
		case m.ipxeURL != "":
			g.Expect(a.body).To(ContainSubstring("chain --autofree " + m.ipxeURL))
			return how + "the custom iPXE script of its Hardware, chain --autofree " + m.ipxeURL
		default:
			g.Expect(a.body).To(ContainSubstring("worker_id=" + m.mac))
			return how + "the iPXE script booting Hook for " + m.mac
		}
	case strings.HasPrefix(p, "/ipxe/binary/"):
		// One of the iPXE binaries embedded in Smee; the EFI ones are PE images.
		g.Expect(a.body).NotTo(BeEmpty())
		if path.Ext(p) == ".efi" {
			g.Expect(a.body).To(HavePrefix("MZ"))
		}
		return fmt.Sprintf("%sthe iPXE binary %s, %d bytes", how, path.Base(p), len(a.body))
	case strings.HasPrefix(p, "/iso/"):
		// The ISO from TINKERBELL_ISO_UPSTREAM_URL, with the machine's kernel parameters over the magic string.
		mac, err := net.ParseMAC(path.Base(path.Dir(p)))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(a.body).To(HavePrefix("CD001 stand-in HookOS ISO"))
		g.Expect(a.body).To(ContainSubstring("worker_id=" + mac.String()))
		g.Expect(a.body).NotTo(ContainSubstring(isoMagic))
		return how + "the ISO patched for " + mac.String()
	}
	g.Expect(p).To(BeEmpty(), "no check for what Tinkerbell serves at %s", u)
	return ""
}
