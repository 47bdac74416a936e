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
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/test/e2e/localenv"
)

// gitRepositoryGVK is Flux's GitRepository, the source of the CRDs.
var gitRepositoryGVK = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}

// testSite is one Tinkerbell of the two-site cluster and its machine.
type testSite struct {
	name, version, publicIP string
	// machineIP and machineMAC are the site's machine (testdata/objects/machine.yaml, moved to the site).
	machineIP, machineMAC string
}

func (s testSite) namespace() string { return "site-" + s.name }

// TestSites installs two sites from one Git commit, at different releases, each serving only its own namespace,
// with the real charts through the real helm-controller and the real Tinkerbell binaries: both become Ready, their
// cluster-scoped objects are their own, the newer site is the primary (it applies the CRDs and runs the Tink
// controller and Rufio, which the binary cannot restrict to a namespace), and each site's Smee and Tootles serve
// its own machine and not the other site's.
func TestSites(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	env, s := startMachineEnv(t)

	east := testSite{name: "east", version: "v0.25.0", publicIP: "192.168.10.10", machineIP: "10.1.1.5", machineMAC: "02:00:00:00:00:01"}
	west := testSite{name: "west", version: "v0.24.0", publicIP: "192.168.20.10", machineIP: "10.1.2.5", machineMAC: "02:00:00:00:00:02"}
	files := map[string][]byte{"clusters/e2e/kustomization.yaml": kustomization("east.yaml", "west.yaml")}
	for _, site := range []testSite{east, west} {
		files["clusters/e2e/"+site.name+".yaml"] = siteYAML(t, env, s.crdMirror, site)
	}
	pushed := s.commit(t, "Install two sites", files)
	g.Expect(env.CreateSync(ctx, localenv.SyncOptions{
		Name: "fleet", Repo: s.fleet, Path: "./clusters/e2e", Interval: time.Minute, Wait: true, Timeout: 2 * time.Minute,
	})).To(Succeed())
	s.synced = true
	for _, site := range []testSite{east, west} {
		eventually(t, "Tinkerbell "+site.name+" "+site.version+" is Ready", func(g Gomega) {
			tb := &kubetinkv1alpha1.Tinkerbell{}
			expectReady(g, env, siteKey(site, tb), func() []metav1.Condition { return tb.Status.Conditions })
			g.Expect(tb.Status.LastAppliedVersion).To(Equal(site.version))
		})
	}
	t.Logf("FIGURE commit -> both sites Ready (real charts and binaries): %s", time.Since(pushed).Round(100*time.Millisecond))
	show(t, env)

	// The CRDs come from the newer site only.
	westTB := &kubetinkv1alpha1.Tinkerbell{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: west.name}, westTB)).To(Succeed())
	g.Expect(westTB.Status.PrimarySite).To(Equal(ns + "/" + east.name))
	g.Expect(object(g, env, gitRepositoryGVK, ns, west.name+"-crds")).To(BeNil(), "the older site applies CRDs too")
	g.Expect(object(g, env, gitRepositoryGVK, ns, east.name+"-crds")).NotTo(BeNil())

	// Each site's cluster-scoped objects carry its name. The primary (east) runs the Tink controller and Rufio,
	// which watch every namespace, with a ClusterRole of its own; west's binary has a Role in its namespace and
	// runs neither controller.
	for _, site := range []testSite{east, west} {
		name := "kube-vip-role-" + site.namespace()
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: name}, &rbacv1.ClusterRole{})).To(Succeed(), "ClusterRole %s", name)
	}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "tinkerbell-" + east.namespace() + "-role"}, &rbacv1.ClusterRole{})).To(Succeed())
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: west.namespace(), Name: "tinkerbell-role"}, &rbacv1.Role{})).To(Succeed())
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "tinkerbell-role"}, &rbacv1.ClusterRole{})).NotTo(Succeed(),
		"no site installs the chart's cluster-wide role")
	for site, want := range map[testSite]string{east: "true", west: "false"} {
		d := &appsv1.Deployment{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: site.namespace(), Name: "tinkerbell"}, d)).To(Succeed())
		g.Expect(containerEnv(d, "tinkerbell")).To(And(HaveKeyWithValue("TINKERBELL_ENABLE_TINK_CONTROLLER", want),
			HaveKeyWithValue("TINKERBELL_ENABLE_RUFIO_CONTROLLER", want), HaveKeyWithValue("TINKERBELL_BACKEND_KUBE_NAMESPACE", site.namespace())))
	}

	for _, site := range []testSite{east, west} {
		applyMachine(t, env, site)
	}
	for _, site := range []testSite{east, west} {
		siteServesOnlyItsMachine(t, env, site, otherSite(site, east, west))
	}

	// Upgrading west changes nothing of east's: its objects keep their resourceVersions, its Smee still serves
	// its machine, and it stays the primary (the oldest of two equal releases).
	eastObjects := resourceVersions(g, env, east.namespace())
	pushed = s.commit(t, "Upgrade site west to v0.25.0", map[string][]byte{
		"clusters/e2e/west.yaml": siteYAML(t, env, s.crdMirror, testSite{name: west.name, version: "v0.25.0", publicIP: west.publicIP}),
	})
	west.version = "v0.25.0"
	eventually(t, "Tinkerbell west v0.25.0 is Ready", func(g Gomega) {
		tb := &kubetinkv1alpha1.Tinkerbell{}
		expectReady(g, env, siteKey(west, tb), func() []metav1.Condition { return tb.Status.Conditions })
		g.Expect(tb.Status.LastAppliedVersion).To(Equal("v0.25.0"))
		g.Expect(tb.Status.PrimarySite).To(Equal(ns + "/" + east.name))
	})
	t.Logf("FIGURE commit -> site west Ready (upgrade v0.24.0 -> v0.25.0 beside site east): %s", time.Since(pushed).Round(100*time.Millisecond))
	eventually(t, "site west runs v0.25.0", func(g Gomega) { runningTinkerbellPod(g, env, west.namespace(), "v0.25.0") })
	g.Expect(resourceVersions(g, env, east.namespace())).To(Equal(eastObjects), "upgrading site west changed site east's objects")
	for _, site := range []testSite{east, west} {
		siteServesOnlyItsMachine(t, env, site, otherSite(site, east, west))
	}
}

func otherSite(site, a, b testSite) testSite {
	if site.name == a.name {
		return b
	}
	return a
}

// resourceVersions returns the resourceVersion of every Hardware, Template and Workflow in namespace, by kind/name.
func resourceVersions(g Gomega, env *localenv.Env, namespace string) map[string]string {
	out := map[string]string{}
	for _, kind := range []string{"Hardware", "Template", "Workflow"} {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: "tinkerbell.org", Version: "v1alpha1", Kind: kind + "List"})
		g.Expect(env.Client.List(context.Background(), list, client.InNamespace(namespace))).To(Succeed())
		for _, o := range list.Items {
			out[kind+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	g.Expect(out).NotTo(BeEmpty())
	return out
}

// siteKey fills tb's key for a site and returns it.
func siteKey(site testSite, tb *kubetinkv1alpha1.Tinkerbell) *kubetinkv1alpha1.Tinkerbell {
	tb.Namespace, tb.Name = ns, site.name
	return tb
}

// siteYAML is the Tinkerbell of a site: tinkerbellYAML's, named after the site, in its own target namespace,
// serving only that namespace, with its own public IP.
func siteYAML(t *testing.T, env *localenv.Env, crdMirror *localenv.Repo, site testSite) []byte {
	t.Helper()
	u := map[string]any{}
	if err := yaml.Unmarshal(tinkerbellYAML(t, env, crdMirror, site.version), &u); err != nil {
		t.Fatal(err)
	}
	u["metadata"].(map[string]any)["name"] = site.name
	spec := u["spec"].(map[string]any)
	spec["targetNamespace"] = site.namespace()
	spec["scope"] = string(kubetinkv1alpha1.ScopeNamespace)
	spec["publicIP"] = site.publicIP
	out, err := yaml.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// applyMachine applies testdata/objects/machine.yaml moved to the site's namespace, with the site's machine
// address.
func applyMachine(t *testing.T, env *localenv.Env, site testSite) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "test", "e2e", "testdata", "objects", "machine.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest := strings.NewReplacer(
		"namespace: tinkerbell", "namespace: "+site.namespace(),
		machineIP, site.machineIP,
		machineMAC, site.machineMAC,
	).Replace(string(data))
	path := filepath.Join(t.TempDir(), site.name+"-machine.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, env, "apply", "--server-side", "-f", path)
}

// siteServesOnlyItsMachine checks, against the running Tinkerbell of site, that its Smee and Tootles answer its
// own machine and not the other site's, and that its Workflow was taken up (by the primary's Tink controller).
func siteServesOnlyItsMachine(t *testing.T, env *localenv.Env, site, other testSite) {
	t.Helper()
	g := NewWithT(t)
	pod := runningTinkerbellPod(g, env, site.namespace(), site.version)
	addr, err := env.PodAddress(context.Background(), site.namespace(), pod.Name, localenv.TinkerbellHTTPPort)
	g.Expect(err).NotTo(HaveOccurred())
	base := "http://" + addr
	eventually(t, "site "+site.name+" serves its machine's iPXE script", func(g Gomega) {
		code, body := httpGet(g, base+"/ipxe/script/auto.ipxe", site.machineIP)
		g.Expect(code).To(Equal(http.StatusOK), body)
		g.Expect(body).To(ContainSubstring("grpc_authority=" + site.publicIP + ":42113"))
		g.Expect(body).To(ContainSubstring("worker_id=" + site.machineMAC))
	})
	code, hostname := httpGet(g, base+"/2009-04-04/meta-data/hostname", site.machineIP)
	g.Expect(code).To(Equal(http.StatusOK), hostname)
	g.Expect(strings.TrimSpace(hostname)).To(Equal("machine1"))

	// The other site's machine exists in the cluster, but not in the namespace this site serves.
	for _, path := range []string{"/ipxe/script/auto.ipxe", "/2009-04-04/meta-data/hostname"} {
		code, body := httpGet(g, base+path, other.machineIP)
		g.Expect(code).To(Equal(http.StatusNotFound), "site %s answers %s for site %s's machine: %s", site.name, path, other.name, body)
	}
	t.Logf("site %s (%s): its machine %s gets its iPXE script; site %s's machine %s gets 404", site.name, site.version,
		site.machineIP, other.name, other.machineIP)

	eventually(t, "the primary's Tink controller moved site "+site.name+"'s Workflow to PENDING", func(g Gomega) {
		wf := object(g, env, workflowGVK, site.namespace(), "wipe-machine1")
		g.Expect(wf).NotTo(BeNil())
		state, _, _ := unstructured.NestedString(wf.Object, "status", "state")
		g.Expect(state).To(Equal("PENDING"))
	})
}
