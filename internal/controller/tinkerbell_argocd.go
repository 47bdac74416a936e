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
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/inventory"
	"github.com/kubetink/kubetink/internal/render"
)

// The Argo CD engine. Applications are not in the scheme (the typed Argo CD API module does not resolve with this
// toolchain): they are read, applied and watched as unstructured objects. They live in spec.argoCD.namespace, so
// they carry no owner reference: the kubetink.io/name and kubetink.io/namespace labels, the inventory and the
// Tinkerbell's finalizer tie them to their Tinkerbell, and a label-mapped watch brings their status changes back.

// The generated Argo CD Applications: server-side applied (create, patch), read and watched for readiness, paused
// during an upgrade and released (their resources finalizer removed) on orphaning or an engine switch (patch),
// pruned and deleted with the Tinkerbell (delete).
// +kubebuilder:rbac:groups=argoproj.io,resources=applications,verbs=get;list;watch;create;patch;delete

// applicationGVK is the kind of Argo CD Applications.
var applicationGVK = schema.FromAPIVersionAndKind(render.ArgoCDAPIVersion, render.ApplicationKind)

// Argo CD operation phases (status.operationState.phase) and health and sync statuses.
const (
	argoPhaseRunning     = "Running"
	argoPhaseTerminating = "Terminating"
	argoPhaseFailed      = "Failed"
	argoPhaseError       = "Error"
	argoHealthy          = "Healthy"
	argoDegraded         = "Degraded"
	argoSynced           = "Synced"
)

func isApplication(u *unstructured.Unstructured) bool {
	return u.GroupVersionKind().GroupKind() == applicationGVK.GroupKind()
}

func isFluxKind(u *unstructured.Unstructured) bool {
	return strings.HasSuffix(u.GroupVersionKind().Group, ".toolkit.fluxcd.io")
}

// applicationReadiness is readiness for an Argo CD Application, which has no generation-aware Ready condition.
// Argo CD records in status.sync.comparedTo the source and destination its last comparison used, and in
// status.operationState.syncResult.source those of its last sync: a status counts only when they are the
// current spec's (the analogue of observedGeneration). Ready is Healthy and Synced with no sync running (and,
// for a classic Helm repository source, sync.revision equal to targetRevision). A failed or errored sync of the
// current spec, after Argo CD's retries, or Degraded health, stalls.
func applicationReadiness(live *unstructured.Unstructured) (ready, isStalled bool, message string) {
	str := func(path ...string) string {
		s, _, _ := unstructured.NestedString(live.Object, path...)
		return s
	}
	health, healthMsg := str("status", "health", "status"), str("status", "health", "message")
	syncStatus := str("status", "sync", "status")
	phase, opMsg := str("status", "operationState", "phase"), str("status", "operationState", "message")
	withMsg := func(s, msg string) string {
		if msg == "" {
			return s
		}
		return s + ": " + msg
	}

	switch {
	case health == "" && syncStatus == "":
		return false, false, "waiting for Argo CD to report status"
	case (phase == argoPhaseFailed || phase == argoPhaseError) && sameSpec(live, "status", "operationState", "syncResult"):
		return false, true, withMsg("sync "+strings.ToLower(phase), opMsg)
	case !sameSpec(live, "status", "sync", "comparedTo"):
		return false, false, "waiting for Argo CD to compare the current spec"
	case syncRunning(live):
		return false, false, withMsg("sync in progress", opMsg)
	case health == argoDegraded:
		return false, true, withMsg("health Degraded", healthMsg)
	case syncStatus != argoSynced || health != argoHealthy:
		return false, false, withMsg(fmt.Sprintf("sync status %s, health %s", orUnknown(syncStatus), orUnknown(health)), healthMsg)
	case !revisionCurrent(live):
		return false, false, "waiting for Argo CD to sync the target revision"
	default:
		return true, false, withMsg("Healthy and Synced", str("status", "sync", "revision"))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// sameSpec reports whether the source and destination recorded at path (status.sync.comparedTo or
// status.operationState.syncResult) are the Application's spec.source and spec.destination. Empty fields are
// ignored on both sides: Argo CD writes them back from Go structs that omit some and keep others.
func sameSpec(live *unstructured.Unstructured, path ...string) bool {
	recorded, found, _ := unstructured.NestedMap(live.Object, path...)
	if !found {
		return false
	}
	spec, _, _ := unstructured.NestedMap(live.Object, "spec")
	if !reflect.DeepEqual(pruneEmpty(normalize(spec["source"])), pruneEmpty(normalize(recorded["source"]))) {
		return false
	}
	// syncResult has no destination; comparedTo has.
	if dst, ok := recorded["destination"]; ok {
		return reflect.DeepEqual(pruneEmpty(normalize(spec["destination"])), pruneEmpty(normalize(dst)))
	}
	return true
}

// pruneEmpty drops nil, "", false, empty maps and empty lists, recursively.
func pruneEmpty(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if p := pruneEmpty(e); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			out = append(out, pruneEmpty(e))
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if t == "" {
			return nil
		}
	case bool:
		if !t {
			return nil
		}
	}
	return v
}

// syncRunning reports whether Argo CD is syncing the Application or about to: an operation is requested (the
// operation field, which automated sync sets before it starts) or running.
func syncRunning(live *unstructured.Unstructured) bool {
	if _, requested := live.Object["operation"]; requested {
		return true
	}
	phase, _, _ := unstructured.NestedString(live.Object, "status", "operationState", "phase")
	return phase == argoPhaseRunning || phase == argoPhaseTerminating
}

// revisionCurrent compares status.sync.revision with spec.source.targetRevision for a classic Helm repository
// source, where Argo CD records the chart version. Git and OCI sources record a commit or digest instead; for
// them sameSpec is the check.
func revisionCurrent(live *unstructured.Unstructured) bool {
	chart, _, _ := unstructured.NestedString(live.Object, "spec", "source", "chart")
	want, _, _ := unstructured.NestedString(live.Object, "spec", "source", "targetRevision")
	got, _, _ := unstructured.NestedString(live.Object, "status", "sync", "revision")
	return chart == "" || want == "" || got == "" || got == want
}

// objectReadiness applies the readiness rule of the object's engine.
func objectReadiness(live *unstructured.Unstructured) (ready, isStalled bool, message string) {
	if isApplication(live) {
		return applicationReadiness(live)
	}
	return readiness(live)
}

// releaseApplication removes Argo CD's resources finalizers from an Application, so that deleting it leaves
// the resources it applied in place. The patch carries the resourceVersion: finalizers others add in between
// are not lost.
func (r *TinkerbellReconciler) releaseApplication(ctx context.Context, live *unstructured.Unstructured) error {
	kept := slices.DeleteFunc(slices.Clone(live.GetFinalizers()), func(f string) bool {
		return f == render.ArgoCDResourcesFinalizer || strings.HasPrefix(f, render.ArgoCDResourcesFinalizer+"/")
	})
	if len(kept) == len(live.GetFinalizers()) {
		return nil
	}
	base := live.DeepCopy()
	live.SetFinalizers(kept)
	if err := r.Patch(ctx, live, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to remove the resources finalizer of Application %s/%s: %w", live.GetNamespace(), live.GetName(), err)
	}
	return nil
}

// retireEngine runs before anything is applied. It removes the generated objects of the engine the Tinkerbell
// no longer uses (after a change of spec.engine) and Applications left in a former spec.argoCD.namespace, without
// uninstalling the services, and waits until they are gone, so that two engines never manage the stack at once:
//   - a HelmRelease is suspended, then deleted: helm-controller uninstalls the release on deletion only when the
//     HelmRelease is not suspended (reconcileDelete in internal/controller/helmrelease_controller.go of
//     helm-controller v1.6.4), and removes its finalizer either way;
//   - an Application first loses its resources finalizer, then is deleted: without it Argo CD deletes no
//     resources;
//   - the sources and the CRD Kustomization (deletionPolicy Orphan) are deleted.
//
// The new engine then adopts the running objects: Argo CD applies them server-side; helm-controller takes
// ownership of existing objects when it installs or upgrades (install.TakeOwnership unless disableTakeOwnership,
// internal/action/install.go), and upgrades a release it finds in storage without history (Unmanaged state,
// internal/reconcile/state.go and atomic_release.go).
func (r *TinkerbellReconciler) retireEngine(ctx context.Context, s *scope) error {
	if s.obj.Status.Inventory == nil {
		return nil
	}
	var gone []string
	for _, ref := range inventory.Diff(s.obj.Status.Inventory, inventory.New(s.result.Objects...)) {
		u, err := inventory.Object(ref)
		if err != nil || !r.retired(s.obj, u) {
			continue
		}
		live, err := r.getLive(ctx, u)
		if err != nil {
			return err
		}
		if live == nil || !ownedBy(live, s.obj) {
			continue
		}
		if err := r.retire(ctx, live); err != nil {
			return err
		}
		gone = append(gone, fmt.Sprintf("%s %s/%s", live.GetKind(), live.GetNamespace(), live.GetName()))
	}
	if len(gone) > 0 {
		return waiting(kubetinkv1alpha1.EngineSwitchInProgressReason,
			"switching to %s: waiting for %s to be removed; the services keep running", s.obj.GetEngine(), strings.Join(gone, ", "))
	}
	return nil
}

// retired reports whether a generated object belongs to an engine, or an Argo CD namespace, the Tinkerbell no
// longer uses.
func (r *TinkerbellReconciler) retired(obj *kubetinkv1alpha1.Tinkerbell, u *unstructured.Unstructured) bool {
	if obj.GetEngine() == kubetinkv1alpha1.EngineArgoCD {
		return isFluxKind(u) || (isApplication(u) && u.GetNamespace() != obj.GetArgoCDNamespace())
	}
	return isApplication(u)
}

// retire takes one step of removing an object without uninstalling what it installed (see retireEngine).
func (r *TinkerbellReconciler) retire(ctx context.Context, live *unstructured.Unstructured) error {
	switch {
	case live.GetKind() == "HelmRelease":
		if suspended, _, _ := unstructured.NestedBool(live.Object, "spec", "suspend"); !suspended {
			patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"suspend":true}}`))
			if err := r.Patch(ctx, live, patch); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("failed to suspend HelmRelease %s/%s: %w", live.GetNamespace(), live.GetName(), err)
			}
		}
	case isApplication(live):
		if err := r.releaseApplication(ctx, live); err != nil {
			return err
		}
	}
	if !live.GetDeletionTimestamp().IsZero() {
		return nil
	}
	if err := r.Delete(ctx, live); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete %s %s/%s: %w", live.GetKind(), live.GetNamespace(), live.GetName(), err)
	}
	return nil
}

// inventoryEngine is the engine whose running release the inventory records: Flux while a HelmRelease is in it,
// else Argo CD while an Application is, else "".
func inventoryEngine(inv *kubetinkv1alpha1.ResourceInventory) kubetinkv1alpha1.Engine {
	if inv == nil {
		return ""
	}
	var engine kubetinkv1alpha1.Engine
	for _, ref := range inv.Entries {
		u, err := inventory.Object(ref)
		switch {
		case err != nil:
		case u.GetKind() == "HelmRelease" && isFluxKind(u):
			return kubetinkv1alpha1.EngineFlux
		case isApplication(u):
			engine = kubetinkv1alpha1.EngineArgoCD
		}
	}
	return engine
}

// ownedBy reports whether an object carries the labels of the Tinkerbell.
func ownedBy(live *unstructured.Unstructured, obj *kubetinkv1alpha1.Tinkerbell) bool {
	l := live.GetLabels()
	return l[render.LabelName] == obj.Name && l[render.LabelNamespace] == obj.Namespace
}

// ownedByAnother returns the Tinkerbell whose labels an object carries when it is not obj, or "".
func ownedByAnother(live *unstructured.Unstructured, obj *kubetinkv1alpha1.Tinkerbell) string {
	l := live.GetLabels()
	name, ns := l[render.LabelName], l[render.LabelNamespace]
	if name == "" || (name == obj.Name && ns == obj.Namespace) {
		return ""
	}
	return ns + "/" + name
}

// tinkerbellForLabels maps an object to the Tinkerbell named by its kubetink.io labels: Applications cannot
// point at their Tinkerbell with an owner reference.
func tinkerbellForLabels(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	name, ns := l[render.LabelName], l[render.LabelNamespace]
	if name == "" || ns == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}
