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

// Package inventory records which objects Kubetink generated for a Tinkerbell, so that objects it no longer
// renders can be pruned and everything it made can be found on deletion. Entries use Flux's id format
// <namespace>_<name>_<group>_<kind>, so they read like a Kustomization's inventory.
package inventory

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// ID returns the inventory id of an object.
func ID(namespace, name string, gk schema.GroupKind) string {
	return strings.Join([]string{namespace, name, gk.Group, gk.Kind}, "_")
}

// Ref returns the inventory entry of an object.
func Ref(obj *unstructured.Unstructured) kubetinkv1alpha1.ResourceRef {
	gvk := obj.GroupVersionKind()
	return kubetinkv1alpha1.ResourceRef{ID: ID(obj.GetNamespace(), obj.GetName(), gvk.GroupKind()), Version: gvk.Version}
}

// New returns an inventory of the objects, sorted by id.
func New(objs ...*unstructured.Unstructured) *kubetinkv1alpha1.ResourceInventory {
	inv := &kubetinkv1alpha1.ResourceInventory{Entries: make([]kubetinkv1alpha1.ResourceRef, 0, len(objs))}
	for _, o := range objs {
		inv.Entries = append(inv.Entries, Ref(o))
	}
	sortEntries(inv)
	return inv
}

// Add adds an entry unless one with the same id is present, keeping the entries sorted.
func Add(inv *kubetinkv1alpha1.ResourceInventory, ref kubetinkv1alpha1.ResourceRef) {
	if slices.ContainsFunc(inv.Entries, func(e kubetinkv1alpha1.ResourceRef) bool { return e.ID == ref.ID }) {
		return
	}
	inv.Entries = append(inv.Entries, ref)
	sortEntries(inv)
}

// Contains reports whether the inventory lists an entry with the id.
func Contains(inv *kubetinkv1alpha1.ResourceInventory, id string) bool {
	return inv != nil && slices.ContainsFunc(inv.Entries, func(e kubetinkv1alpha1.ResourceRef) bool { return e.ID == id })
}

// Diff returns the entries of old that are not in current: the objects to prune.
func Diff(old, current *kubetinkv1alpha1.ResourceInventory) []kubetinkv1alpha1.ResourceRef {
	if old == nil {
		return nil
	}
	var stale []kubetinkv1alpha1.ResourceRef
	for _, e := range old.Entries {
		if !Contains(current, e.ID) {
			stale = append(stale, e)
		}
	}
	return stale
}

// Object returns a minimal object (apiVersion, kind, namespace, name) for an entry, enough to get or delete it.
func Object(ref kubetinkv1alpha1.ResourceRef) (*unstructured.Unstructured, error) {
	parts := strings.Split(ref.ID, "_")
	if len(parts) != 4 {
		return nil, fmt.Errorf("invalid inventory id %q", ref.ID)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: parts[2], Version: ref.Version, Kind: parts[3]})
	u.SetNamespace(parts[0])
	u.SetName(parts[1])
	return u, nil
}

func sortEntries(inv *kubetinkv1alpha1.ResourceInventory) {
	slices.SortFunc(inv.Entries, func(a, b kubetinkv1alpha1.ResourceRef) int { return strings.Compare(a.ID, b.ID) })
}
