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

package charts

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/sites"
	"github.com/kubetink/kubetink/internal/values"
)

// clusterScopedKinds are the cluster-scoped kinds Kubetink knows the charts create through helm-controller: the
// RBAC of the Tinkerbell binary and kube-vip, and the HookOS node-local volume with its StorageClass. A release
// rendering another one changes what installing a site touches outside its namespace.
var clusterScopedKinds = map[string]bool{
	"ClusterRole":        true,
	"ClusterRoleBinding": true,
	"PersistentVolume":   true,
	"StorageClass":       true,
}

// namespacedKinds are the namespaced kinds the charts render. Every rendered kind is in one of the two lists, so
// a kind a new release adds has to be classified here before the test passes.
var namespacedKinds = map[string]bool{
	"ConfigMap":             true,
	"DaemonSet":             true,
	"Deployment":            true,
	"Job":                   true,
	"PersistentVolumeClaim": true,
	"Role":                  true,
	"RoleBinding":           true,
	"Secret":                true,
	"Service":               true,
	"ServiceAccount":        true,
}

// site is one Tinkerbell of a cluster, rendered for a release.
type site struct {
	// targetNamespace is where its chart is installed.
	targetNamespace string
	// clusterScoped are the cluster-scoped objects its chart renders, as "Kind/name".
	clusterScoped []string
	// watched is the namespace each workload container is told to watch, by "Deployment/container": the value
	// of the variable or flag the release uses (TINKERBELL_BACKEND_KUBE_NAMESPACE on the unified chart;
	// SMEE_BACKEND_KUBE_NAMESPACE, --kubernetes-namespace, -kube-namespace, --namespace on the stack chart).
	// A container told nothing watches every namespace.
	watched map[string]string
	// claims are the PersistentVolumeClaims the chart renders; mounted those its workloads mount.
	claims, mounted []string
	// controllers are the unified binary's TINKERBELL_ENABLE_TINK_CONTROLLER and _RUFIO_CONTROLLER, "" when the
	// chart sets neither (the legacy stack, whose controllers take a namespace).
	controllers string
}

// watchSettings are the settings that restrict a Tinkerbell service to one namespace, per release family: the
// environment variables and flags, as the charts pass them.
var (
	watchEnvs  = []string{"TINKERBELL_BACKEND_KUBE_NAMESPACE", "SMEE_BACKEND_KUBE_NAMESPACE"}
	watchFlags = []string{"--kubernetes-namespace=", "-kube-namespace=", "--kube-namespace=", "--namespace="}
)

// renderSite templates rel's chart for obj and returns what it renders outside its namespace and what its
// workloads watch. A rendered kind that is in neither clusterScopedKinds nor namespacedKinds fails the test.
func renderSite(t *testing.T, rel catalog.Release, obj *kubetinkv1alpha1.Tinkerbell, f values.Facts) site {
	t.Helper()
	_, _, hr, err := renderFor(t, obj, rel.Version, f)
	if err != nil {
		t.Fatalf("rendering site %s for %s: %v", obj.GetTargetNamespace(), rel.Version, err)
	}
	objs, err := helmTemplate(t, rel, hr)
	if err != nil {
		t.Fatalf("the %s chart rejects site %s: %v", rel.Version, obj.GetTargetNamespace(), err)
	}
	s := site{targetNamespace: obj.GetTargetNamespace(), watched: map[string]string{}}
	for _, o := range objs {
		switch k := o.GetKind(); {
		case clusterScopedKinds[k]:
			s.clusterScoped = append(s.clusterScoped, k+"/"+o.GetName())
		case !namespacedKinds[k]:
			t.Errorf("%s renders %s %s, a kind Kubetink does not know: classify it as cluster-scoped or namespaced", rel.Version, k, o.GetName())
		case k == "PersistentVolumeClaim":
			s.claims = append(s.claims, o.GetName())
		case k == "Deployment":
			volumes, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "volumes")
			for _, v := range volumes {
				if name, ok, _ := unstructured.NestedString(v.(map[string]any), "persistentVolumeClaim", "claimName"); ok {
					s.mounted = append(s.mounted, o.GetName()+"/"+name)
				}
			}
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for _, c := range containers {
				c, _ := c.(map[string]any)
				name, _ := c["name"].(string)
				if ns, ok := watchedNamespace(c); ok {
					s.watched[o.GetName()+"/"+name] = ns
				}
				env, _ := c["env"].([]any)
				for _, e := range env {
					e, _ := e.(map[string]any)
					if n, _ := e["name"].(string); n == "TINKERBELL_ENABLE_TINK_CONTROLLER" || n == "TINKERBELL_ENABLE_RUFIO_CONTROLLER" {
						v, _ := e["value"].(string)
						s.controllers += v + " "
					}
				}
			}
		}
	}
	slices.Sort(s.clusterScoped)
	return s
}

// watchedNamespace returns the namespace a Tinkerbell service container is told to watch, if it is a Tinkerbell
// service (one the chart can restrict) and was told one; ("", true) for one told nothing.
func watchedNamespace(c map[string]any) (string, bool) {
	image, _ := c["image"].(string)
	if !strings.Contains(image, "tinkerbell/") || strings.Contains(image, "kube-vip") {
		return "", false
	}
	env, _ := c["env"].([]any)
	for _, e := range env {
		e, _ := e.(map[string]any)
		if name, _ := e["name"].(string); slices.Contains(watchEnvs, name) {
			v, _ := e["value"].(string)
			return v, true
		}
	}
	for _, field := range []string{"args", "command"} {
		args, _ := c[field].([]any)
		for _, a := range args {
			a, _ := a.(string)
			for _, f := range watchFlags {
				if v, ok := strings.CutPrefix(a, f); ok {
					return v, true
				}
			}
		}
	}
	return "", true
}

// sitesOf returns n Tinkerbells that differ from base in name and target namespace (site-0, site-1, ...), with
// their own public IPs, each serving only its namespace.
func sitesOf(base *kubetinkv1alpha1.Tinkerbell, n int) []*kubetinkv1alpha1.Tinkerbell {
	out := make([]*kubetinkv1alpha1.Tinkerbell, n)
	for i := range out {
		obj := base.DeepCopy()
		obj.Name = fmt.Sprintf("site-%d", i)
		obj.Spec.TargetNamespace = obj.Name
		obj.Spec.Scope = kubetinkv1alpha1.ScopeNamespace
		obj.Spec.PublicIP = kubetinkv1alpha1.IPv4Address(fmt.Sprintf("192.168.%d.10", 10+i))
		out[i] = obj
	}
	return out
}

// TestSitesShareNoClusterScopedObject renders every release's real chart for two and for five sites of one
// cluster (spec.scope Namespace; site-0 the primary, as sites.Primary makes the oldest of equal releases) and
// checks that they can all be installed beside each other: no cluster-scoped object is rendered twice
// (helm-controller cannot adopt another release's object), every service that takes a namespace watches only
// its site's, and on the unified chart only the primary runs the Tink controller and Rufio (which watch every
// namespace) and has a ClusterRole, the others' RBAC being namespaced. A single site serving every namespace
// keeps the chart's own names.
func TestSitesShareNoClusterScopedObject(t *testing.T) {
	bases := map[bool]string{false: "minimal", true: "legacy-stack-0.6.2"}
	examples := map[string]*kubetinkv1alpha1.Tinkerbell{}
	for _, ex := range loadExamples(t) {
		examples[ex.name] = ex.obj
	}
	for _, rel := range catalog.Releases() {
		t.Run(rel.Version, func(t *testing.T) {
			t.Parallel()
			base, ok := examples[bases[rel.Legacy]]
			if !ok {
				t.Fatalf("examples/%s.yaml is missing", bases[rel.Legacy])
			}
			for _, n := range []int{2, 5} {
				owner := map[string]string{}
				all := sitesOf(base, n)
				for i, obj := range all {
					if i > 0 && rel.FixedHookOSClaim() {
						// The chart's HookOS claim has a fixed name: one site may use it, the others bring a claim,
						// as the refusal of package sites tells them.
						obj.Spec.Addons = &kubetinkv1alpha1.Addons{HookOS: &kubetinkv1alpha1.HookOSAddon{
							Persistence: &kubetinkv1alpha1.HookOSPersistence{ExistingClaim: "hook"}}}
					}
				}
				for _, obj := range all {
					obj.Spec.Version = rel.Version
					if c := sites.Check(obj, all); c != nil {
						t.Fatalf("%d sites: %s is refused: %s", n, obj.Name, c.Message)
					}
				}
				for i, obj := range all {
					f := facts
					if i > 0 {
						f.PrimarySite = obj.Namespace + "/site-0"
					}
					s := renderSite(t, rel, obj, f)
					checkSite(t, rel, i == 0, s)
					for _, name := range s.clusterScoped {
						if other, taken := owner[name]; taken {
							t.Errorf("%d sites: %s is rendered by site %s and by site %s", n, name, other, s.targetNamespace)
						}
						owner[name] = s.targetNamespace
					}
				}
			}
			if rel.Legacy {
				return
			}
			// One site serving every namespace: upstream's names, and nothing restricts what it watches.
			obj := base.DeepCopy()
			s := renderSite(t, rel, obj, facts)
			if !slices.Contains(s.clusterScoped, "ClusterRole/tinkerbell-role") || !slices.Contains(s.clusterScoped, "ClusterRole/kube-vip-role") {
				t.Errorf("a single site serving every namespace renders %v, want the chart's own ClusterRoles", s.clusterScoped)
			}
			for c, ns := range s.watched {
				if ns != "" {
					t.Errorf("a single site serving every namespace: %s watches only %q", c, ns)
				}
			}
		})
	}
}

// checkSite checks one site of several: only the primary runs the Tink controller and Rufio and has a
// ClusterRole of the binary's, every service that takes a namespace watches only the site's, and what its
// workloads mount exists.
func checkSite(t *testing.T, rel catalog.Release, primary bool, s site) {
	t.Helper()
	if !rel.Legacy {
		want := "false false "
		if primary {
			want = "true true "
		}
		if s.controllers != want {
			t.Errorf("site %s (primary: %t): Tink controller and Rufio enabled %q, want %q", s.targetNamespace, primary, s.controllers, want)
		}
	}
	for _, name := range s.clusterScoped {
		if kind, _, _ := strings.Cut(name, "/"); !primary && (kind == "ClusterRole" || kind == "ClusterRoleBinding") && !strings.Contains(name, "kube-vip") {
			t.Errorf("site %s renders %s: the binary's RBAC of a site other than the primary is namespaced", s.targetNamespace, name)
		}
	}
	if len(s.watched) == 0 {
		t.Fatalf("site %s: found no Tinkerbell service container", s.targetNamespace)
	}
	for c, ns := range s.watched {
		if ns != s.targetNamespace {
			t.Errorf("site %s: %s watches %q, want only its own namespace", s.targetNamespace, c, ns)
		}
	}
	// What a site's workloads mount exists: a renamed volume must not leave a claim behind (stack 0.6.2 and
	// tinkerbell v0.19.0-v0.19.1 name their claim hook-artifacts whatever the values say). "hook" is the
	// existing claim the test gives.
	for _, m := range s.mounted {
		_, name, _ := strings.Cut(m, "/")
		if name != "hook" && !slices.Contains(s.claims, name) {
			t.Errorf("site %s: Deployment %s mounts claim %s, which the chart does not render (it renders %v)", s.targetNamespace, m, name, s.claims)
		}
	}
}

// TestMultiSiteExample renders examples/multi-site.yaml as "kubetink render -f" does and templates each site
// with its release's real chart: the stacks share no cluster-scoped object, and only one of them applies CRDs.
func TestMultiSiteExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "multi-site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.DecodeAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) < 2 {
		t.Fatalf("examples/multi-site.yaml holds %d Tinkerbells, want several", len(objs))
	}
	results, err := render.Sites(objs, facts)
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	crdSources := 0
	for i, res := range results {
		for _, o := range res.Objects {
			if o.GetKind() == "GitRepository" {
				crdSources++
			}
			if o.GetKind() != "HelmRelease" {
				continue
			}
			tmpl, err := helmTemplate(t, res.Release, o)
			if err != nil {
				t.Fatalf("%s: %v", objs[i].Name, err)
			}
			for _, c := range tmpl {
				if !clusterScopedKinds[c.GetKind()] {
					continue
				}
				name := c.GetKind() + "/" + c.GetName()
				if other, taken := owner[name]; taken {
					t.Errorf("%s is rendered by %s and %s", name, other, objs[i].Name)
				}
				owner[name] = objs[i].Name
			}
		}
	}
	if crdSources != 1 {
		t.Errorf("the sites render %d CRD sources, want exactly one", crdSources)
	}
}
