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

package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/kubetink/kubetink/internal/migration"
)

// pendingWrite is an object to write: desired, which of its parts differ from what was read, and the steps of
// its pass that changed it (their backups are stored).
type pendingWrite struct {
	desired      *unstructured.Unstructured
	status, main bool
	changed      []int
}

func planWrite(cur, desired *unstructured.Unstructured) *pendingWrite {
	return &pendingWrite{
		desired: desired,
		status:  !sameJSON(cur.Object["status"], desired.Object["status"]),
		main:    !sameMain(cur, desired),
	}
}

// writeObject writes one object. On a conflict it reads the object again and passes the fresh copy through the
// steps; a step that changes it now but did not before backs up what it found first. The backups taken before the
// first attempt stay the backups.
func (r *Runner) writeObject(ctx context.Context, p *pass, w *pendingWrite) error {
	first := true
	backedUp := slices.Clone(w.changed)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh, err := r.client.Resource(p.target.GVR()).Namespace(w.desired.GetNamespace()).Get(ctx, w.desired.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			final, changed, err := r.chain(p.steps, fresh, nil, func(si int, found *unstructured.Unstructured) error {
				if slices.Contains(backedUp, si) {
					return nil
				}
				b := newBackupSet(p.steps[si].name, p.target, found.GetNamespace(), actionUpdated)
				if err := b.add(found); err != nil {
					return err
				}
				if err := r.store(ctx, b); err != nil {
					return err
				}
				backedUp = append(backedUp, si)
				return nil
			})
			if err != nil {
				return err
			}
			w = planWrite(fresh, final)
			w.changed = changed
			if len(changed) == 0 {
				return nil
			}
		}
		first = false
		return r.write(ctx, p.target, w)
	})
}

// write stores w.desired. A changed status goes through the status subresource first, so that the main update
// that follows (which may remove a capture annotation) only happens once the new status is stored. After each
// write it checks that the apiserver kept what was sent: the apiserver silently prunes fields the installed CRD
// does not declare, which would otherwise lose data without an error.
func (r *Runner) write(ctx context.Context, t migration.Target, w *pendingWrite) error {
	desired := w.desired
	client := r.client.Resource(t.GVR()).Namespace(desired.GetNamespace())
	if w.status {
		got, err := client.UpdateStatus(ctx, desired, r.updateOptions())
		if err != nil {
			return err
		}
		if !sameJSON(got.Object["status"], desired.Object["status"]) {
			return fmt.Errorf("the apiserver dropped status fields written to %s %s: the installed CRD does not declare them",
				t.Kind, key(desired))
		}
		if !r.opts.DryRun {
			desired.SetResourceVersion(got.GetResourceVersion())
		}
	}
	if w.main {
		got, err := client.Update(ctx, desired, r.updateOptions())
		if err != nil {
			return err
		}
		if !sameJSON(got.Object["spec"], desired.Object["spec"]) ||
			!sameJSON(got.GetAnnotations(), desired.GetAnnotations()) || !sameJSON(got.GetLabels(), desired.GetLabels()) {
			return fmt.Errorf("the apiserver dropped fields written to %s %s: the installed CRD does not declare them",
				t.Kind, key(desired))
		}
	}
	return nil
}

// create derives and creates the objects of a Creation, a page of sources at a time, and backs up the objects
// created. Existing objects of the result kind are left alone.
func (r *Runner) create(ctx context.Context, m migration.Migration, res *Result) error {
	c := m.Create
	var lines, notes []string
	err := r.scan(ctx, c.Source, func(page []unstructured.Unstructured) error {
		creators, cctx := errgroup.WithContext(ctx)
		creators.SetLimit(r.opts.Workers)
		var (
			mu      sync.Mutex
			created []*unstructured.Unstructured
		)
		for i := range page {
			src := &page[i]
			res.Scanned++
			obj, err := c.Derive(src)
			if err != nil {
				return err
			}
			creators.Go(func() error {
				got, err := r.client.Resource(c.Result.GVR()).Namespace(obj.GetNamespace()).Create(cctx, obj, r.createOptions())
				mu.Lock()
				defer mu.Unlock()
				if apierrors.IsAlreadyExists(err) {
					res.Skipped++
					notes = append(notes, fmt.Sprintf("%s %s already exists and was left as is", c.Result.Kind, key(obj)))
					return nil
				}
				if err != nil {
					return fmt.Errorf("failed to create %s %s: %w", c.Result.Kind, key(obj), err)
				}
				created = append(created, got)
				res.Changed++
				lines = append(lines, fmt.Sprintf("created %s %s from %s", c.Result.Kind, key(obj), c.Source.Kind))
				return nil
			})
		}
		if err := creators.Wait(); err != nil {
			return err
		}
		// Back up what was created, so that a restore can delete it.
		slices.SortFunc(created, func(a, b *unstructured.Unstructured) int { return strings.Compare(key(a), key(b)) })
		var sets []*backupSet
		for _, obj := range created {
			var err error
			if sets, err = addToSets(sets, m.Name, c.Result, actionCreated, obj); err != nil {
				return err
			}
		}
		for _, b := range sets {
			if err := r.store(ctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	slices.Sort(lines)
	slices.Sort(notes)
	res.Objects = append(res.Objects, lines...)
	res.Notes = append(res.Notes, notes...)
	return err
}

// managedMetadata are the metadata fields the apiserver manages: no update changes them.
var managedMetadata = []string{"resourceVersion", "generation", "managedFields", "creationTimestamp", "uid"}

// sameMain reports whether a and b agree on what a main-resource update can change: everything but status and
// the metadata the apiserver manages. It compares field by field, copying nothing.
func sameMain(a, b *unstructured.Unstructured) bool {
	metaA, _ := a.Object["metadata"].(map[string]any)
	metaB, _ := b.Object["metadata"].(map[string]any)
	return sameFields(a.Object, b.Object, "status", "metadata") && sameFields(metaA, metaB, managedMetadata...)
}

// sameFields compares the fields of a and b but those skipped with sameJSON, an absent field and an empty map
// alike.
func sameFields(a, b map[string]any, skip ...string) bool {
	for k, v := range a {
		if !slices.Contains(skip, k) && !sameJSON(v, b[k]) {
			return false
		}
	}
	for k, v := range b {
		if _, inA := a[k]; !inA && !slices.Contains(skip, k) && !sameJSON(nil, v) {
			return false
		}
	}
	return true
}

// sameJSON compares two values by their JSON encoding, which sorts map keys and treats int64 and float64 alike.
// Values equal as Go values are equal in JSON: they are not encoded.
func sameJSON(a, b any) bool {
	a, b = normalizeEmpty(a), normalizeEmpty(b)
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// normalizeEmpty treats a nil map as absent, like the apiserver does for metadata.annotations.
func normalizeEmpty(v any) any {
	switch t := v.(type) {
	case map[string]string:
		if len(t) == 0 {
			return nil
		}
	case map[string]any:
		if len(t) == 0 {
			return nil
		}
	}
	return v
}
