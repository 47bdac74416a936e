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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/migration"
)

var (
	pre  = []migration.Phase{migration.PreUpgrade}
	post = []migration.Phase{migration.PostUpgrade}
)

// TestLegacyStack062ToV0221 upgrades objects written by the legacy stack 0.6.2 (with an EKS Anywhere
// BaseboardManagement) to v0.22.1, with a real apiserver serving the 0.6.2 CRDs first and the v0.22.1 CRDs after
// the PreUpgrade phase, as the reconciler does.
func TestLegacyStack062ToV0221(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "0.6.2", eksaBaseboardManagementCRD)
	c.apply(t, "stack-0.6.2")
	opts := Options{From: "0.6.2", To: "v0.22.1", PublicIP: testPublicIP}

	original := map[string]*unstructured.Unstructured{}
	for _, ref := range []struct {
		tg   migration.Target
		name string
	}{
		{migration.Workflows, "wf-success"}, {migration.Workflows, "wf-failed"}, {migration.Workflows, "wf-pending"},
		{migration.Templates, "ubuntu"}, {migration.Hardware, "machine1"}, {migration.Hardware, "machine2"},
	} {
		original[ref.tg.Kind+"/"+ref.name] = c.get(t, ref.tg, "tink", ref.name)
	}

	t.Run("the 0.6.2 CRD keeps the legacy status", func(t *testing.T) {
		g := NewWithT(t)
		wf := original["Workflow/wf-success"]
		g.Expect(nestedString(wf, "status", "templateRending")).To(Equal("successful"))
		tasks, _, _ := unstructured.NestedSlice(wf.Object, "status", "tasks")
		g.Expect(tasks[0]).To(HaveKeyWithValue("worker", "08:00:27:9e:f5:3a"))
	})

	t.Run("preflight blocks a running Workflow", func(t *testing.T) {
		g := NewWithT(t)
		ctx := context.Background()
		rc := c.dyn.Resource(migration.Workflows.GVR()).Namespace("tink")
		wf := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "tinkerbell.org/v1alpha1", "kind": "Workflow",
			"metadata": map[string]any{"name": "wf-running", "namespace": "tink"},
			"spec":     map[string]any{"templateRef": "ubuntu", "hardwareRef": "machine1"},
		}}
		created, err := rc.Create(ctx, wf, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		created.Object["status"] = map[string]any{"state": "STATE_RUNNING"}
		_, err = rc.UpdateStatus(ctx, created, metav1.UpdateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		before := c.snapshot(t)

		_, err = c.tryMigrate(Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: pre})
		g.Expect(err).To(MatchError(ContainSubstring("Workflow tink/wf-running: state is STATE_RUNNING")))
		g.Expect(c.snapshot(t)).To(Equal(before))
		g.Expect(rc.Delete(ctx, "wf-running", metav1.DeleteOptions{})).To(Succeed())
	})

	t.Run("dry run changes nothing", func(t *testing.T) {
		g := NewWithT(t)
		before := c.snapshot(t)
		res := c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: pre, DryRun: true})
		g.Expect(counts(res[migration.WorkflowStatusCapture])).To(Equal([3]int{3, 3, 0}))
		g.Expect(c.snapshot(t)).To(Equal(before))
	})

	t.Run("PreUpgrade captures the legacy status", func(t *testing.T) {
		g := NewWithT(t)
		res := c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: pre})
		g.Expect(res).To(HaveLen(4))
		g.Expect(counts(res[migration.StackReinstall])).To(Equal([3]int{0, 0, 0}))
		g.Expect(counts(res[migration.WorkflowStatusCapture])).To(Equal([3]int{3, 3, 0}))
		g.Expect(counts(res[migration.TemplateRenderingCapture])).To(Equal([3]int{3, 3, 0}))
		g.Expect(counts(res[migration.BMCJobMachineRef])).To(Equal([3]int{1, 0, 1}))

		wf := c.get(t, migration.Workflows, "tink", "wf-success")
		g.Expect(wf.GetAnnotations()).To(HaveKey(migration.LegacyWorkflowStatusAnnotation))
		g.Expect(wf.GetAnnotations()).To(HaveKeyWithValue(migration.TemplateRenderingAnnotation, "successful"))
		g.Expect(wf.Object["status"]).To(Equal(original["Workflow/wf-success"].Object["status"]), "status untouched")
	})

	t.Run("a second PreUpgrade run changes nothing", func(t *testing.T) {
		g := NewWithT(t)
		before := c.snapshot(t)
		expectNoChanges(g, c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: pre}))
		g.Expect(c.snapshot(t)).To(Equal(before))
	})

	t.Run("restoring the captures gives the originals back", func(t *testing.T) {
		g := NewWithT(t)
		res := c.restore(t, migration.TemplateRenderingCapture, migration.WorkflowStatusCapture)
		g.Expect(res[migration.WorkflowStatusCapture].Restored).To(Equal(3))
		for _, name := range []string{"wf-success", "wf-failed", "wf-pending"} {
			g.Expect(userView(c.get(t, migration.Workflows, "tink", name))).To(Equal(userView(original["Workflow/"+name])))
		}
		before := c.snapshot(t)
		again := c.restore(t, migration.TemplateRenderingCapture, migration.WorkflowStatusCapture)
		g.Expect(again[migration.WorkflowStatusCapture].Backups).To(BeZero(), "applied backups are consumed")
		g.Expect(c.snapshot(t)).To(Equal(before))
		// Capture again to go on with the upgrade.
		recaptured := c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: pre})
		g.Expect(counts(recaptured[migration.WorkflowStatusCapture])).To(Equal([3]int{3, 3, 0}))
		g.Expect(counts(recaptured[migration.TemplateRenderingCapture])).To(Equal([3]int{3, 3, 0}))
	})

	t.Run("the v0.22.1 CRDs prune the legacy fields", func(t *testing.T) {
		c.upgradeCRDs(t, "v0.22.1")
		waitUntil(t, func() bool {
			return nestedString(c.get(t, migration.Workflows, "tink", "wf-success"), "status", "templateRending") == ""
		})
	})

	t.Run("PostUpgrade writes the new shapes", func(t *testing.T) {
		g := NewWithT(t)
		_, err := c.tryMigrate(Options{From: opts.From, To: opts.To, Phases: post})
		g.Expect(err).To(MatchError(ContainSubstring("--public-ip")))

		res := c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: post, ArtifactsFileServer: "http://192.168.2.112:7173"})
		g.Expect(res).To(HaveLen(7), "v0.22.1 does not cross v0.23.0")
		g.Expect(counts(res[migration.WorkflowStatusConvert])).To(Equal([3]int{3, 3, 0}))
		g.Expect(counts(res[migration.TemplateRenderingConvert])).To(Equal([3]int{3, 3, 0}))
		// One BaseboardManagement (a Machine created) and two Hardware (one retargeted).
		g.Expect(counts(res[migration.BaseboardManagementToMachine])).To(Equal([3]int{3, 2, 1}))
		g.Expect(res[migration.BaseboardManagementToMachine].Notes).To(ContainElement(ContainSubstring(
			"obsolete CRD baseboardmanagements.bmc.tinkerbell.org is still installed with 1 object(s)")))
		// Templates, Hardware, Workflows, BMC Jobs and Tasks: 1 + 2 + 3 + 1 + 0.
		g.Expect(counts(res[migration.TinkerbellPortsV0182])).To(Equal([3]int{7, 2, 5}))
		g.Expect(counts(res[migration.TinkerbellIPXEPathsV0220])).To(Equal([3]int{7, 0, 7}))
		g.Expect(counts(res[migration.HookArtifactsFileServer])).To(Equal([3]int{7, 2, 5}))
		g.Expect(counts(res[migration.TinkAgentImage])).To(Equal([3]int{3, 1, 2}))

		wf := c.get(t, migration.Workflows, "tink", "wf-success")
		g.Expect(wf.GetAnnotations()).NotTo(HaveKey(migration.LegacyWorkflowStatusAnnotation))
		g.Expect(wf.GetAnnotations()).NotTo(HaveKey(migration.TemplateRenderingAnnotation))
		g.Expect(nestedString(wf, "status", "state")).To(Equal("SUCCESS"))
		g.Expect(nestedString(wf, "status", "templateRendering")).To(Equal("successful"))
		g.Expect(nestedString(wf, "status", "agentID")).To(Equal("08:00:27:9e:f5:3a"))
		g.Expect(nestedString(wf, "status", "currentState", "actionName")).To(Equal("kexec into os"))
		tasks, _, _ := unstructured.NestedSlice(wf.Object, "status", "tasks")
		task := tasks[0].(map[string]any)
		g.Expect(task).To(HaveKeyWithValue("agentID", "08:00:27:9e:f5:3a"))
		g.Expect(task).To(HaveKey("id"))
		g.Expect(task["actions"].([]any)[0]).To(And(
			HaveKeyWithValue("state", "SUCCESS"),
			HaveKeyWithValue("executionStart", "2025-03-01T10:00:00Z"),
			HaveKeyWithValue("executionDuration", "1m35s"),
		))
		failed := c.get(t, migration.Workflows, "tink", "wf-failed")
		g.Expect(nestedString(failed, "status", "state")).To(Equal("FAILED"))
		pending := c.get(t, migration.Workflows, "tink", "wf-pending")
		g.Expect(nestedString(pending, "status", "state")).To(BeEmpty())
		pendingTasks, _, _ := unstructured.NestedSlice(pending.Object, "status", "tasks")
		g.Expect(pendingTasks).To(BeEmpty())

		machine := c.get(t, migration.BMCMachines, "tink", "bmc-machine1")
		g.Expect(machine.Object["spec"]).To(Equal(map[string]any{"connection": map[string]any{
			"host": "192.168.2.201", "port": int64(623), "insecureTLS": true,
			"authSecretRef": map[string]any{"name": "bmc-machine1-auth", "namespace": "tink"},
		}}))
		g.Expect(machine.GetAnnotations()).To(HaveKeyWithValue(migration.MigratedFromAnnotation, "BaseboardManagement/bmc-machine1"))
		c.get(t, migration.BaseboardManagements, "tink", "bmc-machine1") // kept
		hw := c.get(t, migration.Hardware, "tink", "machine1")
		g.Expect(nestedString(hw, "spec", "bmcRef", "kind")).To(Equal("Machine"))
		g.Expect(nestedString(hw, "spec", "userData")).To(And(
			ContainSubstring(`metadata_urls: ["http://192.168.2.111:7172"]`),
			ContainSubstring("ghcr.io/tinkerbell/tink-agent:v0.22.1"),
			ContainSubstring("http://mirror.example.com:8080/bootstrap.sh"),
		))
		ifaces, _, _ := unstructured.NestedSlice(hw.Object, "spec", "interfaces")
		g.Expect(ifaces[0]).To(HaveKeyWithValue("netboot", HaveKeyWithValue("osie", HaveKeyWithValue("baseURL", "http://192.168.2.112:7173"))),
			"the Hook files moved from the stack's nginx to the artifacts file server")
		tpl := nestedString(c.get(t, migration.Templates, "tink", "ubuntu"), "spec", "data")
		g.Expect(tpl).To(And(
			ContainSubstring(`IMG_URL: "http://192.168.2.112:7173/jammy-server-cloudimg-amd64.raw.gz"`),
			ContainSubstring("curl -s http://192.168.2.111:7172/2009-04-04/meta-data/instance-id"),
			ContainSubstring(`IMG_URL: "http://10.1.1.1:8080/extras.raw.gz"`),
		))
		g.Expect(userView(c.get(t, migration.Hardware, "tink", "machine2"))).To(Equal(userView(original["Hardware/machine2"])))
	})

	t.Run("a second full run changes nothing", func(t *testing.T) {
		g := NewWithT(t)
		before := c.snapshot(t)
		expectNoChanges(g, c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP}))
		g.Expect(c.snapshot(t)).To(Equal(before))
	})

	t.Run("restoring the PostUpgrade rewrites gives the originals back", func(t *testing.T) {
		g := NewWithT(t)
		names := []string{migration.TinkAgentImage, migration.HookArtifactsFileServer, migration.TinkerbellIPXEPathsV0220,
			migration.TinkerbellPortsV0182, migration.BaseboardManagementToMachine}
		res := c.restore(t, names...)
		g.Expect(res[migration.BaseboardManagementToMachine].Deleted).To(Equal(1))
		g.Expect(userView(c.get(t, migration.Templates, "tink", "ubuntu"))).To(Equal(userView(original["Template/ubuntu"])))
		g.Expect(userView(c.get(t, migration.Hardware, "tink", "machine1"))).To(Equal(userView(original["Hardware/machine1"])))
		_, err := c.dyn.Resource(migration.BMCMachines.GVR()).Namespace("tink").Get(context.Background(), "bmc-machine1", metav1.GetOptions{})
		g.Expect(err).To(HaveOccurred())
		c.get(t, migration.BMCMachines, "tink", "bmc-machine2") // a user's Machine stays

		before := c.snapshot(t)
		for _, r := range c.restore(t, names...) {
			g.Expect(r.Backups).To(BeZero())
		}
		g.Expect(c.snapshot(t)).To(Equal(before))
	})
}

// TestLegacyStack040CRDs covers a stack that still has the CRDs of charts 0.4.0 (Helm never upgrades CRDs, so a
// stack upgraded in place to 0.6.2 keeps them): Rufio Jobs with a full object reference and the WorkflowData CRD.
func TestLegacyStack040CRDs(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "0.4.0")
	c.apply(t, "stack-0.4.0")
	opts := Options{From: "0.6.2", To: "v0.19.0", PublicIP: testPublicIP}

	t.Run("preflight blocks an unfinished bmc Job", func(t *testing.T) {
		g := NewWithT(t)
		before := c.snapshot(t)
		_, err := c.tryMigrate(Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: pre})
		g.Expect(err).To(MatchError(ContainSubstring("Job tink/machine1-off: not Completed or Failed yet")))
		g.Expect(c.snapshot(t)).To(Equal(before))
	})

	t.Run("PreUpgrade", func(t *testing.T) {
		g := NewWithT(t)
		res := c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: pre, SkipPreflight: true})
		g.Expect(res).NotTo(HaveKey(migration.TemplateRenderingCapture), "v0.19.0 keeps templateRending")
		g.Expect(res[migration.StackReinstall].Notes).To(ContainElement(ContainSubstring(
			"obsolete CRD workflowdata.tinkerbell.org is still installed with 1 object(s)")))
		g.Expect(counts(res[migration.BMCJobMachineRef])).To(Equal([3]int{2, 2, 0}))
		g.Expect(counts(res[migration.WorkflowStatusCapture])).To(Equal([3]int{1, 1, 0}))
		for _, name := range []string{"machine1-reboot", "machine1-off"} {
			ref, _, _ := unstructured.NestedMap(c.get(t, migration.BMCJobs, "tink", name).Object, "spec", "machineRef")
			g.Expect(ref).To(Equal(map[string]any{"name": "bmc-machine1", "namespace": "tink"}))
		}
	})

	t.Run("restoring the machineRef migration gives the full references back", func(t *testing.T) {
		g := NewWithT(t)
		res := c.restore(t, migration.BMCJobMachineRef)
		g.Expect(res[migration.BMCJobMachineRef].Restored).To(Equal(2))
		ref, _, _ := unstructured.NestedMap(c.get(t, migration.BMCJobs, "tink", "machine1-reboot").Object, "spec", "machineRef")
		g.Expect(ref).To(Equal(map[string]any{
			"apiVersion": "bmc.tinkerbell.org/v1alpha1", "kind": "Machine", "name": "bmc-machine1", "namespace": "tink",
			"uid": "4e1f3a9c-0d7e-4b59-9a51-1f4f1f1d2c3b",
		}))
		res2 := c.migrate(t, Options{From: opts.From, To: opts.To, Phases: pre, SkipPreflight: true})
		g.Expect(counts(res2[migration.BMCJobMachineRef])).To(Equal([3]int{2, 2, 0}))
	})

	t.Run("PostUpgrade under the v0.19.0 CRDs", func(t *testing.T) {
		g := NewWithT(t)
		c.upgradeCRDs(t, "v0.19.0")
		waitUntil(t, func() bool {
			tasks, _, _ := unstructured.NestedSlice(c.get(t, migration.Workflows, "tink", "wf-old").Object, "status", "tasks")
			_, hasWorker := tasks[0].(map[string]any)["worker"]
			return !hasWorker
		})
		res := c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, Phases: post})
		g.Expect(counts(res[migration.WorkflowStatusConvert])).To(Equal([3]int{1, 1, 0}))
		g.Expect(counts(res[migration.BaseboardManagementToMachine])).To(Equal([3]int{0, 0, 0}), "no BaseboardManagement CRD")
		wf := c.get(t, migration.Workflows, "tink", "wf-old")
		g.Expect(nestedString(wf, "status", "state")).To(Equal("TIMEOUT"))
		tasks, _, _ := unstructured.NestedSlice(wf.Object, "status", "tasks")
		g.Expect(tasks[0].(map[string]any)["actions"].([]any)[0]).To(And(
			HaveKeyWithValue("state", "TIMEOUT"),
			HaveKeyWithValue("executionDuration", "10m0s"),
			HaveKeyWithValue("executionStop", "2024-01-10T12:10:00Z"),
		))
		// The Jobs keep their {name, namespace} reference under the new CRD; the obsolete CRD and object stay.
		ref, _, _ := unstructured.NestedMap(c.get(t, migration.BMCJobs, "tink", "machine1-reboot").Object, "spec", "machineRef")
		g.Expect(ref).To(Equal(map[string]any{"name": "bmc-machine1", "namespace": "tink"}))
		c.get(t, migration.WorkflowData, "tink", "wf-old")

		before := c.snapshot(t)
		expectNoChanges(g, c.migrate(t, Options{From: opts.From, To: opts.To, PublicIP: testPublicIP, SkipPreflight: true}))
		g.Expect(c.snapshot(t)).To(Equal(before))
	})
}
