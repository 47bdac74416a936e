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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubetink/kubetink/internal/migration"
)

// Labels, annotations and the data key of backup ConfigMaps. There is one ConfigMap per migration and object,
// named "kubetink-backup-<migration>-<hash of the object's UID>", holding the object as it was before that
// migration changed it (or, for an object the migration created, the object as created).
const (
	// MigrationLabel is the name of the migration that made the backup.
	MigrationLabel = "kubetink.io/migration"
	// BackupOfLabel is the kind of the object backed up.
	BackupOfLabel = "kubetink.io/backup-of"
	// BackupOfNamespaceLabel is the namespace of the object backed up.
	BackupOfNamespaceLabel = "kubetink.io/backup-of-namespace"
	// BackupOfNameAnnotation is the name of the object backed up (names may be too long for a label).
	BackupOfNameAnnotation = "kubetink.io/backup-of-name"
	// BackupOfUIDAnnotation is the UID of the object backed up; a restore only touches that very object.
	BackupOfUIDAnnotation = "kubetink.io/backup-of-uid"
	// BackupOfAPIVersionAnnotation is the apiVersion of the object backed up.
	BackupOfAPIVersionAnnotation = "kubetink.io/backup-of-apiversion"
	// BackupActionAnnotation says what the migration did: "updated" or "created".
	BackupActionAnnotation = "kubetink.io/backup-action"
	// BackupDataKey holds the object's JSON.
	BackupDataKey = "object.json"

	managedByLabel = "app.kubernetes.io/managed-by"
	actionUpdated  = "updated"
	actionCreated  = "created"
)

var configMapGVR = corev1.SchemeGroupVersion.WithResource("configmaps")

// BackupName returns the name of the backup ConfigMap of obj for migration name.
func BackupName(name string, obj *unstructured.Unstructured) string {
	id := string(obj.GetUID())
	if id == "" {
		id = obj.GetAPIVersion() + "/" + obj.GetKind() + "/" + obj.GetNamespace() + "/" + obj.GetName()
	}
	sum := sha256.Sum256([]byte(id))
	return "kubetink-backup-" + name + "-" + hex.EncodeToString(sum[:5])
}

// backup stores obj in a ConfigMap before migration name changes it. An existing backup of the same object is
// kept: it holds the older state, taken before the first attempt of this migration, which is the original.
func (r *Runner) backup(ctx context.Context, name string, t migration.Target, obj *unstructured.Unstructured, action string) error {
	snapshot := obj.DeepCopy()
	unstructured.RemoveNestedField(snapshot.Object, "metadata", "managedFields")
	snapshot.SetAPIVersion(t.APIVersion())
	snapshot.SetKind(t.Kind)
	data, err := json.Marshal(snapshot.Object)
	if err != nil {
		return fmt.Errorf("failed to encode the backup of %s %s: %w", t.Kind, key(obj), err)
	}
	labels := map[string]string{managedByLabel: "kubetink", MigrationLabel: name, BackupOfLabel: t.Kind}
	if len(validation.IsValidLabelValue(obj.GetNamespace())) == 0 {
		labels[BackupOfNamespaceLabel] = obj.GetNamespace()
	}
	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      BackupName(name, obj),
			Namespace: r.opts.BackupNamespace,
			Labels:    labels,
			Annotations: map[string]string{
				BackupOfNameAnnotation:       obj.GetName(),
				BackupOfUIDAnnotation:        string(obj.GetUID()),
				BackupActionAnnotation:       action,
				migration.FromAnnotation:     r.opts.From,
				migration.ToAnnotation:       r.opts.To,
				BackupOfAPIVersionAnnotation: t.APIVersion(),
			},
		},
		Data: map[string]string{BackupDataKey: string(data)},
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cm)
	if err != nil {
		return err
	}
	client := r.client.Resource(configMapGVR).Namespace(r.opts.BackupNamespace)
	_, err = client.Create(ctx, &unstructured.Unstructured{Object: u}, r.createOptions())
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("failed to back up %s %s into ConfigMap %s/%s: %w", t.Kind, key(obj), r.opts.BackupNamespace, cm.Name, err)
		}
		return nil
	}
	existing, err := client.Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("failed to read the existing backup %s/%s: %w", r.opts.BackupNamespace, cm.Name, err)
	}
	if existing.GetAnnotations()[BackupOfUIDAnnotation] != string(obj.GetUID()) {
		return fmt.Errorf("ConfigMap %s/%s exists but is not the backup of %s %s", r.opts.BackupNamespace, cm.Name, t.Kind, key(obj))
	}
	return nil
}
