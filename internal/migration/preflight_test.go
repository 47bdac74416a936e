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

func workflowInState(name, state string) unstructured.Unstructured {
	u := unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"state": state}}}
	u.SetName(name)
	u.SetNamespace("tink")
	return u
}

func bmcJobWith(name string, conditions ...map[string]any) unstructured.Unstructured {
	cs := make([]any, 0, len(conditions))
	for _, c := range conditions {
		cs = append(cs, c)
	}
	u := unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": cs}}}
	u.SetName(name)
	u.SetNamespace("tink")
	return u
}

func TestPreflight(t *testing.T) {
	g := NewWithT(t)
	workflows := []unstructured.Unstructured{
		workflowInState("legacy-running", "STATE_RUNNING"),
		workflowInState("running", "RUNNING"),
		workflowInState("preparing", "PREPARING"),
		workflowInState("post", "POST"),
		workflowInState("legacy-pending", "STATE_PENDING"),
		workflowInState("pending", "PENDING"),
		workflowInState("new", ""),
		workflowInState("legacy-success", "STATE_SUCCESS"),
		workflowInState("failed", "FAILED"),
		workflowInState("timeout", "STATE_TIMEOUT"),
	}
	jobs := []unstructured.Unstructured{
		bmcJobWith("not-started"),
		bmcJobWith("running", map[string]any{"type": "Running", "status": "True"}),
		bmcJobWith("completed", map[string]any{"type": "Running", "status": "False"}, map[string]any{"type": "Completed", "status": "True"}),
		bmcJobWith("failed", map[string]any{"type": "Failed", "status": "True"}),
		bmcJobWith("completed-false", map[string]any{"type": "Completed", "status": "False"}),
	}
	blockers := Preflight(workflows, jobs)
	got := make([]string, 0, len(blockers))
	for _, b := range blockers {
		got = append(got, b.String())
	}
	g.Expect(got).To(Equal([]string{
		"Workflow tink/legacy-running: state is STATE_RUNNING",
		"Workflow tink/running: state is RUNNING",
		"Workflow tink/preparing: state is PREPARING",
		"Workflow tink/post: state is POST",
		"Job tink/not-started: not Completed or Failed yet",
		"Job tink/running: not Completed or Failed yet",
		"Job tink/completed-false: not Completed or Failed yet",
	}))
	g.Expect(Preflight(nil, nil)).To(BeEmpty())
}

func TestPreflightUpstreamObjects(t *testing.T) {
	g := NewWithT(t)
	names := []string{"wf-success", "wf-failed", "wf-pending"}
	workflows := make([]unstructured.Unstructured, 0, len(names))
	for _, name := range names {
		workflows = append(workflows, *testObject(t, "stack-0.6.2", "Workflow", name))
	}
	jobs := []unstructured.Unstructured{
		*testObject(t, "stack-0.6.2", "Job", "machine2-power-on"),
		*testObject(t, "stack-0.4.0", "Job", "machine1-off"),
	}
	g.Expect(Preflight(workflows, jobs)).To(Equal([]Blocker{
		{Kind: "Job", Namespace: "tink", Name: "machine1-off", Reason: "not Completed or Failed yet"},
	}))
}
