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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/kubetink/kubetink/internal/migration"
)

// rewriteObject transforms one object and writes it back, retrying on conflicts with a fresh copy. The object is
// backed up before the first write. It reports whether anything changed.
func (r *Runner) rewriteObject(ctx context.Context, name string, rw migration.Rewrite, listed *unstructured.Unstructured) (bool, error) {
	changed := false
	cur := listed
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh, err := r.client.Resource(rw.Target.GVR()).Namespace(listed.GetNamespace()).Get(ctx, listed.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur = fresh
		}
		first = false
		desired := cur.DeepCopy()
		c, err := rw.Transform(desired, r.env)
		if err != nil || !c {
			return err
		}
		changed = true
		if err := r.backup(ctx, name, rw.Target, cur, actionUpdated); err != nil {
			return err
		}
		return r.write(ctx, rw.Target, cur, desired)
	})
	return changed, err
}

// write stores desired in place of cur. A changed status goes through the status subresource first, so that the
// main update that follows (which may remove a capture annotation) only happens once the new status is stored.
// After each write it checks that the apiserver kept what was sent: the apiserver silently prunes fields the
// installed CRD does not declare, which would otherwise lose data without an error.
func (r *Runner) write(ctx context.Context, t migration.Target, cur, desired *unstructured.Unstructured) error {
	client := r.client.Resource(t.GVR()).Namespace(desired.GetNamespace())
	if !sameJSON(cur.Object["status"], desired.Object["status"]) {
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
	if !sameJSON(withoutStatus(cur), withoutStatus(desired)) {
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
