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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kubetink/kubetink/internal/migration"
)

// RestoreOptions select the backups Restore applies.
type RestoreOptions struct {
	// Migrations are restored in this order. When several migrations changed the same object, list the later
	// ones first so that the object ends in its original state.
	Migrations []string
	// BackupNamespace holds the backup ConfigMaps.
	BackupNamespace string
	// Namespace limits the restore to objects of one namespace; empty means all.
	Namespace string
	// DryRun sends every write with dryRun=All.
	DryRun bool
}

// RestoreResult is what restoring one migration's backups did.
type RestoreResult struct {
	// Migration is the migration whose backups were applied.
	Migration string
	// Backups counts the backups found, Restored the objects written back, Deleted the objects the migration
	// had created and the restore removed, and Skipped the backups that needed nothing or did not apply.
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
// one. A backup is deleted once its object is back in the backed-up state, so restoring twice changes nothing the
// second time. A status backed up under an older CRD may hold fields the installed CRD no longer declares: such an
// object is restored in part, its backup is kept, and the notes say so.
func Restore(ctx context.Context, client dynamic.Interface, opts RestoreOptions) ([]RestoreResult, error) {
	if opts.BackupNamespace == "" {
		return nil, errors.New("a backup namespace is required")
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

func restoreMigration(ctx context.Context, client dynamic.Interface, opts RestoreOptions, name string) (RestoreResult, error) {
	res := RestoreResult{Migration: name}
	selector := labels.Set{MigrationLabel: name}
	if opts.Namespace != "" {
		selector[BackupOfNamespaceLabel] = opts.Namespace
	}
	list, err := client.Resource(configMapGVR).Namespace(opts.BackupNamespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return res, fmt.Errorf("failed to list the backups in %s: %w", opts.BackupNamespace, err)
	}
	items := list.Items
	slices.SortFunc(items, func(a, b unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	for i := range items {
		res.Backups++
		if err := restoreOne(ctx, client, opts, &items[i], &res); err != nil {
			return res, fmt.Errorf("backup %s/%s: %w", opts.BackupNamespace, items[i].GetName(), err)
		}
	}
	return res, nil
}

func restoreOne(ctx context.Context, client dynamic.Interface, opts RestoreOptions, cm *unstructured.Unstructured, res *RestoreResult) error {
	data, _, _ := unstructured.NestedString(cm.Object, "data", BackupDataKey)
	saved := &unstructured.Unstructured{}
	if err := json.Unmarshal([]byte(data), &saved.Object); err != nil {
		return fmt.Errorf("failed to decode %s: %w", BackupDataKey, err)
	}
	t, ok := targetOf(saved)
	if !ok {
		return fmt.Errorf("%s %s is not a kind Kubetink migrates", saved.GetAPIVersion(), saved.GetKind())
	}
	uid := types.UID(cm.GetAnnotations()[BackupOfUIDAnnotation])
	rc := client.Resource(t.GVR()).Namespace(saved.GetNamespace())
	cur, err := rc.Get(ctx, saved.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && cur.GetUID() != uid) {
		res.Skipped++
		res.Notes = append(res.Notes, fmt.Sprintf("%s %s no longer exists (or was recreated); Kubetink does not recreate objects", t.Kind, key(saved)))
		return nil
	}
	if err != nil {
		return err
	}
	var dryRun []string
	if opts.DryRun {
		dryRun = []string{metav1.DryRunAll}
	}

	if cm.GetAnnotations()[BackupActionAnnotation] == actionCreated {
		err := rc.Delete(ctx, saved.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, DryRun: dryRun})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete %s %s: %w", t.Kind, key(saved), err)
		}
		res.Deleted++
		res.Objects = append(res.Objects, fmt.Sprintf("deleted %s %s", t.Kind, key(saved)))
		return consume(ctx, client, opts, cm)
	}

	restored := saved.DeepCopy()
	restored.SetResourceVersion(cur.GetResourceVersion())
	statusDiffers := !sameJSON(cur.Object["status"], restored.Object["status"])
	restDiffers := !sameJSON(withoutStatus(cur), withoutStatus(restored))
	if !statusDiffers && !restDiffers {
		res.Skipped++
		return consume(ctx, client, opts, cm)
	}
	if restDiffers {
		got, err := rc.Update(ctx, restored, metav1.UpdateOptions{DryRun: dryRun})
		if err != nil {
			return fmt.Errorf("failed to restore %s %s: %w", t.Kind, key(saved), err)
		}
		if !opts.DryRun {
			restored.SetResourceVersion(got.GetResourceVersion())
		}
		statusDiffers = !sameJSON(got.Object["status"], restored.Object["status"])
	}
	if statusDiffers {
		got, err := rc.UpdateStatus(ctx, restored, metav1.UpdateOptions{DryRun: dryRun})
		if err != nil {
			return fmt.Errorf("failed to restore the status of %s %s: %w", t.Kind, key(saved), err)
		}
		if !sameJSON(got.Object["status"], restored.Object["status"]) {
			res.Restored++
			res.Objects = append(res.Objects, fmt.Sprintf("restored %s %s in part", t.Kind, key(saved)))
			res.Notes = append(res.Notes, fmt.Sprintf("the installed CRD of %s does not declare every status field of the backup of %s; the full original stays in ConfigMap %s/%s",
				t.Kind, key(saved), cm.GetNamespace(), cm.GetName()))
			return nil
		}
	}
	res.Restored++
	res.Objects = append(res.Objects, fmt.Sprintf("restored %s %s", t.Kind, key(saved)))
	return consume(ctx, client, opts, cm)
}

// consume deletes a backup whose object is back in the backed-up state (or, for a created object, gone): the
// live object now holds everything the backup held. Removing it keeps a second restore from undoing the restore
// of a later migration, and lets a later run of the migration take a fresh backup.
func consume(ctx context.Context, client dynamic.Interface, opts RestoreOptions, cm *unstructured.Unstructured) error {
	if opts.DryRun {
		return nil
	}
	uid := cm.GetUID()
	err := client.Resource(configMapGVR).Namespace(cm.GetNamespace()).Delete(ctx, cm.GetName(),
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete the applied backup: %w", err)
	}
	return nil
}

func targetOf(obj *unstructured.Unstructured) (migration.Target, bool) {
	for _, t := range migration.Targets() {
		if t.APIVersion() == obj.GetAPIVersion() && t.Kind == obj.GetKind() {
			return t, true
		}
	}
	return migration.Target{}, false
}
