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
	"context"
	"fmt"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/metrics"
	"github.com/kubetink/kubetink/internal/render"
)

// maxMessage bounds the messages copied from Flux objects into the Tinkerbell's status.
const maxMessage = 1024

// checkReadiness records each rendered object's state in status.components and sets ComponentsReady. A Stalled
// object stalls the Tinkerbell with its message; anything not yet Ready makes the reconciler wait.
func (r *TinkerbellReconciler) checkReadiness(ctx context.Context, s *scope) error {
	components := make([]kubetinkv1alpha1.ComponentStatus, 0, len(s.result.Objects))
	var stalledOn *kubetinkv1alpha1.ComponentStatus
	rev, err := r.revisions(ctx, s)
	if err != nil {
		return err
	}
	for _, u := range s.result.Objects {
		c := kubetinkv1alpha1.ComponentStatus{Name: u.GetName(), Kind: u.GetKind(), Namespace: u.GetNamespace()}
		live, err := r.current(ctx, s, u)
		if err != nil {
			return err
		}
		switch {
		case live == nil && u.GetLabels()[render.LabelComponent] == componentRelease:
			c.Message = "waiting for the CRDs to be established before installing"
		case live == nil:
			c.Message = "not created yet"
		default:
			var isStalled bool
			c.Ready, isStalled, c.Message = componentReadiness(live, rev)
			if isStalled && stalledOn == nil {
				stalledOn = &c
			}
		}
		c.Message = truncate(c.Message)
		components = append(components, c)
	}
	s.obj.Status.Components = components
	metrics.SetComponents(s.obj.Namespace, s.obj.Name, components)

	if stalledOn != nil {
		msg := fmt.Sprintf("%s/%s is stalled: %s", stalledOn.Kind, stalledOn.Name, stalledOn.Message)
		conditions.MarkFalse(s.obj, kubetinkv1alpha1.ComponentsReadyCondition, kubetinkv1alpha1.DependencyStalledReason, "%s", msg)
		if stalledOn.Kind == render.ApplicationKind {
			// Argo CD does not retry a failed sync of the same spec on its own.
			return stalled(kubetinkv1alpha1.DependencyStalledReason,
				"%s; fix the cause, then sync the Application again (argocd app sync %s/%s)", msg, stalledOn.Namespace, stalledOn.Name)
		}
		return stalled(kubetinkv1alpha1.DependencyStalledReason,
			"%s; fix the cause, then request a reconciliation (annotate the Tinkerbell with reconcile.fluxcd.io/requestedAt and reconcile.fluxcd.io/resetAt)", msg)
	}
	if n, msg := componentsMessage(components); n > 0 {
		conditions.MarkFalse(s.obj, kubetinkv1alpha1.ComponentsReadyCondition, kubetinkv1alpha1.ComponentsNotReadyReason, "%s", msg)
		return waiting(kubetinkv1alpha1.ComponentsNotReadyReason, "%d of %d components not ready: %s", n, len(components), msg)
	}
	conditions.MarkTrue(s.obj, kubetinkv1alpha1.ComponentsReadyCondition, kubetinkv1alpha1.ComponentsReadyReason,
		"all %d components are ready", len(components))
	return nil
}

// revisions are what the generated objects must have reconciled to count as ready, beyond their own spec: a
// Flux object's generation does not change when only its source's content does.
type revisions struct {
	// crdSource is the live GitRepository of the CRDs, nil when none is rendered or it does not exist yet.
	crdSource *unstructured.Unstructured
	// charts maps an OCIRepository's name to the chart version it is rendered to fetch ("0.25.0").
	charts map[string]string
}

// revisions reads the CRDs' GitRepository and collects the chart versions of the rendered OCIRepositories.
func (r *TinkerbellReconciler) revisions(ctx context.Context, s *scope) (revisions, error) {
	source, err := r.crdSource(ctx, s)
	if err != nil {
		return revisions{}, err
	}
	rev := revisions{crdSource: source, charts: map[string]string{}}
	for _, u := range s.result.Objects {
		if u.GetKind() == sourcev1.OCIRepositoryKind {
			tag, _, _ := unstructured.NestedString(u.Object, "spec", "ref", "tag")
			rev.charts[u.GetName()] = strings.TrimPrefix(tag, "v")
		}
	}
	return rev, nil
}

// componentReadiness is objectReadiness plus the revision rules:
//   - a CRD Kustomization is ready only once it has applied the artifact its GitRepository serves now: where the
//     CRDs' path does not change between two releases, the Kustomization's generation does not change either;
//   - a HelmRelease is ready only once its latest release is of the chart version Kubetink asks for: an upgrade
//     whose values do not change changes only the OCIRepository, and helm-controller upgrades after it fetched.
func componentReadiness(live *unstructured.Unstructured, rev revisions) (ready, isStalled bool, message string) {
	ready, isStalled, message = objectReadiness(live)
	if !ready {
		return ready, isStalled, message
	}
	switch {
	case isCRDKustomization(live):
		want := artifactRevision(rev.crdSource)
		applied, _, _ := unstructured.NestedString(live.Object, "status", "lastAppliedRevision")
		if want == "" {
			return false, false, "waiting for the CRDs' GitRepository to fetch an artifact"
		}
		if applied != want {
			return false, false, fmt.Sprintf("waiting for revision %s to be applied (last applied: %s)", want, applied)
		}
	case live.GetKind() == helmv2.HelmReleaseKind:
		name, _, _ := unstructured.NestedString(live.Object, "spec", "chartRef", "name")
		want, ok := rev.charts[name]
		if !ok {
			break
		}
		history, _, _ := unstructured.NestedSlice(live.Object, "status", "history")
		var got string
		if len(history) > 0 {
			latest, _ := history[0].(map[string]any)
			got, _ = latest["chartVersion"].(string)
		}
		// helm-controller qualifies an OCI chart's version with its digest: "0.25.0+0123456789ab".
		if got != want && !strings.HasPrefix(got, want+"+") {
			return false, false, fmt.Sprintf("waiting for chart version %s to be released (latest release: %s)", want, got)
		}
	}
	return true, false, message
}

// readiness applies the generation-aware rule to a Flux object: Ready only when the Ready condition is True for
// the current generation, status.observedGeneration has caught up, and it is neither Reconciling nor Stalled.
// Stalled counts only when observed for the current generation (a new spec gets a new chance).
func readiness(live *unstructured.Unstructured) (ready, isStalled bool, message string) {
	getter := conditions.UnstructuredGetter(live)
	gen := live.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration")
	cond := conditions.Get(getter, meta.ReadyCondition)

	switch {
	case cond == nil:
		return false, false, "waiting for the controller to report status"
	case conditions.IsStalled(getter) && observed == gen:
		return false, true, conditions.GetMessage(getter, meta.StalledCondition)
	case cond.Status == metav1.ConditionTrue && (cond.ObservedGeneration != gen || observed != gen):
		return false, false, fmt.Sprintf("waiting for generation %d to be reconciled", gen)
	case cond.Status == metav1.ConditionTrue && conditions.IsReconciling(getter):
		return false, false, conditions.GetMessage(getter, meta.ReconcilingCondition)
	case cond.Status == metav1.ConditionTrue:
		return true, false, cond.Message
	default:
		return false, false, cond.Message
	}
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-3] + "..."
}
