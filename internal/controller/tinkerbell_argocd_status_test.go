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

package controller

import (
	"errors"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/inventory"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// argoStatus is the status Argo CD writes on an Application, in the shape of argo-cd v3.6.1's types.
type argoStatus struct {
	health, healthMessage, sync, revision, phase, opMessage string
	// operation leaves an operation requested (automated sync sets it before the sync starts).
	operation bool
	// stale records the comparison and the sync as made for another spec (an older targetRevision).
	stale bool
}

// withArgoStatus returns a copy of a rendered Application with the status Argo CD would write. comparedTo and
// syncResult.source carry the spec's source as Argo CD writes it back: from Go structs, with some empty fields.
func withArgoStatus(app *unstructured.Unstructured, st argoStatus) *unstructured.Unstructured {
	u := app.DeepCopy()
	source, _, _ := unstructured.NestedMap(u.Object, "spec", "source")
	destination, _, _ := unstructured.NestedMap(u.Object, "spec", "destination")
	source = runtimeCopy(source)
	if dir, ok := source["directory"].(map[string]any); ok {
		dir["jsonnet"] = map[string]any{} // a non-pointer struct Argo CD always writes
	}
	if st.stale {
		source["targetRevision"] = "v0.0.1"
	}
	status := map[string]any{
		"sync":   map[string]any{"status": st.sync, "revision": st.revision, "comparedTo": map[string]any{"source": source, "destination": destination}},
		"health": map[string]any{"status": st.health, "message": st.healthMessage},
	}
	if st.phase != "" {
		status["operationState"] = map[string]any{
			"phase": st.phase, "message": st.opMessage, "startedAt": "2026-01-01T00:00:00Z",
			"operation":  map[string]any{"sync": map[string]any{"revision": st.revision}},
			"syncResult": map[string]any{"revision": st.revision, "source": source},
		}
	}
	u.Object["status"] = status
	if st.operation {
		u.Object["operation"] = map[string]any{"sync": map[string]any{}, "initiatedBy": map[string]any{"automated": true}}
	}
	return u
}

func runtimeCopy(m map[string]any) map[string]any {
	return normalize(m).(map[string]any)
}

func TestApplicationReadiness(t *testing.T) {
	tb := newTinkerbell("ops", "site", func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Engine = kubetinkv1alpha1.EngineArgoCD })
	res, err := render.Render(tb, values.Facts{})
	if err != nil {
		t.Fatal(err)
	}
	crds, chart := res.Objects[0], res.Objects[1]
	healthy := argoStatus{health: "Healthy", sync: "Synced", revision: "v0.25.0", phase: "Succeeded"}
	tests := []struct {
		name        string
		app         *unstructured.Unstructured
		st          *argoStatus
		ready       bool
		stalled     bool
		wantMessage string
	}{
		{"no status yet", chart, nil, false, false, "waiting for Argo CD to report status"},
		{"healthy and synced", chart, &healthy, true, false, "Healthy and Synced"},
		{"CRDs healthy and synced", crds, &argoStatus{health: "Healthy", sync: "Synced", revision: "3f1c2a", phase: "Succeeded"}, true, false, "Healthy and Synced"},
		{"never synced", chart, &argoStatus{health: "Healthy", sync: "Synced", revision: "v0.25.0"}, true, false, "Healthy and Synced"},
		{"missing", chart, &argoStatus{health: "Missing", sync: "OutOfSync"}, false, false, "sync status OutOfSync, health Missing"},
		{"progressing", chart, &argoStatus{health: "Progressing", healthMessage: "Waiting for rollout", sync: "Synced", phase: "Succeeded"}, false, false, "health Progressing: Waiting for rollout"},
		{"sync requested", chart, &argoStatus{health: "Healthy", sync: "OutOfSync", phase: "Succeeded", operation: true}, false, false, "sync in progress"},
		{"sync running", chart, &argoStatus{health: "Progressing", sync: "OutOfSync", phase: "Running", opMessage: "waiting for healthy state of apps/Deployment/tinkerbell"}, false, false, "sync in progress: waiting for healthy state"},
		{"degraded", chart, &argoStatus{health: "Degraded", healthMessage: "Deployment exceeded its progress deadline", sync: "Synced", phase: "Succeeded"}, false, true, "health Degraded: Deployment exceeded its progress deadline"},
		{"sync failed", chart, &argoStatus{health: "Healthy", sync: "OutOfSync", phase: "Failed", opMessage: "one or more objects failed to apply"}, false, true, "sync failed: one or more objects failed to apply"},
		{"sync error", chart, &argoStatus{health: "Healthy", sync: "OutOfSync", phase: "Error", opMessage: "retried 3 times"}, false, true, "sync error: retried 3 times"},
		// A status made for another spec says nothing about this one: no Ready, and no Stalled either.
		{"healthy for an older spec", chart, &argoStatus{health: "Healthy", sync: "Synced", revision: "v0.0.1", phase: "Succeeded", stale: true}, false, false, "waiting for Argo CD to compare the current spec"},
		{"failed for an older spec", chart, &argoStatus{health: "Healthy", sync: "OutOfSync", phase: "Failed", stale: true}, false, false, "waiting for Argo CD to compare the current spec"},
		{"degraded for an older spec", chart, &argoStatus{health: "Degraded", sync: "Synced", stale: true}, false, false, "waiting for Argo CD to compare the current spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			app := tt.app.DeepCopy()
			if tt.st != nil {
				app = withArgoStatus(tt.app, *tt.st)
			}
			ready, isStalled, msg := applicationReadiness(app)
			g.Expect(ready).To(Equal(tt.ready))
			g.Expect(isStalled).To(Equal(tt.stalled))
			g.Expect(msg).To(ContainSubstring(tt.wantMessage))
		})
	}

	t.Run("values changed since the comparison", func(t *testing.T) {
		g := NewWithT(t)
		app := withArgoStatus(chart, healthy)
		g.Expect(unstructured.SetNestedField(app.Object, "proxy", "spec", "source", "helm", "valuesObject", "deployment", "envs", "smee", "dhcpMode")).To(Succeed())
		ready, _, msg := applicationReadiness(app)
		g.Expect(ready).To(BeFalse())
		g.Expect(msg).To(ContainSubstring("compare the current spec"))
	})
	t.Run("a value removed since the comparison", func(t *testing.T) {
		g := NewWithT(t)
		app := withArgoStatus(chart, healthy)
		unstructured.RemoveNestedField(app.Object, "spec", "source", "helm", "valuesObject", "publicIP")
		ready, _, _ := applicationReadiness(app)
		g.Expect(ready).To(BeFalse())
	})
	t.Run("classic Helm source at another revision", func(t *testing.T) {
		g := NewWithT(t)
		app := chart.DeepCopy()
		g.Expect(unstructured.SetNestedField(app.Object, "tinkerbell", "spec", "source", "chart")).To(Succeed())
		app = withArgoStatus(app, argoStatus{health: "Healthy", sync: "Synced", revision: "v0.24.0", phase: "Succeeded"})
		ready, _, msg := applicationReadiness(app)
		g.Expect(ready).To(BeFalse())
		g.Expect(msg).To(ContainSubstring("target revision"))
	})
}

func TestInventoryEngine(t *testing.T) {
	g := NewWithT(t)
	tb := newTinkerbell("ops", "site")
	flux, err := render.Render(tb, values.Facts{})
	g.Expect(err).NotTo(HaveOccurred())
	tb.Spec.Engine = kubetinkv1alpha1.EngineArgoCD
	argo, err := render.Render(tb, values.Facts{})
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(inventoryEngine(nil)).To(BeEmpty())
	g.Expect(inventoryEngine(inventory.New(flux.Objects...))).To(Equal(kubetinkv1alpha1.EngineFlux))
	g.Expect(inventoryEngine(inventory.New(argo.Objects...))).To(Equal(kubetinkv1alpha1.EngineArgoCD))
	// During a switch to Argo CD the HelmRelease is the running release until it is gone.
	g.Expect(inventoryEngine(inventory.New(append(argo.Objects, flux.Objects...)...))).To(Equal(kubetinkv1alpha1.EngineFlux))
}

// A pass that can progress again (waiting, or a transient error) drops the Stalled condition an earlier pass set,
// so the object is Reconciling, not Stalled, and observedGeneration waits for the outcome.
func TestOutcomeClearsStalled(t *testing.T) {
	for _, err := range []error{waiting(kubetinkv1alpha1.ComponentsNotReadyReason, "waiting"), errors.New("conflict")} {
		g := NewWithT(t)
		obj := newTinkerbell("ops", "site")
		obj.Generation = 2
		obj.Status.ObservedGeneration = 1
		conditions.MarkStalled(obj, kubetinkv1alpha1.DependencyStalledReason, "stalled before")
		r := &TinkerbellReconciler{}
		_, _ = r.outcome(obj, err)
		finalizeStatus(obj, err)
		g.Expect(conditions.Has(obj, meta.StalledCondition)).To(BeFalse())
		g.Expect(conditions.IsReconciling(obj)).To(BeTrue())
		g.Expect(obj.Status.ObservedGeneration).To(Equal(int64(1)))
	}
}
