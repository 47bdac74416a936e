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
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/kubetink/kubetink/internal/migration"
)

// RestoreOptions select the backups Restore applies.
type RestoreOptions struct {
	// Migrations are restored in this order. When several migrations changed the same object, list the later
	// ones first so that the object ends in its original state.
	Migrations []string
	// BackupNamespace holds the backup ConfigMaps.
	BackupNamespace string
	// Namespaces limits the restore to the objects of these namespaces; empty means all.
	Namespaces []string
	// DryRun sends every write with dryRun=All.
	DryRun bool
	// Workers is how many objects are restored at the same time; 0 means DefaultWorkers.
	Workers int
}

// RestoreResult is what restoring one migration's backups did.
type RestoreResult struct {
	// Migration is the migration whose backups were applied.
	Migration string
	// Backups counts the objects found in backups, Restored the objects written back, Deleted the objects the
	// migration had created and the restore removed, and Skipped the backups that needed nothing or did not apply.
	Backups, Restored, Deleted, Skipped int
	// Objects has one line per object restored or deleted.
	Objects []string
	// Notes explain skipped backups and partial restores.
	Notes []string
}

// Summary returns "<name>: backups N, restored N, deleted N, skipped N".
func (r RestoreResult) Summary() string {
	return fmt.Sprintf("%s: backups %d, restored %d, deleted %d, skipped %d", r.Migration, r.Backups, r.Restored, r.Deleted, r.Skipped)
}

// Restore puts back the objects that the given migrations changed, as their backups recorded them, and deletes
// the objects they created. It only touches the very objects backed up (same UID) and never recreates a deleted
// one. An object backed up twice by one migration (a run repeated after it failed between backing up and
// writing) gets its oldest backup, the state before the first attempt. A backup is removed from its ConfigMap
// (and the ConfigMap deleted once empty) when its object is back in the backed-up state, so restoring twice
// changes nothing the second time. A status backed up under an older CRD may hold fields the installed CRD no
// longer declares: such an object is restored in part, its backup is kept, and the notes say so.
func Restore(ctx context.Context, client dynamic.Interface, opts RestoreOptions) ([]RestoreResult, error) {
	if opts.BackupNamespace == "" {
		return nil, errors.New("a backup namespace is required")
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	var results []RestoreResult
	for _, name := range opts.Migrations {
		if _, ok := migration.Get(name); !ok {
			return results, fmt.Errorf("unknown migration %q", name)
		}
		res, err := restoreMigration(ctx, client, opts, name)
		results = append(results, res)
		if err != nil {
			return results, fmt.Errorf("failed to restore the backups of %s: %w", name, err)
		}
	}
	return results, nil
}

// backupRef names a backup ConfigMap and when it was taken.
type backupRef struct {
	name  string
	taken time.Time
}

// listBackups returns the backup ConfigMaps of a migration, oldest first, without keeping their contents.
func listBackups(ctx context.Context, client dynamic.Interface, opts RestoreOptions, name string) ([]backupRef, error) {
	selector := labels.NewSelector()
	req, err := labels.NewRequirement(MigrationLabel, selection.Equals, []string{name})
	if err != nil {
		return nil, err
	}
	selector = selector.Add(*req)
	if len(opts.Namespaces) > 0 {
		req, err := labels.NewRequirement(BackupOfNamespaceLabel, selection.In, opts.Namespaces)
		if err != nil {
			return nil, err
		}
		selector = selector.Add(*req)
	}
	var refs []backupRef
	list := metav1.ListOptions{LabelSelector: selector.String(), Limit: 8}
	for {
		l, err := client.Resource(configMapGVR).Namespace(opts.BackupNamespace).List(ctx, list)
		if err != nil {
			return nil, fmt.Errorf("failed to list the backups in %s: %w", opts.BackupNamespace, err)
		}
		for i := range l.Items {
			cm := &l.Items[i]
			taken, err := time.Parse(time.RFC3339Nano, cm.GetAnnotations()[BackupTimeAnnotation])
			if err != nil { // written before issue #14
				taken = cm.GetCreationTimestamp().Time
			}
			refs = append(refs, backupRef{name: cm.GetName(), taken: taken})
		}
		if list.Continue = l.GetContinue(); list.Continue == "" {
			break
		}
	}
	slices.SortFunc(refs, func(a, b backupRef) int {
		if c := a.taken.Compare(b.taken); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return refs, nil
}

// restorer restores the backups of one migration.
type restorer struct {
	client dynamic.Interface
	opts   RestoreOptions

	mu  sync.Mutex
	res RestoreResult
	// seen are the objects whose (older) backup was applied already.
	seen map[types.UID]bool
}

func restoreMigration(ctx context.Context, client dynamic.Interface, opts RestoreOptions, name string) (RestoreResult, error) {
	rs := &restorer{client: client, opts: opts, res: RestoreResult{Migration: name}, seen: map[types.UID]bool{}}
	refs, err := listBackups(ctx, client, opts, name)
	if err != nil {
		return rs.res, err
	}
	for _, ref := range refs {
		if err := rs.restoreConfigMap(ctx, ref.name); err != nil {
			return rs.finish(), fmt.Errorf("backup %s/%s: %w", opts.BackupNamespace, ref.name, err)
		}
	}
	return rs.finish(), nil
}

func (rs *restorer) finish() RestoreResult {
	slices.Sort(rs.res.Objects)
	slices.Sort(rs.res.Notes)
	return rs.res
}

// restoreConfigMap applies the objects of one backup ConfigMap, Workers at a time, then drops the applied ones
// from it.
func (rs *restorer) restoreConfigMap(ctx context.Context, name string) error {
	cm, err := rs.client.Resource(configMapGVR).Namespace(rs.opts.BackupNamespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil // removed since the list
	}
	if err != nil {
		return err
	}
	entries, err := readBackup(cm)
	if err != nil {
		return err
	}
	applied := make([]bool, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rs.opts.Workers)
	for i, e := range entries {
		if len(rs.opts.Namespaces) > 0 && !slices.Contains(rs.opts.Namespaces, e.obj.GetNamespace()) {
			continue
		}
		rs.mu.Lock()
		rs.res.Backups++
		duplicate := rs.seen[e.obj.GetUID()]
		if duplicate {
			rs.res.Skipped++
			rs.res.Notes = append(rs.res.Notes, fmt.Sprintf("%s %s was backed up more than once (a repeated run): its oldest backup applies, this later one is dropped",
				e.obj.GetKind(), key(e.obj)))
		}
		rs.seen[e.obj.GetUID()] = true
		rs.mu.Unlock()
		if duplicate {
			applied[i] = true
			continue
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil
			}
			done, err := rs.restoreObject(gctx, cm, e)
			applied[i] = done
			return err
		})
	}
	err = g.Wait()
	// Drop what was applied even when another object failed: a second restore goes on from there.
	if cerr := rs.consume(ctx, cm, entries, applied); err == nil {
		err = cerr
	}
	return err
}

// restoreObject puts one object back as its backup recorded it, or deletes it if the migration created it. It
// reports whether the object is now in the backed-up state (so the backup may go).
func (rs *restorer) restoreObject(ctx context.Context, cm *unstructured.Unstructured, e backupEntry) (bool, error) {
	saved := e.obj
	t, ok := targetOf(saved)
	if !ok {
		return false, fmt.Errorf("%s %s is not a kind Kubetink migrates", saved.GetAPIVersion(), saved.GetKind())
	}
	uid := saved.GetUID()
	rc := rs.client.Resource(t.GVR()).Namespace(saved.GetNamespace())
	var dryRun []string
	if rs.opts.DryRun {
		dryRun = []string{metav1.DryRunAll}
	}
	const (
		gone = iota
		deleted
		unchanged
		restored
		partly
	)
	outcome := gone
	// The first read comes from the apiserver's cache, which may lag: it is trusted only to write, where the
	// resourceVersion precondition catches a stale copy (a conflict, and the retry reads from etcd). Deciding
	// that there is nothing to do, or that the object is gone, takes a read from etcd.
	cached := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var opts metav1.GetOptions
		if cached {
			opts.ResourceVersion = "0"
		}
		cur, err := rc.Get(ctx, saved.GetName(), opts)
		if cached && (err != nil || cur.GetUID() != uid || e.action == actionCreated || sameObject(cur, saved)) {
			cached = false
			cur, err = rc.Get(ctx, saved.GetName(), metav1.GetOptions{})
		}
		cached = false
		if apierrors.IsNotFound(err) || (err == nil && cur.GetUID() != uid) {
			outcome = gone
			return nil
		}
		if err != nil {
			return err
		}
		if e.action == actionCreated {
			err := rc.Delete(ctx, saved.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, DryRun: dryRun})
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("failed to delete %s %s: %w", t.Kind, key(saved), err)
			}
			outcome = deleted
			return nil
		}
		want := saved.DeepCopy()
		want.SetResourceVersion(cur.GetResourceVersion())
		statusDiffers := !sameJSON(cur.Object["status"], want.Object["status"])
		restDiffers := !sameMain(cur, want)
		outcome = unchanged
		if restDiffers {
			got, err := rc.Update(ctx, want, metav1.UpdateOptions{DryRun: dryRun})
			if err != nil {
				return err
			}
			if !rs.opts.DryRun {
				want.SetResourceVersion(got.GetResourceVersion())
			}
			statusDiffers = !sameJSON(got.Object["status"], want.Object["status"])
			outcome = restored
		}
		if statusDiffers {
			got, err := rc.UpdateStatus(ctx, want, metav1.UpdateOptions{DryRun: dryRun})
			if err != nil {
				return err
			}
			outcome = restored
			if !sameJSON(got.Object["status"], want.Object["status"]) {
				outcome = partly
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("failed to restore %s %s: %w", t.Kind, key(saved), err)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	switch outcome {
	case gone:
		rs.res.Skipped++
		rs.res.Notes = append(rs.res.Notes, fmt.Sprintf("%s %s no longer exists (or was recreated); Kubetink does not recreate objects", t.Kind, key(saved)))
		return false, nil
	case deleted:
		rs.res.Deleted++
		rs.res.Objects = append(rs.res.Objects, fmt.Sprintf("deleted %s %s", t.Kind, key(saved)))
	case unchanged:
		rs.res.Skipped++
	case restored:
		rs.res.Restored++
		rs.res.Objects = append(rs.res.Objects, fmt.Sprintf("restored %s %s", t.Kind, key(saved)))
	case partly:
		rs.res.Restored++
		rs.res.Objects = append(rs.res.Objects, fmt.Sprintf("restored %s %s in part", t.Kind, key(saved)))
		rs.res.Notes = append(rs.res.Notes, fmt.Sprintf("the installed CRD of %s does not declare every status field of the backup of %s; the full original stays in ConfigMap %s/%s",
			t.Kind, key(saved), cm.GetNamespace(), cm.GetName()))
		return false, nil
	}
	return true, nil
}

// consume removes the applied objects from a backup ConfigMap: the live objects now hold everything those
// backups held. It deletes the ConfigMap once none is left. Removing them keeps a second restore from undoing the
// restore of a later migration, and lets a later run of the migration take fresh backups.
func (rs *restorer) consume(ctx context.Context, cm *unstructured.Unstructured, entries []backupEntry, applied []bool) error {
	if rs.opts.DryRun || !slices.Contains(applied, true) {
		return nil
	}
	client := rs.client.Resource(configMapGVR).Namespace(cm.GetNamespace())
	if !slices.Contains(applied, false) {
		uid := cm.GetUID()
		err := client.Delete(ctx, cm.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete the applied backup: %w", err)
		}
		return nil
	}
	// Rewrite the ConfigMap with the objects still to restore. A ConfigMap written before issue #14 holds one
	// object, so it is either applied (deleted above) or left as it is.
	var data bytes.Buffer
	zw := gzip.NewWriter(&data)
	var index strings.Builder
	kept := 0
	for i, e := range entries {
		if applied[i] {
			continue
		}
		line, err := json.Marshal(e.obj.Object)
		if err != nil {
			return err
		}
		if _, err := zw.Write(append(line, '\n')); err != nil {
			return err
		}
		fmt.Fprintf(&index, "%s %s\n", e.obj.GetName(), e.obj.GetUID())
		kept++
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := unstructured.SetNestedField(cm.Object, base64.StdEncoding.EncodeToString(data.Bytes()), "binaryData", BackupObjectsKey); err != nil {
		return err
	}
	if err := unstructured.SetNestedField(cm.Object, index.String(), "data", BackupIndexKey); err != nil {
		return err
	}
	annotations := cm.GetAnnotations()
	annotations[BackupCountAnnotation] = strconv.Itoa(kept)
	cm.SetAnnotations(annotations)
	if _, err := client.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("failed to remove the applied objects from the backup: %w", err)
	}
	return nil
}

// sameObject reports whether cur holds what saved holds, status and the rest.
func sameObject(cur, saved *unstructured.Unstructured) bool {
	return sameJSON(cur.Object["status"], saved.Object["status"]) && sameMain(cur, saved)
}

func targetOf(obj *unstructured.Unstructured) (migration.Target, bool) {
	for _, t := range migration.Targets() {
		if t.APIVersion() == obj.GetAPIVersion() && t.Kind == obj.GetKind() {
			return t, true
		}
	}
	return migration.Target{}, false
}
