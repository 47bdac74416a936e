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
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubetink/kubetink/internal/migration"
)

// TestUnifiedV0190ToV0250 upgrades objects written by v0.19.0 to v0.25.0: the templateRending rename (v0.20), the
// iPXE paths (v0.22.0) and the single HTTP port (v0.23).
func TestUnifiedV0190ToV0250(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "v0.19.0")
	c.apply(t, "v0.19.0")
	opts := Options{From: "v0.19.0", To: "v0.25.0", PublicIP: testPublicIP, Hosts: []string{"tink.example.com"}}
	original := map[string]*unstructured.Unstructured{
		"Template": c.get(t, migration.Templates, "tinkerbell", "ubuntu"),
		"Hardware": c.get(t, migration.Hardware, "tinkerbell", "machine1"),
		"Workflow": c.get(t, migration.Workflows, "tinkerbell", "wf-done"),
	}

	t.Run("PostUpgrade refuses to write status fields the installed CRD would prune", func(t *testing.T) {
		g := NewWithT(t)
		withCapture := c.migrate(t, Options{From: opts.From, To: opts.To, Phases: pre, DryRun: true})
		g.Expect(counts(withCapture[migration.TemplateRenderingCapture])).To(Equal([3]int{1, 1, 0}))

		before := c.snapshot(t)
		_, err := c.tryMigrate(Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: post})
		g.Expect(err).To(MatchError(ContainSubstring("the installed CRD workflows.tinkerbell.org does not declare status.templateRendering")))
		g.Expect(c.snapshot(t)).To(Equal(before))
	})

	t.Run("PreUpgrade", func(t *testing.T) {
		g := NewWithT(t)
		res := c.migrate(t, Options{From: opts.From, To: opts.To, Phases: pre})
		g.Expect(res).To(HaveLen(1))
		g.Expect(counts(res[migration.TemplateRenderingCapture])).To(Equal([3]int{1, 1, 0}))
		expectNoChanges(g, c.migrate(t, Options{From: opts.From, To: opts.To, Phases: pre}))
	})

	t.Run("PostUpgrade under the v0.25.0 CRDs", func(t *testing.T) {
		g := NewWithT(t)
		c.upgradeCRDs(t, "v0.25.0")
		waitUntil(t, func() bool {
			return nestedString(c.get(t, migration.Workflows, "tinkerbell", "wf-done"), "status", "templateRending") == ""
		})

		dry := c.snapshot(t)
		c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Hosts: opts.Hosts, Phases: post, DryRun: true})
		g.Expect(c.snapshot(t)).To(Equal(dry))

		res := c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Hosts: opts.Hosts, Phases: post})
		g.Expect(res).To(HaveLen(3))
		g.Expect(counts(res[migration.TemplateRenderingConvert])).To(Equal([3]int{1, 1, 0}))
		// Templates, Hardware, Workflows, BMC Jobs and Tasks: 1 + 1 + 1 + 0 + 0.
		g.Expect(counts(res[migration.TinkerbellIPXEPathsV0220])).To(Equal([3]int{3, 1, 2}))
		g.Expect(counts(res[migration.TinkerbellPortsV0230])).To(Equal([3]int{3, 2, 1}))

		wf := c.get(t, migration.Workflows, "tinkerbell", "wf-done")
		g.Expect(nestedString(wf, "status", "templateRendering")).To(Equal("successful"))
		g.Expect(wf.GetAnnotations()).NotTo(HaveKey(migration.TemplateRenderingAnnotation))
		// The rest of the v0.19 status is untouched.
		g.Expect(wf.Object["status"].(map[string]any)["tasks"]).To(Equal(original["Workflow"].Object["status"].(map[string]any)["tasks"]))

		g.Expect(nestedString(c.get(t, migration.Templates, "tinkerbell", "ubuntu"), "spec", "data")).To(And(
			ContainSubstring("http://192.168.2.111:7173/jammy"),
			ContainSubstring("curl -s http://192.168.2.111:7080/2009-04-04/meta-data/instance-id"),
			ContainSubstring("curl -s http://10.1.1.1:7171/x"),
		))
		hw := c.get(t, migration.Hardware, "tinkerbell", "machine1")
		g.Expect(nestedString(hw, "spec", "userData")).To(ContainSubstring(`["http://192.168.2.111:7080", "http://10.1.1.1:7172"]`))
		ifaces, _, _ := unstructured.NestedSlice(hw.Object, "spec", "interfaces")
		g.Expect(ifaces[0]).To(HaveKeyWithValue("netboot", HaveKeyWithValue("ipxe", HaveKeyWithValue("url", "http://tink.example.com:7080/ipxe/script/auto.ipxe"))))

		before := c.snapshot(t)
		expectNoChanges(g, c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Hosts: opts.Hosts}))
		g.Expect(c.snapshot(t)).To(Equal(before))
	})

	t.Run("restore puts the old ports and paths back", func(t *testing.T) {
		g := NewWithT(t)
		res := c.restore(t, migration.TinkerbellPortsV0230, migration.TinkerbellIPXEPathsV0220)
		g.Expect(res[migration.TinkerbellPortsV0230].Restored).To(Equal(2))
		g.Expect(res[migration.TinkerbellIPXEPathsV0220].Restored).To(Equal(1))
		g.Expect(userView(c.get(t, migration.Templates, "tinkerbell", "ubuntu"))).To(Equal(userView(original["Template"])))
		g.Expect(userView(c.get(t, migration.Hardware, "tinkerbell", "machine1"))).To(Equal(userView(original["Hardware"])))
	})
}

// TestMigrationOfOneSite runs a site's migration the way its Job does (--namespace, here two of them): the objects
// of those namespaces are rewritten and backed up, another site's identical objects are neither.
func TestMigrationOfOneSite(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	c := startCluster(t, "v0.19.0")
	c.apply(t, "v0.19.0") // in namespace tinkerbell: another site's
	ctx := context.Background()
	g.Expect(c.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tink-b"}})).To(Succeed())
	for _, ns := range []string{"tink", "tink-b"} {
		mine := c.get(t, migration.Templates, "tinkerbell", "ubuntu").DeepCopy()
		mine.SetNamespace(ns)
		mine.SetResourceVersion("")
		mine.SetUID("")
		_, err := c.dyn.Resource(migration.Templates.GVR()).Namespace(ns).Create(ctx, mine, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
	}
	other := c.get(t, migration.Templates, "tinkerbell", "ubuntu")
	otherHardware := c.get(t, migration.Hardware, "tinkerbell", "machine1")

	res := c.migrate(t, Options{From: "v0.22.1", To: "v0.25.0", PublicIP: testPublicIP, Phases: post, Namespaces: []string{"tink", "tink-b"}})
	g.Expect(counts(res[migration.TinkerbellPortsV0230])).To(Equal([3]int{2, 2, 0}), "two Templates scanned and rewritten: the site's")
	for _, ns := range []string{"tink", "tink-b"} {
		g.Expect(nestedString(c.get(t, migration.Templates, ns, "ubuntu"), "spec", "data")).To(ContainSubstring(":7080/2009-04-04/meta-data/instance-id"))
	}
	g.Expect(userView(c.get(t, migration.Templates, "tinkerbell", "ubuntu"))).To(Equal(userView(other)), "another site's Template changed")
	g.Expect(userView(c.get(t, migration.Hardware, "tinkerbell", "machine1"))).To(Equal(userView(otherHardware)), "another site's Hardware changed")

	backups, err := c.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(backupNamespace).List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(backups.Items).NotTo(BeEmpty())
	seen := map[string]bool{}
	for _, b := range backups.Items {
		ns := b.GetLabels()[BackupOfNamespaceLabel]
		g.Expect(ns).To(BeElementOf("tink", "tink-b"), "backup %s holds another site's object", b.GetName())
		seen[ns] = true
	}
	g.Expect(seen).To(HaveLen(2), "both namespaces are backed up")
}
