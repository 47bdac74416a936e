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

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/inventory"
)

// engine is what differs between the two engines Kubetink drives, Flux (fluxEngine, tinkerbell_flux.go) and
// Argo CD (argoCDEngine, tinkerbell_argocd.go). The reconciler takes one from engineFor (the Tinkerbell's
// spec.engine, or the engine the inventory records while a switch is pending) or, for one generated object,
// from engineOf (its kind), and calls it; nothing else in the package asks which engine it is.
//
// A chart installer is the object that installs the chart's services: a HelmRelease, or the chart's
// Application. The engine pauses it (stops it changing the cluster) while the pre-upgrade Job runs.
type engine interface {
	// name is the engine's spec.engine value.
	name() kubetinkv1alpha1.Engine
	// kinds returns an empty object of each kind the engine generates.
	kinds() []client.Object
	// generates reports whether a generated object is one this engine, as the Tinkerbell configures it, would
	// generate. An object of the inventory that it does not generate is retired (retireEngine).
	generates(u *unstructured.Unstructured) bool
	// installs reports whether deleting a generated object uninstalls services: finalize deletes these first
	// and waits for them to be gone.
	installs(u *unstructured.Unstructured) bool

	// setOwner marks an object about to be applied as obj's beyond its labels (an owner reference), where the
	// engine's objects can carry one.
	setOwner(obj *kubetinkv1alpha1.Tinkerbell, desired *unstructured.Unstructured, scheme *runtime.Scheme) error
	// ownerHandler maps the watch events of the engine's objects to their Tinkerbell.
	ownerHandler(scheme *runtime.Scheme, mapper apimeta.RESTMapper) handler.EventHandler
	// notServed is the outcome when the apiserver does not serve the engine's kinds yet, or nil to let the
	// apply report it.
	notServed() error
	// applyRefused explains an apply error that the engine's setup causes as an outcome, or returns nil.
	applyRefused(desired *unstructured.Unstructured, err error) error

	// readiness is the state of one of the engine's generated objects: ready, stalled (it will not recover by
	// itself for the current spec), and a message.
	readiness(live *unstructured.Unstructured, rev revisions) (ready, isStalled bool, message string)
	// retryHint says how to retry a stalled object after fixing its cause.
	retryHint(c kubetinkv1alpha1.ComponentStatus) string

	// paused returns a copy of a rendered chart installer that, applied, stops it changing the cluster.
	// Applying the rendered object as it is resumes it: the apply's field ownership drops what paused set.
	paused(u *unstructured.Unstructured) (*unstructured.Unstructured, error)
	// idle reads a live chart installer: whether it is paused, and whether it is still busy with work it began
	// before.
	idle(live *unstructured.Unstructured) (isPaused, busy bool)

	// retire prepares a live object for its deletion when the Tinkerbell leaves the engine (or Argo CD
	// namespace): deleting it must uninstall nothing.
	retire(ctx context.Context, c client.Client, live *unstructured.Unstructured) error
	// orphan lets a live object outlive the Tinkerbell (deletionPolicy Orphan): neither the garbage collector
	// nor its deletion later uninstalls anything.
	orphan(ctx context.Context, c client.Client, obj *kubetinkv1alpha1.Tinkerbell, live *unstructured.Unstructured) error
	// beforeUninstall prepares a live object for a deletion that must uninstall what it installed.
	beforeUninstall(ctx context.Context, c client.Client, live *unstructured.Unstructured) error
}

// engines are both engines, for what the manager sets up for either (watches, the cache).
var engines = []engine{fluxEngine{}, argoCDEngine{}}

// engineFor returns the engine of the Tinkerbell's spec.engine. Its Argo CD namespace is the one the cluster
// admin's policy gives (policy.Settings.ArgoCDNamespaceFor), as in render: Applications are created there, and
// those left in another one (a former spec.argoCD.namespace or pinned namespace) are retired.
func (r *TinkerbellReconciler) engineFor(obj *kubetinkv1alpha1.Tinkerbell) engine {
	if obj.GetEngine() == kubetinkv1alpha1.EngineArgoCD {
		return argoCDEngine{namespace: r.Policy.ArgoCDNamespaceFor(obj)}
	}
	return fluxEngine{}
}

// engineOf returns the engine that generates objects of u's kind, for an action on that one object.
func engineOf(u *unstructured.Unstructured) engine {
	if isApplication(u) {
		return argoCDEngine{namespace: u.GetNamespace()}
	}
	return fluxEngine{}
}

// inventoryEngine is the engine whose running chart installer the inventory records: Flux while a HelmRelease
// is in it, else Argo CD while an Application is, else "".
func inventoryEngine(inv *kubetinkv1alpha1.ResourceInventory) kubetinkv1alpha1.Engine {
	if inv == nil {
		return ""
	}
	var found kubetinkv1alpha1.Engine
	for _, ref := range inv.Entries {
		u, err := inventory.Object(ref)
		switch {
		case err != nil:
		case fluxEngine{}.installs(u):
			return kubetinkv1alpha1.EngineFlux
		case argoCDEngine{}.installs(u):
			found = kubetinkv1alpha1.EngineArgoCD
		}
	}
	return found
}

func isFluxKind(u *unstructured.Unstructured) bool {
	return strings.HasSuffix(u.GroupVersionKind().Group, ".toolkit.fluxcd.io")
}

// retireEngine runs before anything is applied. It removes the generated objects of the engine the Tinkerbell
// no longer uses (after a change of spec.engine), Applications left in a former spec.argoCD.namespace and
// Applications under the names earlier Kubetink versions gave them (renamed), without uninstalling the
// services, and waits until they are gone, so that two engines, or two Applications, never manage the stack at
// once. Only the Tinkerbell's own objects are touched (foreignOwner).
// Each object is first retired by its engine (a HelmRelease suspended, an Application without its resources
// finalizer), then deleted; the sources and the CRD Kustomization (deletionPolicy Orphan) are deleted.
//
// The new engine then adopts the running objects: Argo CD applies them server-side; helm-controller takes
// ownership of existing objects when it installs or upgrades (install.TakeOwnership unless disableTakeOwnership,
// internal/action/install.go), and upgrades a release it finds in storage without history (Unmanaged state,
// internal/reconcile/state.go and atomic_release.go).
func (r *TinkerbellReconciler) retireEngine(ctx context.Context, s *scope) error {
	if s.obj.Status.Inventory == nil {
		return nil
	}
	current := r.engineFor(s.obj)
	var gone []string
	moved := false
	for _, ref := range inventory.Diff(s.obj.Status.Inventory, inventory.New(s.result.Objects...)) {
		u, err := inventory.Object(ref)
		if err != nil || current.generates(u) && !renamed(s, u) {
			continue
		}
		live, err := r.getLive(ctx, u)
		if err != nil {
			return err
		}
		if live == nil || !owns(s.obj, live) {
			continue
		}
		moved = moved || current.generates(u)
		if err := engineOf(u).retire(ctx, r.Client, live); err != nil {
			return err
		}
		if live.GetDeletionTimestamp().IsZero() {
			if err := r.Delete(ctx, live); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("failed to delete %s %s/%s: %w", live.GetKind(), live.GetNamespace(), live.GetName(), err)
			}
		}
		gone = append(gone, fmt.Sprintf("%s %s/%s", live.GetKind(), live.GetNamespace(), live.GetName()))
	}
	if len(gone) > 0 && moved {
		return waiting(meta.ProgressingReason,
			"moving Applications to their new names: waiting for %s to be removed; the services keep running", strings.Join(gone, ", "))
	}
	if len(gone) > 0 {
		return waiting(kubetinkv1alpha1.EngineSwitchInProgressReason,
			"switching to %s: waiting for %s to be removed; the services keep running", s.obj.GetEngine(), strings.Join(gone, ", "))
	}
	return nil
}
