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
	"slices"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// fluxEngine is the Flux engine: an OCIRepository and a HelmRelease for the chart, a GitRepository and
// Kustomizations for the CRDs (tinkerbell_crds.go), all in the Tinkerbell's namespace with the Tinkerbell as
// their controller owner. A HelmRelease is paused with spec.suspend.
type fluxEngine struct{}

func (fluxEngine) name() kubetinkv1alpha1.Engine { return kubetinkv1alpha1.EngineFlux }

func (fluxEngine) kinds() []client.Object {
	return []client.Object{&helmv2.HelmRelease{}, &kustomizev1.Kustomization{}, &sourcev1.OCIRepository{}, &sourcev1.GitRepository{}}
}

func (fluxEngine) generates(u *unstructured.Unstructured) bool { return isFluxKind(u) }

func (fluxEngine) installs(u *unstructured.Unstructured) bool {
	return u.GetKind() == helmv2.HelmReleaseKind && isFluxKind(u)
}

func (fluxEngine) setOwner(obj *kubetinkv1alpha1.Tinkerbell, desired *unstructured.Unstructured, scheme *runtime.Scheme) error {
	if err := controllerutil.SetControllerReference(obj, desired, scheme); err != nil {
		return fmt.Errorf("failed to set the owner of %s %s: %w", desired.GetKind(), desired.GetName(), err)
	}
	return nil
}

func (fluxEngine) ownerHandler(scheme *runtime.Scheme, mapper apimeta.RESTMapper) handler.EventHandler {
	return handler.EnqueueRequestForOwner(scheme, mapper, &kubetinkv1alpha1.Tinkerbell{}, handler.OnlyControllerOwner())
}

// notServed is nil: applying a Flux object the apiserver does not serve reports it (applyObject).
func (fluxEngine) notServed() error { return nil }

func (fluxEngine) applyRefused(*unstructured.Unstructured, error) error { return nil }

// readiness is the generation rule (readiness) plus the revision rules:
//   - a CRD Kustomization is ready only once it has applied the artifact its GitRepository serves now: where the
//     CRDs' path does not change between two releases, the Kustomization's generation does not change either;
//   - a HelmRelease is ready only once its latest release is of the chart version Kubetink asks for: an upgrade
//     whose values do not change changes only the OCIRepository, and helm-controller upgrades after it fetched.
func (fluxEngine) readiness(live *unstructured.Unstructured, rev revisions) (ready, isStalled bool, message string) {
	ready, isStalled, message = readiness(live)
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

func (fluxEngine) retryHint(kubetinkv1alpha1.ComponentStatus) string {
	return "fix the cause, then request a reconciliation (annotate the Tinkerbell with reconcile.fluxcd.io/requestedAt and reconcile.fluxcd.io/resetAt)"
}

// paused sets spec.suspend on a HelmRelease.
func (fluxEngine) paused(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	out := u.DeepCopy()
	if err := unstructured.SetNestedField(out.Object, true, "spec", "suspend"); err != nil {
		return nil, err
	}
	return out, nil
}

// idle: helm-controller runs one reconciliation of a HelmRelease at a time, and one that finds it suspended
// only records status.observedGeneration (helm-controller v1.6.4, HelmReleaseReconciler.Reconcile). Once that
// equals the suspended generation, no reconciliation from before the suspension can still be running.
func (fluxEngine) idle(live *unstructured.Unstructured) (isPaused, busy bool) {
	isPaused, _, _ = unstructured.NestedBool(live.Object, "spec", "suspend")
	observed, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration")
	return isPaused, !isPaused || observed < live.GetGeneration()
}

// retire suspends a HelmRelease: helm-controller uninstalls the release on deletion only when the HelmRelease
// is not suspended (reconcileDelete in internal/controller/helmrelease_controller.go of helm-controller v1.6.4),
// and removes its finalizer either way. The other kinds need nothing: the CRD Kustomization has deletionPolicy
// Orphan, and the sources install nothing.
func (fluxEngine) retire(ctx context.Context, c client.Client, live *unstructured.Unstructured) error {
	return setSuspend(ctx, c, live, true)
}

// orphan removes the Tinkerbell's owner reference, so the garbage collector leaves the object running.
func (fluxEngine) orphan(ctx context.Context, c client.Client, obj *kubetinkv1alpha1.Tinkerbell, live *unstructured.Unstructured) error {
	owners := live.GetOwnerReferences()
	kept := slices.DeleteFunc(slices.Clone(owners), func(o metav1.OwnerReference) bool { return o.UID == obj.UID })
	if len(kept) == len(owners) {
		return nil
	}
	base := live.DeepCopy()
	live.SetOwnerReferences(kept)
	if err := c.Patch(ctx, live, client.MergeFrom(base)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to release %s %s/%s: %w", live.GetKind(), live.GetNamespace(), live.GetName(), err)
	}
	return nil
}

// beforeUninstall clears spec.suspend on a HelmRelease: helm-controller skips the Helm uninstall of a
// suspended HelmRelease on deletion (it only drops its finalizer), and the upgrade's Suspend phase suspends the
// running release before the pre-upgrade Job: deleting it as is would leave the legacy stack's workloads running
// beside the new release.
func (fluxEngine) beforeUninstall(ctx context.Context, c client.Client, live *unstructured.Unstructured) error {
	return setSuspend(ctx, c, live, false)
}

// setSuspend sets (or removes) a live HelmRelease's spec.suspend with a merge patch, when it differs. Other kinds
// are left alone. It is for objects about to be deleted; a rendered HelmRelease is paused by applying it with
// spec.suspend (paused), so that applying it without resumes it.
func setSuspend(ctx context.Context, c client.Client, live *unstructured.Unstructured, suspend bool) error {
	if live.GetKind() != helmv2.HelmReleaseKind {
		return nil
	}
	if current, _, _ := unstructured.NestedBool(live.Object, "spec", "suspend"); current == suspend {
		return nil
	}
	patch, verb := `{"spec":{"suspend":true}}`, "suspend"
	if !suspend {
		patch, verb = `{"spec":{"suspend":null}}`, "resume"
	}
	if err := c.Patch(ctx, live, client.RawPatch(types.MergePatchType, []byte(patch))); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to %s HelmRelease %s/%s: %w", verb, live.GetNamespace(), live.GetName(), err)
	}
	return nil
}
