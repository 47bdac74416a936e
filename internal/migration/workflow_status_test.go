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

package migration

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	legacyWorkflowCRD  = "tink.workflow-crd.yaml"
	unifiedWorkflowCRD = "tinkerbell.org_workflows.yaml"
)

// upgradeWorkflow runs the Workflow status migration as the reconciler does: capture under the old CRD, then the
// apiserver serves the object under the new CRD (pruning), then convert.
func upgradeWorkflow(t *testing.T, wf *unstructured.Unstructured, newRelease string) *unstructured.Unstructured {
	t.Helper()
	g := NewWithT(t)
	out := wf.DeepCopy()
	_, err := CaptureWorkflowStatus(out, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	pruneAs(t, out, newRelease)
	_, err = ConvertWorkflowStatus(out, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	return out
}

func TestCaptureWorkflowStatus(t *testing.T) {
	g := NewWithT(t)
	wf := testObject(t, "stack-0.6.2", "Workflow", "wf-success")
	orig := wf.DeepCopy()

	changed, err := CaptureWorkflowStatus(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(wf.GetAnnotations()[LegacyWorkflowStatusAnnotation]).To(MatchJSON(`{
		"state": "STATE_SUCCESS",
		"currentAction": "kexec into os",
		"tasks": [{"name": "os installation", "worker": "08:00:27:9e:f5:3a", "actions": [
			{"name": "stream ubuntu image", "status": "STATE_SUCCESS", "startedAt": "2025-03-01T10:00:00Z", "seconds": 95},
			{"name": "kexec into os", "status": "STATE_SUCCESS", "startedAt": "2025-03-01T10:01:35Z", "seconds": 2}
		]}]
	}`))
	// Only the annotation changes.
	g.Expect(wf.Object["status"]).To(Equal(orig.Object["status"]))
	g.Expect(wf.Object["spec"]).To(Equal(orig.Object["spec"]))

	// Idempotent, and never overwritten, even by a capture under the new CRD that sees the pruned view.
	once := wf.DeepCopy()
	pruneAs(t, wf, "v0.22.1")
	changed, err = CaptureWorkflowStatus(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
	g.Expect(wf.GetAnnotations()).To(Equal(once.GetAnnotations()))
}

func TestCaptureWorkflowStatusUnifiedShape(t *testing.T) {
	g := NewWithT(t)
	wf := testObject(t, "v0.19.0", "Workflow", "wf-done")
	changed, err := CaptureWorkflowStatus(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
	g.Expect(wf.GetAnnotations()).NotTo(HaveKey(LegacyWorkflowStatusAnnotation))
}

func TestConvertWorkflowStatusSuccess(t *testing.T) {
	g := NewWithT(t)
	wf := testObject(t, "stack-0.6.2", "Workflow", "wf-success")
	got := upgradeWorkflow(t, wf, "v0.22.1")

	g.Expect(got.GetAnnotations()).NotTo(HaveKey(LegacyWorkflowStatusAnnotation))
	seed := string(wf.GetUID())
	taskID := deterministicID(seed, "task", "0")
	a0 := deterministicID(seed, "task", "0", "action", "0")
	a1 := deterministicID(seed, "task", "0", "action", "1")
	g.Expect(got.Object["status"]).To(Equal(map[string]any{
		"state":         "SUCCESS",
		"agentID":       "08:00:27:9e:f5:3a",
		"globalTimeout": int64(1800),
		"bootOptions":   map[string]any{"allowNetboot": map[string]any{"toggledTrue": true, "toggledFalse": true}},
		"currentState": map[string]any{
			"actionName": "kexec into os", "actionID": a1, "taskName": "os installation", "taskID": taskID,
			"agentID": "08:00:27:9e:f5:3a", "state": "SUCCESS",
		},
		"tasks": []any{map[string]any{
			"id": taskID, "name": "os installation", "agentID": "08:00:27:9e:f5:3a",
			"volumes": []any{"/dev:/dev"},
			"actions": []any{
				map[string]any{
					"id": a0, "name": "stream ubuntu image", "image": "quay.io/tinkerbell/actions/image2disk:latest",
					"timeout": int64(600),
					"environment": map[string]any{
						"COMPRESSED": "true", "DEST_DISK": "/dev/vda",
						"IMG_URL": "http://192.168.2.111:8080/jammy-server-cloudimg-amd64.raw.gz",
					},
					"state": "SUCCESS", "executionStart": "2025-03-01T10:00:00Z",
					"executionStop": "2025-03-01T10:01:35Z", "executionDuration": "1m35s",
				},
				map[string]any{
					"id": a1, "name": "kexec into os", "image": "ghcr.io/jacobweinstock/waitdaemon:latest",
					"timeout": int64(180), "pid": "host",
					"environment": map[string]any{"IMAGE": "quay.io/tinkerbell/actions/kexec:latest", "WAIT_SECONDS": "5"},
					"volumes":     []any{"/var/run/docker.sock:/var/run/docker.sock"},
					"state":       "SUCCESS", "executionStart": "2025-03-01T10:01:35Z",
					"executionStop": "2025-03-01T10:01:37Z", "executionDuration": "2s",
				},
			},
		}},
	}))

	// The result is stable under the new CRD and a second convert changes nothing.
	again := got.DeepCopy()
	pruneAs(t, again, "v0.22.1")
	g.Expect(again.Object).To(Equal(got.Object))
	changed, err := ConvertWorkflowStatus(again, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
}

func TestConvertWorkflowStatusFailed(t *testing.T) {
	g := NewWithT(t)
	got := upgradeWorkflow(t, testObject(t, "stack-0.6.2", "Workflow", "wf-failed"), "v0.19.0")
	g.Expect(nestedString(got, "status", "state")).To(Equal("FAILED"))
	actions, _, _ := unstructured.NestedSlice(got.Object, "status", "tasks")
	a := actions[0].(map[string]any)["actions"].([]any)
	g.Expect(a[0]).To(HaveKeyWithValue("state", "FAILED"))
	g.Expect(a[0]).To(HaveKeyWithValue("message", "failed to stream image: connection refused"))
	g.Expect(a[0]).To(HaveKeyWithValue("executionStop", "2025-03-02T08:00:12Z"))
	// The action that never ran keeps no times.
	g.Expect(a[1]).To(HaveKeyWithValue("state", "PENDING"))
	g.Expect(a[1]).NotTo(HaveKey("executionStart"))
	g.Expect(a[1]).NotTo(HaveKey("executionStop"))
	g.Expect(nestedString(got, "status", "currentState", "actionName")).To(Equal("stream ubuntu image"))
}

func TestConvertWorkflowStatusPendingIsReset(t *testing.T) {
	g := NewWithT(t)
	got := upgradeWorkflow(t, testObject(t, "stack-0.6.2", "Workflow", "wf-pending"), "v0.22.1")
	g.Expect(got.Object["status"]).To(Equal(map[string]any{
		"state":         "",
		"tasks":         []any{},
		"globalTimeout": int64(1800),
	}))
	changed, err := ConvertWorkflowStatus(got, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
}

func TestConvertWorkflowStatusWithoutCapture(t *testing.T) {
	g := NewWithT(t)
	// The upgrade happened without the PreUpgrade phase: only the state survived the new CRD.
	wf := testObject(t, "stack-0.6.2", "Workflow", "wf-success")
	pruneAs(t, wf, "v0.19.0")
	changed, err := ConvertWorkflowStatus(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(nestedString(wf, "status", "state")).To(Equal("SUCCESS"))
	tasks, _, _ := unstructured.NestedSlice(wf.Object, "status", "tasks")
	g.Expect(tasks[0]).To(HaveKey("id"))
	g.Expect(tasks[0]).To(HaveKeyWithValue("agentID", ""))

	changed, err = ConvertWorkflowStatus(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
}

func TestConvertWorkflowStatusControllerMovedOn(t *testing.T) {
	g := NewWithT(t)
	wf := testObject(t, "stack-0.6.2", "Workflow", "wf-pending")
	_, err := CaptureWorkflowStatus(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	pruneAs(t, wf, "v0.22.1")
	// A v0.20+ controller re-processed the STATE_PENDING Workflow itself before the PostUpgrade phase.
	g.Expect(unstructured.SetNestedField(wf.Object, "RUNNING", "status", "state")).To(Succeed())
	before := wf.DeepCopy()

	changed, err := ConvertWorkflowStatus(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(wf.GetAnnotations()).NotTo(HaveKey(LegacyWorkflowStatusAnnotation))
	g.Expect(wf.Object["status"]).To(Equal(before.Object["status"]))
}

func TestConvertWorkflowStatusUnifiedV017Shape(t *testing.T) {
	g := NewWithT(t)
	// v0.17/v0.18 kept tasks[].worker and currentState.workerID next to the new ids and action fields.
	wf := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "tinkerbell.org/v1alpha1", "kind": "Workflow",
		"metadata": map[string]any{"name": "w", "namespace": "n", "uid": "u"},
		"status": map[string]any{
			"state":        "SUCCESS",
			"currentState": map[string]any{"workerID": "aa:bb", "actionName": "a", "actionID": "A1", "taskID": "T1", "state": "SUCCESS"},
			"tasks": []any{map[string]any{"id": "T1", "name": "t", "worker": "aa:bb", "actions": []any{
				map[string]any{"id": "A1", "name": "a", "state": "SUCCESS", "executionStart": "2025-01-01T00:00:00Z"},
			}}},
		},
	}}
	changed, err := CaptureWorkflowStatus(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	changed, err = ConvertWorkflowStatus(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(wf.Object["status"]).To(Equal(map[string]any{
		"state":        "SUCCESS",
		"agentID":      "aa:bb",
		"currentState": map[string]any{"agentID": "aa:bb", "actionName": "a", "actionID": "A1", "taskID": "T1", "state": "SUCCESS"},
		"tasks": []any{map[string]any{"id": "T1", "name": "t", "agentID": "aa:bb", "actions": []any{
			map[string]any{"id": "A1", "name": "a", "state": "SUCCESS", "executionStart": "2025-01-01T00:00:00Z"},
		}}},
	}))
}

func TestConvertWorkflowStatusBadAnnotation(t *testing.T) {
	g := NewWithT(t)
	wf := testObject(t, "stack-0.6.2", "Workflow", "wf-success")
	wf.SetAnnotations(map[string]string{LegacyWorkflowStatusAnnotation: "{"})
	_, err := ConvertWorkflowStatus(wf, Env{})
	g.Expect(err).To(MatchError(ContainSubstring("failed to decode annotation")))
}

func TestDeterministicID(t *testing.T) {
	g := NewWithT(t)
	id := deterministicID("uid", "task", "0")
	g.Expect(id).To(MatchRegexp(`^[0-7][0-9A-HJKMNP-TV-Z]{25}$`))
	g.Expect(deterministicID("uid", "task", "0")).To(Equal(id))
	g.Expect(deterministicID("uid", "task", "1")).NotTo(Equal(id))
}
