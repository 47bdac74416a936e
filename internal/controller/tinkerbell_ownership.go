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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/inventory"
	"github.com/kubetink/kubetink/internal/render"
)

// Ownership. A generated object's name is predictable, so an object of that name may exist before Kubetink
// creates it: another team's HelmRelease, another Tinkerbell's Application, or an object a user made by hand.
// Kubetink writes to (applies, suspends, resumes, orphans) or deletes an existing object only when it is this
// Tinkerbell's: it carries app.kubernetes.io/managed-by=kubetink and the kubetink.io/name and
// kubetink.io/namespace labels naming this Tinkerbell (render sets all three on every object it has generated,
// since its first version), and, for a Flux object with a controller owner reference, that reference is this
// Tinkerbell's UID. An Application never has one from Kubetink (it lives in another namespace). Anything else is
// left exactly as it is, and the Tinkerbell is Stalled with reason OwnershipConflict.

// foreignOwner returns "" when live is the Tinkerbell's own, else who it belongs to, for a message.
// controlled says whether the object is a Flux object, which carries the Tinkerbell as controller owner.
func foreignOwner(live metav1.Object, controlled bool, obj *kubetinkv1alpha1.Tinkerbell) string {
	l := live.GetLabels()
	name, ns := l[render.LabelName], l[render.LabelNamespace]
	ref := metav1.GetControllerOfNoCopy(live)
	switch {
	case l[kubetinkv1alpha1.LabelManagedBy] != kubetinkv1alpha1.ManagedBy || name == "" || ns == "":
		if ref != nil {
			return fmt.Sprintf("is controlled by %s %s and was not created by Kubetink", ref.Kind, ref.Name)
		}
		return "was not created by Kubetink"
	case name != obj.Name || ns != obj.Namespace:
		return fmt.Sprintf("belongs to Tinkerbell %s/%s", ns, name)
	case ref == nil:
		return ""
	case !controlled:
		return fmt.Sprintf("is controlled by %s %s", ref.Kind, ref.Name)
	case ref.UID != obj.UID:
		if ref.Kind == kubetinkv1alpha1.TinkerbellKind && ref.Name == obj.Name {
			return fmt.Sprintf("belongs to an earlier Tinkerbell %s/%s (uid %s), which the garbage collector is removing", obj.Namespace, obj.Name, ref.UID)
		}
		return fmt.Sprintf("is controlled by %s %s", ref.Kind, ref.Name)
	}
	return ""
}

// owns reports whether live is the Tinkerbell's own (see foreignOwner).
func owns(obj *kubetinkv1alpha1.Tinkerbell, live *unstructured.Unstructured) bool {
	return foreignOwner(live, !isApplication(live), obj) == ""
}

// checkOwnership returns an OwnershipConflict when live exists and is not the Tinkerbell's own.
func (r *TinkerbellReconciler) checkOwnership(obj *kubetinkv1alpha1.Tinkerbell, live *unstructured.Unstructured) error {
	if live == nil {
		return nil
	}
	owner := foreignOwner(live, !isApplication(live), obj)
	if owner == "" {
		return nil
	}
	fix := "delete it, or rename this Tinkerbell"
	if isApplication(live) {
		fix += r.orArgoCDNamespace(" or set another spec.argoCD.namespace")
	}
	return &stalledError{reason: kubetinkv1alpha1.OwnershipConflictReason, recheck: true, message: fmt.Sprintf(
		"%s %s/%s already exists and %s; Kubetink leaves it untouched: %s",
		live.GetKind(), live.GetNamespace(), live.GetName(), owner, fix)}
}

// getExisting returns the object of u's kind and name, whoever it belongs to; nil when absent. The manager may
// cache only Kubetink's objects of the generated kinds (cmd/kubetink, OwnedKinds), so an object the cache does not
// hold is looked up on the apiserver before one is created under its name. Applications are read from the
// apiserver already (unstructured objects are not cached).
func (r *TinkerbellReconciler) getExisting(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	live, err := r.getLive(ctx, u)
	if err != nil || live != nil || r.APIReader == nil || isApplication(u) {
		return live, err
	}
	return r.getLiveFrom(ctx, r.APIReader, u)
}

// formerNames returns the former names (render.FormerApplicationNames) of the Applications the Tinkerbell
// renders now, mapped to their current names.
func formerNames(s *scope) map[string]string {
	if s.obj.GetEngine() != kubetinkv1alpha1.EngineArgoCD {
		return nil
	}
	out := map[string]string{}
	for current, former := range render.FormerApplicationNames(s.obj, s.result.Release) {
		out[former] = current
	}
	return out
}

// renamed reports whether an inventory object is an Application under the name an earlier Kubetink version gave
// one the Tinkerbell still renders: it is moved to the new name (retireEngine), never uninstalled. The
// Applications are rendered in the namespace checkPolicy put in s.facts (the pinned one, or spec.argoCD.namespace).
func renamed(s *scope, u *unstructured.Unstructured) bool {
	if !isApplication(u) || u.GetNamespace() != s.facts.ArgoCDNamespace {
		return false
	}
	_, ok := formerNames(s)[u.GetName()]
	return ok
}

// underFormerName gives rendered Applications of the Tinkerbell at rel the names earlier Kubetink versions gave
// them while the inventory holds them under those names only, so that an upgrade pauses the Applications
// that run (pauseChartInstallers) before retireEngine has moved them.
func underFormerName(obj *kubetinkv1alpha1.Tinkerbell, res *render.Result, objs []*unstructured.Unstructured) {
	if obj.Status.Inventory == nil || obj.GetEngine() != kubetinkv1alpha1.EngineArgoCD {
		return
	}
	held := map[string]bool{}
	for _, e := range obj.Status.Inventory.Entries {
		held[e.ID] = true
	}
	former := render.FormerApplicationNames(obj, res.Release)
	for _, u := range objs {
		f, ok := former[u.GetName()]
		if !isApplication(u) || !ok || held[inventory.Ref(u).ID] {
			continue
		}
		old := u.DeepCopy()
		old.SetName(f)
		if held[inventory.Ref(old).ID] {
			u.SetName(f)
		}
	}
}
