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
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/inventory"
	"github.com/kubetink/kubetink/internal/render"
)

const (
	// digestAnnotation holds the digest of what Kubetink last applied to an object. It changes when a field is
	// dropped from the rendered object, which the subset comparison alone cannot see.
	digestAnnotation = "kubetink.io/digest"

	crdKind = "CustomResourceDefinition"
)

// applyAll applies the rendered objects in order. The CRDs first: their source, then what applies them
// (tinkerbell_crds.go). The chart's source and release follow only once the CRDs of the version are established,
// so that no new Tinkerbell controller runs against the previous release's CRDs, which would prune fields they
// do not know. A chart source that does not exist yet is created at once, so the chart is fetched while the CRDs
// are applied: with nothing installed from it, there is nothing to upgrade early. Before anything, the objects of
// an engine the Tinkerbell no longer uses are retired.
func (r *TinkerbellReconciler) applyAll(ctx context.Context, s *scope) error {
	e := r.engineFor(s.obj)
	if err := r.watches.ensure(e); err != nil {
		return err
	}
	if !r.watches.served(e) {
		if err := e.notServed(); err != nil {
			return err
		}
	}
	if err := r.retireEngine(ctx, s); err != nil {
		return err
	}
	var crdKustomizations, later []*unstructured.Unstructured
	for _, u := range s.result.Objects {
		switch {
		case u.GetLabels()[render.LabelComponent] != render.ComponentCRDs:
			later = append(later, u)
		case isCRDKustomization(u):
			crdKustomizations = append(crdKustomizations, u)
		default: // the CRDs' GitRepository, or the CRD Applications
			if err := r.applyObject(ctx, s, u); err != nil {
				return err
			}
		}
	}
	source, err := r.crdSource(ctx, s)
	if err != nil {
		return err
	}
	hold := holdCRDKustomizations(source)
	for _, u := range crdKustomizations {
		// Keep what runs now; the watch on the GitRepository brings us back once it has fetched.
		if err := r.applyUnless(ctx, s, u, hold, false); err != nil {
			return err
		}
	}
	crdsReady, err := r.crdsReady(ctx, s)
	if err != nil {
		return err
	}
	for _, u := range later {
		// Keep what runs now; the watches on the CRD objects bring us back when the CRDs are ready.
		createNow := u.GetLabels()[render.LabelComponent] == render.ComponentChart
		if err := r.applyUnless(ctx, s, u, !crdsReady, createNow); err != nil {
			return err
		}
	}
	return nil
}

// applyUnless applies u, or when hold is set leaves the live object as it is and only records whether it
// exists; with createNow, an object that does not exist yet is created even while held.
func (r *TinkerbellReconciler) applyUnless(ctx context.Context, s *scope, u *unstructured.Unstructured, hold, createNow bool) error {
	if !hold {
		return r.applyObject(ctx, s, u)
	}
	live, err := r.getLive(ctx, u)
	if err != nil {
		return err
	}
	if live == nil && createNow {
		return r.applyObject(ctx, s, u)
	}
	// What runs now is recorded (inventory, readiness) only when it is the Tinkerbell's own.
	if err := r.checkOwnership(s.obj, live); err != nil {
		return err
	}
	s.present[inventory.Ref(u).ID] = live != nil
	return nil
}

// applyObject server-side applies one object as the Tinkerbell's controller, unless the live object already
// holds every field Kubetink sets: a no-op reconciliation sends no write request. The engine sets the owner
// reference where its objects can carry one (not Argo CD Applications, in another namespace): otherwise their
// labels say whose they are. An existing object that is not the Tinkerbell's own (checkOwnership) is never
// written to.
func (r *TinkerbellReconciler) applyObject(ctx context.Context, s *scope, u *unstructured.Unstructured) error {
	desired := u.DeepCopy()
	if err := engineOf(desired).setOwner(s.obj, desired, r.Scheme()); err != nil {
		return err
	}
	forwardReconcileRequests(s.obj, desired)
	digest, err := objectDigest(desired)
	if err != nil {
		return err
	}
	annotations := desired.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[digestAnnotation] = digest
	desired.SetAnnotations(annotations)

	id := inventory.Ref(desired).ID
	live, err := r.getExisting(ctx, desired)
	if err != nil {
		return err
	}
	if err := r.checkOwnership(s.obj, live); err != nil {
		return err
	}
	if live != nil && isSubset(normalize(desired.Object), normalize(live.Object)) {
		s.present[id] = true
		return nil
	}
	// The apiserver's response is decoded into desired: the object as it is now.
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired),
		client.FieldOwner(r.ControllerName), client.ForceOwnership); err != nil {
		if apimeta.IsNoMatchError(err) {
			return waiting(kubetinkv1alpha1.EngineNotInstalledReason, "the apiserver does not serve %s: install the %s engine's CRDs",
				desired.GroupVersionKind().GroupKind(), s.obj.GetEngine())
		}
		if refused := engineOf(desired).applyRefused(desired, err); refused != nil {
			return refused
		}
		return fmt.Errorf("failed to apply %s %s/%s: %w", desired.GetKind(), desired.GetNamespace(), desired.GetName(), err)
	}
	s.present[id] = true
	s.written[id] = desired
	r.watches.wrote(desired)
	return nil
}

// current returns a rendered object as it is now: the apiserver's answer if this pass wrote it, else the cached
// copy; nil when absent.
func (r *TinkerbellReconciler) current(ctx context.Context, s *scope, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if w, ok := s.written[inventory.Ref(u).ID]; ok {
		return w, nil
	}
	return r.getLive(ctx, u)
}

// forwardReconcileRequests copies Flux's reconcile-request annotations from the Tinkerbell to the generated
// objects, so "flux reconcile"-style requests on the Tinkerbell reach them; resetAt and forceAt (which clear a
// HelmRelease's exhausted retries or force an upgrade) go to HelmReleases only.
func forwardReconcileRequests(obj *kubetinkv1alpha1.Tinkerbell, u *unstructured.Unstructured) {
	keys := []string{meta.ReconcileRequestAnnotation}
	if u.GetKind() == helmv2.HelmReleaseKind {
		keys = append(keys, "reconcile.fluxcd.io/resetAt", "reconcile.fluxcd.io/forceAt")
	}
	for _, k := range keys {
		v, ok := obj.GetAnnotations()[k]
		if !ok {
			continue
		}
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a[k] = v
		u.SetAnnotations(a)
	}
}

// getLive reads an object from the cache as its typed Flux kind and returns it as unstructured; nil when absent.
// Kinds outside the scheme (Argo CD Applications) are read as unstructured, from the apiserver.
func (r *TinkerbellReconciler) getLive(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return r.getLiveFrom(ctx, r.Client, u)
}

// getLiveFrom is getLive through the reader c.
func (r *TinkerbellReconciler) getLiveFrom(ctx context.Context, c client.Reader, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	typed, err := r.getTypedFrom(ctx, c, u)
	if err != nil || typed == nil {
		return nil, err
	}
	if live, ok := typed.(*unstructured.Unstructured); ok {
		return live, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
	if err != nil {
		return nil, err
	}
	live := &unstructured.Unstructured{Object: m}
	// Only the cache fills in a typed object's kind.
	live.SetGroupVersionKind(u.GroupVersionKind())
	return live, nil
}

// getTypedFrom reads an object through c as its typed kind, or as unstructured for kinds outside the scheme;
// nil when absent, including when the apiserver does not serve its kind.
func (r *TinkerbellReconciler) getTypedFrom(ctx context.Context, c client.Reader, u *unstructured.Unstructured) (client.Object, error) {
	var typed client.Object
	ro, err := r.Scheme().New(u.GroupVersionKind())
	switch {
	case err == nil:
		typed = ro.(client.Object)
	case runtime.IsNotRegisteredError(err):
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		typed = live
	default:
		return nil, fmt.Errorf("kind %s is not in the scheme: %w", u.GroupVersionKind(), err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(u), typed); err != nil {
		if apierrors.IsNotFound(err) || apimeta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to get %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return typed, nil
}

// prune deletes the objects of the previous inventory that are no longer rendered, then records the new
// inventory. It only deletes the Tinkerbell's own objects (foreignOwner), and never a CRD.
func (r *TinkerbellReconciler) prune(ctx context.Context, s *scope) error {
	var present []*unstructured.Unstructured
	for _, u := range s.result.Objects {
		if s.present[inventory.Ref(u).ID] {
			present = append(present, u)
		}
	}
	current := inventory.New(present...)
	for _, ref := range inventory.Diff(s.obj.Status.Inventory, current) {
		if err := r.deleteOwned(ctx, s.obj, ref); err != nil {
			return err
		}
	}
	s.obj.Status.Inventory = current
	return nil
}

// deleteOwned deletes one inventory entry if it is still the Tinkerbell's own (foreignOwner).
func (r *TinkerbellReconciler) deleteOwned(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell, ref kubetinkv1alpha1.ResourceRef) error {
	u, err := inventory.Object(ref)
	if err != nil || u.GetKind() == crdKind {
		return nil // never a CRD; a malformed entry is dropped
	}
	live, err := r.getLive(ctx, u)
	if err != nil || live == nil {
		return err
	}
	if !owns(obj, live) {
		return nil // not ours any more: leave it alone
	}
	if err := r.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// objectDigest is the sha256 of an object's JSON (map keys are sorted by encoding/json).
func objectDigest(u *unstructured.Unstructured) (string, error) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return "", fmt.Errorf("failed to encode %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(data)), nil
}

// normalize round-trips a value through JSON so numbers compare equal whatever Go type produced them.
func normalize(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return v
	}
	return out
}

// isSubset reports whether every field set in desired has the same value in live. Maps may have extra keys in
// live (defaults, other field managers); lists must have the same length with each element a subset.
func isSubset(desired, live any) bool {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		for k, dv := range d {
			lv, ok := l[k]
			if !ok {
				if dv == nil {
					continue
				}
				return false
			}
			if !isSubset(dv, lv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(d) {
			return false
		}
		for i := range d {
			if !isSubset(d[i], l[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(desired, live)
	}
}

// orArgoCDNamespace returns advice to change spec.argoCD.namespace, or "" when the cluster admin pinned the
// namespace (--argocd-namespace) and another one would be refused.
func (r *TinkerbellReconciler) orArgoCDNamespace(advice string) string {
	if r.Policy.ArgoCDNamespace != "" {
		return ""
	}
	return advice
}
