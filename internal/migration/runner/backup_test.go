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
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
)

// portsV0230 is the post-upgrade phase of an upgrade that crosses only v0.23.0: URLs on Tinkerbell's address move
// to port 7080, in Templates and Hardware.
var portsV0230 = Options{From: "v0.22.1", To: "v0.25.0", PublicIP: testPublicIP, Phases: post}

// fleetHardware is a Hardware whose cloud-init reads metadata from Tootles on Tinkerbell's address.
func fleetHardware(ns string, i int) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": migration.Hardware.APIVersion(), "kind": migration.Hardware.Kind,
		"metadata": map[string]any{"name": fmt.Sprintf("machine-%04d", i), "namespace": ns},
		"spec": map[string]any{
			"interfaces": []any{map[string]any{"dhcp": map[string]any{"mac": fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff)}}},
			"userData":   fmt.Sprintf("#cloud-config\ndatasource:\n  Ec2:\n    metadata_urls: [\"http://%s:7172\"]\nhostname: machine-%04d\n", testPublicIP, i),
		},
	}}
}

func fleetTemplate(ns string, i int) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": migration.Templates.APIVersion(), "kind": migration.Templates.Kind,
		"metadata": map[string]any{"name": fmt.Sprintf("ubuntu-%04d", i), "namespace": ns},
		"spec":     map[string]any{"data": "version: \"0.1\"\nname: ubuntu\ntasks: []\n# curl -s http://" + testPublicIP + ":7172/2009-04-04/meta-data/instance-id\n"},
	}}
}

// createAll creates objs, a few at a time, and returns them as created, by kind and key.
func (c *cluster) createAll(t *testing.T, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	var (
		mu    sync.Mutex
		out   = map[string]*unstructured.Unstructured{}
		wg    sync.WaitGroup
		first error
	)
	work := make(chan *unstructured.Unstructured)
	for range 8 {
		wg.Go(func() {
			for obj := range work {
				got, err := c.dyn.Resource(targetFor(t, obj.GetKind()).GVR()).Namespace(obj.GetNamespace()).Create(context.Background(), obj, metav1.CreateOptions{})
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					out[got.GetKind()+" "+key(got)] = got
				}
				mu.Unlock()
			}
		})
	}
	for _, obj := range objs {
		work <- obj
	}
	close(work)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
	return out
}

// backups returns the backup ConfigMaps in the backup namespace.
func (c *cluster) backups(t *testing.T) []unstructured.Unstructured {
	t.Helper()
	l, err := c.dyn.Resource(configMapGVR).Namespace(backupNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: MigrationLabel})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// TestBackupsArePackedAndRestorable migrates several hundred objects: their backups fill a few ConfigMaps, every
// object can be read back from them, and a restore brings every object back as it was, even after it was altered
// again, except those deleted or recreated since, whose backups stay.
func TestBackupsArePackedAndRestorable(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "v0.25.0")
	objs := make([]*unstructured.Unstructured, 0, 740)
	for i := range 700 { // two pages of one namespace
		objs = append(objs, fleetHardware("tink", i))
	}
	for i := range 20 {
		objs = append(objs, fleetHardware("tinkerbell", i), fleetTemplate("tinkerbell", i))
	}
	original := c.createAll(t, objs)

	t.Run("a migration backs up a page of one namespace into one ConfigMap", func(t *testing.T) {
		g := NewWithT(t)
		res := c.migrate(t, portsV0230)
		g.Expect(counts(res[migration.TinkerbellPortsV0230])).To(Equal([3]int{740, 740, 0}))
		g.Expect(res[migration.TinkerbellPortsV0230].Objects).To(HaveLen(740))

		backups := c.backups(t)
		// Templates: one page, one namespace. Hardware: 500 of tink, then 200 of tink and 20 of tinkerbell.
		g.Expect(backups).To(HaveLen(4))
		backedUp := map[string]*unstructured.Unstructured{}
		for i := range backups {
			cm := &backups[i]
			g.Expect(cm.GetLabels()).To(HaveKeyWithValue(MigrationLabel, migration.TinkerbellPortsV0230))
			g.Expect(cm.GetAnnotations()).To(HaveKeyWithValue(BackupActionAnnotation, actionUpdated))
			entries, err := readBackup(cm)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cm.GetAnnotations()).To(HaveKeyWithValue(BackupCountAnnotation, strconv.Itoa(len(entries))))
			index, _, _ := unstructured.NestedString(cm.Object, "data", BackupIndexKey)
			g.Expect(strings.Split(strings.TrimSpace(index), "\n")).To(HaveLen(len(entries)))
			data, err := backupObjects(cm)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cm.GetName()).To(Equal(BackupName(migration.TinkerbellPortsV0230, data)))
			for _, e := range entries {
				g.Expect(cm.GetLabels()).To(HaveKeyWithValue(BackupOfLabel, e.obj.GetKind()))
				g.Expect(cm.GetLabels()).To(HaveKeyWithValue(BackupOfNamespaceLabel, e.obj.GetNamespace()))
				g.Expect(index).To(ContainSubstring(e.obj.GetName() + " " + string(e.obj.GetUID()) + "\n"))
				backedUp[e.obj.GetKind()+" "+key(e.obj)] = e.obj
			}
		}
		g.Expect(backedUp).To(HaveLen(len(original)))
		for k, obj := range original {
			g.Expect(userView(backedUp[k])).To(Equal(userView(obj)), "the backup of %s", k)
		}
		before := c.snapshot(t)
		expectNoChanges(g, c.migrate(t, portsV0230))
		g.Expect(c.snapshot(t)).To(Equal(before), "a second run writes nothing, backups included")
	})

	// Alter some objects after the migration, delete one and recreate another under its name.
	ctx := context.Background()
	hw := c.dyn.Resource(migration.Hardware.GVR())
	for i := 0; i < 700; i += 70 {
		obj := c.get(t, migration.Hardware, "tink", fmt.Sprintf("machine-%04d", i))
		NewWithT(t).Expect(unstructured.SetNestedField(obj.Object, "#cloud-config\n# corrupted\n", "spec", "userData")).To(Succeed())
		_, err := hw.Namespace("tink").Update(ctx, obj, metav1.UpdateOptions{})
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
	}
	NewWithT(t).Expect(hw.Namespace("tink").Delete(ctx, "machine-0001", metav1.DeleteOptions{})).To(Succeed())
	NewWithT(t).Expect(hw.Namespace("tinkerbell").Delete(ctx, "machine-0002", metav1.DeleteOptions{})).To(Succeed())
	recreated, err := hw.Namespace("tinkerbell").Create(ctx, fleetHardware("tinkerbell", 2), metav1.CreateOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())

	t.Run("restore", func(t *testing.T) {
		g := NewWithT(t)
		res := c.restore(t, migration.TinkerbellPortsV0230)[migration.TinkerbellPortsV0230]
		g.Expect(res.Backups).To(Equal(740))
		g.Expect(res.Restored).To(Equal(738))
		g.Expect(res.Skipped).To(Equal(2))
		g.Expect(res.Notes).To(ConsistOf(
			"Hardware tink/machine-0001 no longer exists (or was recreated); Kubetink does not recreate objects",
			"Hardware tinkerbell/machine-0002 no longer exists (or was recreated); Kubetink does not recreate objects",
		))
		for k, obj := range original {
			if k == "Hardware tink/machine-0001" || k == "Hardware tinkerbell/machine-0002" {
				continue
			}
			name := obj.GetName()
			g.Expect(userView(c.get(t, targetFor(t, obj.GetKind()), obj.GetNamespace(), name))).To(Equal(userView(obj)), k)
		}
		g.Expect(c.get(t, migration.Hardware, "tinkerbell", "machine-0002").GetResourceVersion()).To(Equal(recreated.GetResourceVersion()),
			"an object recreated under the same name is not touched")

		// The two backups that did not apply stay, each in what is left of its ConfigMap.
		left := map[string]bool{}
		for _, cm := range c.backups(t) {
			entries, err := readBackup(&cm)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cm.GetAnnotations()).To(HaveKeyWithValue(BackupCountAnnotation, strconv.Itoa(len(entries))))
			for _, e := range entries {
				left[key(e.obj)] = true
			}
		}
		g.Expect(left).To(Equal(map[string]bool{"tink/machine-0001": true, "tinkerbell/machine-0002": true}))

		before := c.snapshot(t)
		again := c.restore(t, migration.TinkerbellPortsV0230)[migration.TinkerbellPortsV0230]
		g.Expect([]int{again.Backups, again.Restored, again.Skipped}).To(Equal([]int{2, 0, 2}))
		g.Expect(c.snapshot(t)).To(Equal(before))
	})

	t.Run("after a restore the migration backs up afresh", func(t *testing.T) {
		g := NewWithT(t)
		res := c.migrate(t, portsV0230)
		g.Expect(counts(res[migration.TinkerbellPortsV0230])).To(Equal([3]int{739, 739, 0}))
		restored := c.restore(t, migration.TinkerbellPortsV0230)[migration.TinkerbellPortsV0230]
		g.Expect(restored.Restored).To(Equal(739))
	})
}

// TestRepeatedRunAfterFailedWrites fails a run after it backed some objects up but before it wrote them (an
// admission policy refuses their updates), changes one of them, and runs again: the restore gives every object
// its state from before the first run.
func TestRepeatedRunAfterFailedWrites(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	c := startCluster(t, "v0.25.0")
	objs := make([]*unstructured.Unstructured, 0, 30)
	for i := range 30 {
		h := fleetHardware("tink", i)
		if i%10 == 3 {
			h.SetLabels(map[string]string{"test.kubetink.io/refuse-updates": "true"})
		}
		objs = append(objs, h)
	}
	original := c.createAll(t, objs)

	refuse := refuseUpdates(t, c)
	_, err := c.tryMigrate(portsV0230)
	g.Expect(err).To(MatchError(ContainSubstring("updates refused for the test")))
	g.Expect(c.backups(t)).To(HaveLen(1))
	refuse.lift()

	// A user changes one of the unmigrated objects between the runs.
	changed := c.get(t, migration.Hardware, "tink", "machine-0013")
	g.Expect(unstructured.SetNestedField(changed.Object, "#cloud-config\ndatasource:\n  Ec2:\n    metadata_urls: [\"http://"+testPublicIP+":7172\"]\n# edited\n",
		"spec", "userData")).To(Succeed())
	_, err = c.dyn.Resource(migration.Hardware.GVR()).Namespace("tink").Update(ctx, changed, metav1.UpdateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	res := c.migrate(t, portsV0230)
	g.Expect(res[migration.TinkerbellPortsV0230].Changed).To(BeNumerically(">=", 3), "at least the refused ones are left to do")
	g.Expect(c.backups(t)).To(HaveLen(2))

	restored := c.restore(t, migration.TinkerbellPortsV0230)[migration.TinkerbellPortsV0230]
	g.Expect(restored.Restored).To(Equal(30))
	g.Expect(restored.Notes).To(ContainElement(
		"Hardware tink/machine-0013 was backed up more than once (a repeated run): its oldest backup applies, this later one is dropped"))
	for k, obj := range original {
		g.Expect(userView(c.get(t, migration.Hardware, "tink", obj.GetName()))).To(Equal(userView(obj)), k)
	}
	g.Expect(c.backups(t)).To(BeEmpty())
}

// refusal is an admission policy refusing updates of labelled Hardware.
type refusal struct {
	t *testing.T
	c *cluster
}

func refuseUpdates(t *testing.T, c *cluster) refusal {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	fail := admissionregistrationv1.Fail
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-hardware-updates"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{migration.Hardware.Group},
						APIVersions: []string{migration.Hardware.Version}, Resources: []string{migration.Hardware.Resource}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression: `!has(object.metadata.labels) || !('test.kubetink.io/refuse-updates' in object.metadata.labels)`,
				Message:    "updates refused for the test",
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}
	g.Expect(c.env.Client.Create(ctx, policy)).To(Succeed())
	g.Expect(c.env.Client.Create(ctx, binding)).To(Succeed())
	r := refusal{t: t, c: c}
	// The apiserver learns of a policy from its informer, a moment after the create.
	waitUntil(t, func() bool { return !r.updateAllowed() })
	return r
}

// updateAllowed tries a labelled Hardware update as a dry run.
func (r refusal) updateAllowed() bool {
	r.t.Helper()
	obj := r.c.get(r.t, migration.Hardware, "tink", "machine-0003")
	_, err := r.c.dyn.Resource(migration.Hardware.GVR()).Namespace("tink").Update(context.Background(), obj,
		metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
	return err == nil
}

func (r refusal) lift() {
	r.t.Helper()
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "refuse-hardware-updates"}}
	NewWithT(r.t).Expect(r.c.env.Client.Delete(context.Background(), binding)).To(Succeed())
	waitUntil(r.t, r.updateAllowed)
}

// TestRestoreReadsBackupsOfEarlierReleases restores a backup as Kubetink wrote them before issue #14, one
// ConfigMap per object.
func TestRestoreReadsBackupsOfEarlierReleases(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	c := startCluster(t, "v0.25.0")
	tpl := c.createAll(t, []*unstructured.Unstructured{fleetTemplate("tink", 1)})["Template tink/ubuntu-0001"]

	saved := tpl.DeepCopy()
	unstructured.RemoveNestedField(saved.Object, "metadata", "managedFields")
	data, err := json.Marshal(saved.Object)
	g.Expect(err).NotTo(HaveOccurred())
	old := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kubetink-backup-tinkerbell-ports-v0.23.0-0123456789", Namespace: backupNamespace,
			Labels: map[string]string{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy, MigrationLabel: migration.TinkerbellPortsV0230,
				BackupOfLabel: "Template", BackupOfNamespaceLabel: "tink"},
			Annotations: map[string]string{BackupOfNameAnnotation: tpl.GetName(), BackupOfUIDAnnotation: string(tpl.GetUID()),
				BackupActionAnnotation: actionUpdated, BackupOfAPIVersionAnnotation: migration.Templates.APIVersion()},
		},
		Data: map[string]string{BackupDataKey: string(data)},
	}
	g.Expect(c.env.Client.Create(ctx, old)).To(Succeed())
	migrated := c.get(t, migration.Templates, "tink", tpl.GetName())
	g.Expect(unstructured.SetNestedField(migrated.Object, "tasks: []\n", "spec", "data")).To(Succeed())
	_, err = c.dyn.Resource(migration.Templates.GVR()).Namespace("tink").Update(ctx, migrated, metav1.UpdateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	res := c.restore(t, migration.TinkerbellPortsV0230)[migration.TinkerbellPortsV0230]
	g.Expect([]int{res.Backups, res.Restored}).To(Equal([]int{1, 1}))
	g.Expect(userView(c.get(t, migration.Templates, "tink", tpl.GetName()))).To(Equal(userView(tpl)))
	g.Expect(c.backups(t)).To(BeEmpty())
}

// TestBackupSetBounds fills backup sets with objects that do not compress: a set is full before its compressed
// objects pass maxBackupBytes by more than one object, and every object reads back.
func TestBackupSetBounds(t *testing.T) {
	g := NewWithT(t)
	r := &Runner{opts: Options{From: "v0.22.1", To: "v0.25.0", BackupNamespace: backupNamespace}}
	noise := make([]byte, 60<<10)
	var sets []*backupSet
	want := 40
	for i := range want {
		if _, err := rand.Read(noise); err != nil {
			t.Fatal(err)
		}
		obj := fleetHardware("tink", i)
		obj.SetUID(types.UID("uid-" + strconv.Itoa(i)))
		g.Expect(unstructured.SetNestedField(obj.Object, base64.StdEncoding.EncodeToString(noise), "spec", "userData")).To(Succeed())
		var err error
		sets, err = addToSets(sets, "x", migration.Hardware, actionUpdated, obj)
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(len(sets)).To(BeNumerically(">=", 4), "80 KiB of base64 noise compresses to about 60 KiB: 40 of them fill several sets")
	got := 0
	for _, b := range sets {
		u, err := b.configMap(r, time.Now())
		g.Expect(err).NotTo(HaveOccurred())
		data, err := backupObjects(u)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(len(data)).To(BeNumerically("<", maxBackupBytes+100<<10))
		cm := &corev1.ConfigMap{}
		g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, cm)).To(Succeed())
		size := len(cm.BinaryData[BackupObjectsKey]) + len(cm.Data[BackupIndexKey])
		g.Expect(size).To(BeNumerically("<", 1<<20), "under the apiserver's limit for a ConfigMap")
		entries, err := readBackup(u)
		g.Expect(err).NotTo(HaveOccurred())
		got += len(entries)
	}
	g.Expect(got).To(Equal(want))
}
