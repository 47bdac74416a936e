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
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
)

// Backups. Before a migration writes objects, it stores them as they were in backup ConfigMaps in the backup
// namespace (for an object it creates: the object as created). A ConfigMap holds many objects of one migration,
// kind and namespace, those of one page of the scan: under BackupObjectsKey their JSON, one object per line,
// gzip-compressed, at most maxBackupBytes of it; under BackupIndexKey one "<name> <uid>" line per object. Its name,
// "kubetink-backup-<migration>-<hash>", is a hash of what it holds, so a write repeated after a lost reply finds
// its own backup. Objects are written only once their backup is stored.
//
// A run that failed between backing up and writing backs the same objects up again when it is run again; the
// restore then applies the oldest backup of each object (BackupTimeAnnotation), the state before the first
// attempt.
//
// Kubetink before issue #14 wrote one ConfigMap per object (BackupDataKey, BackupOfNameAnnotation,
// BackupOfUIDAnnotation); Restore still reads those.
const (
	// MigrationLabel is the name of the migration that made the backup.
	MigrationLabel = "kubetink.io/migration"
	// BackupOfLabel is the kind of the objects backed up.
	BackupOfLabel = "kubetink.io/backup-of"
	// BackupOfNamespaceLabel is the namespace of the objects backed up.
	BackupOfNamespaceLabel = "kubetink.io/backup-of-namespace"
	// BackupOfAPIVersionAnnotation is the apiVersion of the objects backed up.
	BackupOfAPIVersionAnnotation = "kubetink.io/backup-of-apiversion"
	// BackupActionAnnotation says what the migration did to the objects: "updated" or "created".
	BackupActionAnnotation = "kubetink.io/backup-action"
	// BackupCountAnnotation is the number of objects in the ConfigMap.
	BackupCountAnnotation = "kubetink.io/backup-count"
	// BackupTimeAnnotation is when the backup was taken (RFC 3339, nanoseconds).
	BackupTimeAnnotation = "kubetink.io/backup-time"
	// BackupObjectsKey is the binaryData key of the objects: gzip-compressed JSON, one object per line.
	BackupObjectsKey = "objects.jsonl.gz"
	// BackupIndexKey is the data key listing the objects, one "<name> <uid>" line each.
	BackupIndexKey = "index"

	// BackupOfNameAnnotation is the name of the one object of a backup written before issue #14.
	BackupOfNameAnnotation = "kubetink.io/backup-of-name"
	// BackupOfUIDAnnotation is the UID of the one object of a backup written before issue #14.
	BackupOfUIDAnnotation = "kubetink.io/backup-of-uid"
	// BackupDataKey is the data key of the one object of a backup written before issue #14.
	BackupDataKey = "object.json"

	actionUpdated = "updated"
	actionCreated = "created"
)

// Bounds of one backup ConfigMap. The apiserver refuses a ConfigMap of more than 1 MiB of data; the compressed
// objects stop at maxBackupBytes (plus at most one object), which leaves room for the index and the metadata.
const (
	maxBackupBytes   = 512 << 10
	maxBackupObjects = 1000
	// flushEvery is how much JSON the compressor may hold before its output is measured.
	flushEvery = 64 << 10
)

var configMapGVR = corev1.SchemeGroupVersion.WithResource("configmaps")

// BackupName returns the name of the backup ConfigMap of migration name whose compressed objects are data.
func BackupName(name string, data []byte) string {
	sum := sha256.Sum256(data)
	return "kubetink-backup-" + name + "-" + hex.EncodeToString(sum[:5])
}

// backupSet collects the backups of objects of one kind and namespace into one ConfigMap.
type backupSet struct {
	migration string
	target    migration.Target
	namespace string
	action    string

	data  bytes.Buffer
	zw    *gzip.Writer
	index strings.Builder
	count int
	// unflushed is the JSON written since the compressor's output was last measured.
	unflushed int
}

func newBackupSet(name string, t migration.Target, namespace, action string) *backupSet {
	b := &backupSet{migration: name, target: t, namespace: namespace, action: action}
	b.zw = gzip.NewWriter(&b.data)
	return b
}

// add appends obj as it is now (without managedFields, with the apiVersion and kind of the target).
func (b *backupSet) add(obj *unstructured.Unstructured) error {
	snapshot := maps.Clone(obj.Object)
	if meta, ok := obj.Object["metadata"].(map[string]any); ok {
		meta = maps.Clone(meta)
		delete(meta, "managedFields")
		snapshot["metadata"] = meta
	}
	snapshot["apiVersion"], snapshot["kind"] = b.target.APIVersion(), b.target.Kind
	line, err := json.Marshal(snapshot)
	if err != nil {
		return fmt.Errorf("failed to encode the backup of %s %s: %w", b.target.Kind, key(obj), err)
	}
	if _, err := b.zw.Write(append(line, '\n')); err != nil {
		return err
	}
	b.unflushed += len(line) + 1
	if b.unflushed >= flushEvery {
		if err := b.zw.Flush(); err != nil {
			return err
		}
		b.unflushed = 0
	}
	fmt.Fprintf(&b.index, "%s %s\n", obj.GetName(), obj.GetUID())
	b.count++
	return nil
}

// addToSets adds obj to the last of sets, or to a new set when that one holds another namespace or is full, and
// returns the sets. Callers pass objects a namespace at a time, so a namespace's backups fill few ConfigMaps.
func addToSets(sets []*backupSet, name string, t migration.Target, action string, obj *unstructured.Unstructured) ([]*backupSet, error) {
	if n := len(sets); n == 0 || sets[n-1].namespace != obj.GetNamespace() || sets[n-1].full() {
		sets = append(sets, newBackupSet(name, t, obj.GetNamespace(), action))
	}
	return sets, sets[len(sets)-1].add(obj)
}

// full reports whether the set may take no further object. The JSON not yet flushed counts at its own size: it
// cannot compress to more.
func (b *backupSet) full() bool {
	return b.count >= maxBackupObjects || b.data.Len()+b.unflushed >= maxBackupBytes
}

// configMap closes the set and returns its ConfigMap.
func (b *backupSet) configMap(r *Runner, taken time.Time) (*unstructured.Unstructured, error) {
	if err := b.zw.Close(); err != nil {
		return nil, err
	}
	labels := map[string]string{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy, MigrationLabel: b.migration, BackupOfLabel: b.target.Kind}
	if len(validation.IsValidLabelValue(b.namespace)) == 0 {
		labels[BackupOfNamespaceLabel] = b.namespace
	}
	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      BackupName(b.migration, b.data.Bytes()),
			Namespace: r.opts.BackupNamespace,
			Labels:    labels,
			Annotations: map[string]string{
				BackupActionAnnotation:       b.action,
				BackupOfAPIVersionAnnotation: b.target.APIVersion(),
				BackupCountAnnotation:        strconv.Itoa(b.count),
				BackupTimeAnnotation:         taken.UTC().Format(time.RFC3339Nano),
				migration.FromAnnotation:     r.opts.From,
				migration.ToAnnotation:       r.opts.To,
			},
		},
		Data:       map[string]string{BackupIndexKey: b.index.String()},
		BinaryData: map[string][]byte{BackupObjectsKey: b.data.Bytes()},
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cm)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: u}, nil
}

// store creates the ConfigMap of the set. A ConfigMap of that name holding the same objects is the same backup,
// stored by an earlier attempt: it is kept.
func (r *Runner) store(ctx context.Context, b *backupSet) error {
	u, err := b.configMap(r, time.Now())
	if err != nil {
		return err
	}
	client := r.client.Resource(configMapGVR).Namespace(r.opts.BackupNamespace)
	_, err = client.Create(ctx, u, r.createOptions())
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("failed to back up %d %s objects of %s into ConfigMap %s/%s: %w",
				b.count, b.target.Kind, b.namespace, r.opts.BackupNamespace, u.GetName(), err)
		}
		return nil
	}
	existing, err := client.Get(ctx, u.GetName(), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("failed to read the existing backup %s/%s: %w", r.opts.BackupNamespace, u.GetName(), err)
	}
	if got, _ := backupObjects(existing); !bytes.Equal(got, b.data.Bytes()) {
		return fmt.Errorf("ConfigMap %s/%s exists but is not this backup of %d %s objects of %s",
			r.opts.BackupNamespace, u.GetName(), b.count, b.target.Kind, b.namespace)
	}
	return nil
}

// backupObjects returns the compressed objects of a backup ConfigMap read through the dynamic client.
func backupObjects(cm *unstructured.Unstructured) ([]byte, error) {
	s, found, err := unstructured.NestedString(cm.Object, "binaryData", BackupObjectsKey)
	if err != nil || !found {
		return nil, fmt.Errorf("no %s: %w", BackupObjectsKey, err)
	}
	return base64.StdEncoding.DecodeString(s)
}

// backupEntry is one object of a backup.
type backupEntry struct {
	obj    *unstructured.Unstructured
	action string
}

// readBackup decodes the objects of a backup ConfigMap: a packed one or one written before issue #14.
func readBackup(cm *unstructured.Unstructured) ([]backupEntry, error) {
	action := cm.GetAnnotations()[BackupActionAnnotation]
	if legacy, found, _ := unstructured.NestedString(cm.Object, "data", BackupDataKey); found {
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON([]byte(legacy)); err != nil {
			return nil, fmt.Errorf("failed to decode %s: %w", BackupDataKey, err)
		}
		// A restore touches only the object of this UID.
		obj.SetUID(types.UID(cm.GetAnnotations()[BackupOfUIDAnnotation]))
		return []backupEntry{{obj: obj, action: action}}, nil
	}
	data, err := backupObjects(cm)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("failed to decompress %s: %w", BackupObjectsKey, err)
	}
	var out []backupEntry
	lines := bufio.NewReader(zr)
	for {
		line, err := lines.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(line); err != nil {
				return nil, fmt.Errorf("failed to decode object %d of %s: %w", len(out)+1, BackupObjectsKey, err)
			}
			out = append(out, backupEntry{obj: obj, action: action})
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("failed to decompress %s: %w", BackupObjectsKey, err)
		}
	}
}
