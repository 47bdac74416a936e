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

package migration

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The kinds of Cluster API Provider Tinkerbell (CAPT) that its controllers reconcile, and the Cluster API Cluster
// that pauses them. Read them for CAPTBlockers; a kind whose CRD is not installed means CAPT is not, and blocks
// nothing.
var (
	// TinkerbellMachines are CAPT's infrastructure Machines: they create Templates, Workflows and bmc Jobs and
	// edit Hardware. CAPT has served them as v1beta1 only, in every release from v0.1.0 to v0.7.0
	// (config/crd/bases).
	TinkerbellMachines = Target{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta1", Resource: "tinkerbellmachines", Kind: "TinkerbellMachine"}
	// TinkerbellClusters are CAPT's infrastructure Clusters, v1beta1 only from v0.1.0 to v0.7.0.
	TinkerbellClusters = Target{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta1", Resource: "tinkerbellclusters", Kind: "TinkerbellCluster"}
	// CAPIClusters are Cluster API Clusters, read for spec.paused. v1beta1 is served by every Cluster API release
	// CAPT has been built with (v1.6.1 for CAPT v0.5.0 up to v1.12.5 for v0.7.0) and still by v1.14.0: the storage
	// version up to v1.10, beside the storage version v1beta2 from v1.11.0 on. spec.paused means the same in both
	// (a bool, a *bool in v1beta2).
	CAPIClusters = Target{Group: "cluster.x-k8s.io", Version: "v1beta1", Resource: "clusters", Kind: "Cluster"}
)

// CAPTTargets returns the kinds CAPTBlockers reads, in its argument order: TinkerbellMachines,
// TinkerbellClusters, CAPIClusters. The reader needs list on each.
func CAPTTargets() []Target {
	return []Target{TinkerbellMachines, TinkerbellClusters, CAPIClusters}
}

const (
	// CAPIPausedAnnotation pauses the object it is on for Cluster API and its providers, whatever its value
	// (sigs.k8s.io/cluster-api/util/annotations HasPaused).
	CAPIPausedAnnotation = "cluster.x-k8s.io/paused"
	// capiClusterNameLabel names an object's Cluster; Cluster API sets it on every infrastructure Machine and
	// Cluster it references (machine and cluster controllers, ensureExternalOwnershipAndWatch / reconcileExternal).
	capiClusterNameLabel = "cluster.x-k8s.io/cluster-name"
)

// CAPTBlockers returns the CAPT objects that block the legacy stack's reinstall (RequiresReinstall(from, to)).
// Upstream's guide for that upgrade, docs/technical/ORIGINAL_HELM_CHART_UPGRADE.md (v0.19.2, v0.19.3), asks as a
// prerequisite that "All CAPT (Cluster API Provider Tinkerbell) controllers are paused or uninstalled": while the
// old release is uninstalled and the new one comes up, CAPT would keep creating and editing Workflows, Templates,
// Hardware and bmc Jobs against a stack that cannot serve them.
//
// An object is paused when CAPT itself would skip it. CAPT v0.5.x–v0.6.x, the releases used with the stack
// charts, check annotations.IsPaused(cluster, obj) (Cluster API v1.6–v1.10): the owning Cluster has
// spec.paused true, or the object carries the cluster.x-k8s.io/paused annotation. CAPT v0.7.0 uses
// paused.EnsurePausedCondition (Cluster API v1.12) with the same two tests. The owning Cluster is the one in the
// object's namespace named by its cluster.x-k8s.io/cluster-name label, else by a Cluster owner reference. An
// object whose Cluster is not found is paused only by its annotation, as CAPT treats it.
//
// Kubetink cannot see whether CAPT's controllers run, only its objects: a user who uninstalled the controllers
// but kept the CRDs and objects annotates or pauses them too (CAPT honours the marks once reinstalled).
func CAPTBlockers(from, to string, machines, infraClusters, clusters []unstructured.Unstructured) []Blocker {
	if !RequiresReinstall(from, to) {
		return nil
	}
	paused := map[string]bool{} // namespace/name → spec.paused
	for i := range clusters {
		c := &clusters[i]
		p, _, _ := unstructured.NestedBool(c.Object, "spec", "paused")
		paused[c.GetNamespace()+"/"+c.GetName()] = p
	}
	var out []Blocker
	for _, objs := range []struct {
		target Target
		items  []unstructured.Unstructured
	}{{TinkerbellMachines, machines}, {TinkerbellClusters, infraClusters}} {
		for i := range objs.items {
			obj := &objs.items[i]
			if _, ok := obj.GetAnnotations()[CAPIPausedAnnotation]; ok {
				continue
			}
			cluster := owningCluster(obj)
			clusterPaused, found := paused[obj.GetNamespace()+"/"+cluster]
			if cluster != "" && clusterPaused {
				continue
			}
			out = append(out, Blocker{Kind: objs.target.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName(),
				Reason: captReason(objs.target, obj, cluster, found)})
		}
	}
	return out
}

// owningCluster returns the name of obj's Cluster API Cluster, or "".
func owningCluster(obj *unstructured.Unstructured) string {
	if name := obj.GetLabels()[capiClusterNameLabel]; name != "" {
		return name
	}
	for _, ref := range obj.GetOwnerReferences() {
		if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil && gv.Group == CAPIClusters.Group && ref.Kind == CAPIClusters.Kind {
			return ref.Name
		}
	}
	return ""
}

// captReason says how to pause obj: through its Cluster when it has one, else with the annotation.
func captReason(t Target, obj metav1.Object, cluster string, clusterFound bool) string {
	const why = "CAPT must not reconcile it while the legacy stack is replaced"
	if clusterFound {
		return fmt.Sprintf(`%s: pause its Cluster (kubectl patch %s %s -n %s --type merge -p '{"spec":{"paused":true}}') and unpause it after the upgrade`,
			why, CAPIClusters.CRDName(), cluster, obj.GetNamespace())
	}
	return fmt.Sprintf("%s: pause it (kubectl annotate %s %s -n %s %s=true) and remove the annotation after the upgrade",
		why, t.CRDName(), obj.GetName(), obj.GetNamespace(), CAPIPausedAnnotation)
}
