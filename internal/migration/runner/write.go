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

// rewrite applies one Rewrite to every object of its kind, a page at a time: it transforms the page, stores the
// backups of the objects that change, and hands those objects to Workers writers, which write them while the
// next page is fetched and prepared. No object is written before its backup is stored.
func (r *Runner) rewrite(ctx context.Context, m migration.Migration, rw migration.Rewrite, res *Result) error {
	if len(rw.RequiredFields) > 0 {
		installed, err := r.checkSchema(ctx, rw.Target, rw.RequiredFields)
		if err != nil {
			return fmt.Errorf("%w (the %s phase runs once the CRDs of %s are installed)", err, m.Phase, r.opts.To)
		}
		if !installed {
			return nil
		}
	}
	writers, wctx := errgroup.WithContext(ctx)
	writers.SetLimit(r.opts.Workers)
	var (
		mu      sync.Mutex
		changed []string
	)
	_, scanErr := r.scan(wctx, rw.Target, func(page []unstructured.Unstructured) error {
		var (
			writes []*pendingWrite
			sets   []*backupSet
		)
		for i := range page {
			obj := &page[i]
			res.Scanned++
			desired := obj.DeepCopy()
			c, err := rw.Transform(desired, r.env)
			if err != nil {
				return fmt.Errorf("failed to migrate %s %s: %w", rw.Target.Kind, key(obj), err)
			}
			if !c {
				res.Skipped++
				obj.Object = nil // only the objects to write stay in memory
				continue
			}
			if len(sets) == 0 || sets[len(sets)-1].namespace != obj.GetNamespace() || sets[len(sets)-1].full() {
				sets = append(sets, newBackupSet(m.Name, rw.Target, obj.GetNamespace(), actionUpdated))
			}
			if err := sets[len(sets)-1].add(obj); err != nil {
				return err
			}
			writes = append(writes, planWrite(obj, desired))
			obj.Object = nil
		}
		for _, b := range sets {
			if err := r.store(wctx, b); err != nil {
				return err
			}
		}
		for _, w := range writes {
			writers.Go(func() error {
				if wctx.Err() != nil {
					return nil // another write failed: its error is the one reported
				}
				if err := r.writeObject(wctx, rw, w); err != nil {
					return fmt.Errorf("failed to migrate %s %s: %w", rw.Target.Kind, key(w.desired), err)
				}
				mu.Lock()
				defer mu.Unlock()
				res.Changed++
				changed = append(changed, fmt.Sprintf("changed %s %s", rw.Target.Kind, key(w.desired)))
				return nil
			})
		}
		return nil
	})
	// A failed write cancels the scan: its error is the cause.
	if err := writers.Wait(); err != nil {
		return err
	}
	slices.Sort(changed)
	res.Objects = append(res.Objects, changed...)
	return scanErr
}

// pendingWrite is an object to write: desired, and which of its parts differ from what was read.
type pendingWrite struct {
	desired      *unstructured.Unstructured
	status, main bool
}

func planWrite(cur, desired *unstructured.Unstructured) *pendingWrite {
	return &pendingWrite{
		desired: desired,
		status:  !sameJSON(cur.Object["status"], desired.Object["status"]),
		main:    !sameJSON(withoutStatus(cur), withoutStatus(desired)),
	}
}

// writeObject writes one transformed object. On a conflict it reads the object again and transforms the fresh
// copy; the backup taken before the first attempt stays the backup.
func (r *Runner) writeObject(ctx context.Context, rw migration.Rewrite, w *pendingWrite) error {
	first := true
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh, err := r.client.Resource(rw.Target.GVR()).Namespace(w.desired.GetNamespace()).Get(ctx, w.desired.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			desired := fresh.DeepCopy()
			c, err := rw.Transform(desired, r.env)
			if err != nil || !c {
				return err
			}
			w = planWrite(fresh, desired)
		}
		first = false
		return r.write(ctx, rw.Target, w)
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
	_, err := r.scan(ctx, c.Source, func(page []unstructured.Unstructured) error {
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
			if len(sets) == 0 || sets[len(sets)-1].namespace != obj.GetNamespace() || sets[len(sets)-1].full() {
				sets = append(sets, newBackupSet(m.Name, c.Result, obj.GetNamespace(), actionCreated))
			}
			if err := sets[len(sets)-1].add(obj); err != nil {
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

// withoutStatus returns what a main-resource update can change: everything but status and the fields the
// apiserver manages.
func withoutStatus(obj *unstructured.Unstructured) map[string]any {
	c := obj.DeepCopy()
	delete(c.Object, "status")
	for _, f := range []string{"resourceVersion", "generation", "managedFields", "creationTimestamp", "uid"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	return c.Object
}

// sameJSON compares two values by their JSON encoding, which sorts map keys and treats int64 and float64 alike.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(normalizeEmpty(a))
	jb, errB := json.Marshal(normalizeEmpty(b))
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
