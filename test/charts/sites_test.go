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
	"maps"
	"slices"
	"strings"
	"testing"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
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
}

// renderSites templates rel's chart for two sites of the same cluster, Tinkerbells that differ in name and
// spec.targetNamespace (tink-a, tink-b), and returns the cluster-scoped objects each renders. A rendered kind
// that is in neither clusterScopedKinds nor namespacedKinds fails the test.
func renderSites(t *testing.T, rel catalog.Release, base *kubetinkv1alpha1.Tinkerbell) []site {
	t.Helper()
	namespaces := []string{"tink-a", "tink-b"}
	sites := make([]site, 0, len(namespaces))
	for _, ns := range namespaces {
		obj := base.DeepCopy()
		obj.Name = ns
		obj.Spec.TargetNamespace = ns
		_, _, hr, err := renderFor(t, obj, rel.Version, facts)
		if err != nil {
			t.Fatalf("rendering site %s for %s: %v", ns, rel.Version, err)
		}
		objs, err := helmTemplate(t, rel, hr)
		if err != nil {
			t.Fatalf("the %s chart rejects site %s: %v", rel.Version, ns, err)
		}
		s := site{targetNamespace: ns}
		for _, o := range objs {
			switch k := o.GetKind(); {
			case clusterScopedKinds[k]:
				s.clusterScoped = append(s.clusterScoped, k+"/"+o.GetName())
			case !namespacedKinds[k]:
				t.Errorf("%s renders %s %s, a kind Kubetink does not know: classify it as cluster-scoped or namespaced", rel.Version, k, o.GetName())
			}
		}
		slices.Sort(s.clusterScoped)
		sites = append(sites, s)
	}
	return sites
}

// TestClusterScopedObjectsPerSite renders every release for two sites of one cluster and checks that the
// cluster-scoped objects are of kinds Kubetink knows. It logs the names both sites render, which collide: the
// second site's helm-controller cannot adopt objects the first release owns. Making the names per site is a
// later change; this test records where they collide.
func TestClusterScopedObjectsPerSite(t *testing.T) {
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
			sites := renderSites(t, rel, base)
			if len(sites[0].clusterScoped) == 0 {
				t.Errorf("%s renders no cluster-scoped object; the known kinds %v need revisiting", rel.Version, slices.Sorted(maps.Keys(clusterScopedKinds)))
			}
			var collide []string
			for _, n := range sites[0].clusterScoped {
				if slices.Contains(sites[1].clusterScoped, n) {
					collide = append(collide, n)
				}
			}
			t.Logf("%s: cluster-scoped objects of site %s: %s", rel.Version, sites[0].targetNamespace, strings.Join(sites[0].clusterScoped, ", "))
			t.Logf("%s: rendered by both sites (collide): %s", rel.Version, strings.Join(collide, ", "))
		})
	}
}
