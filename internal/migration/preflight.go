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
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Blocker is an object that must finish, or be paused, before an upgrade may start: the upgrade waits for it.
// Compare Refusal, which waiting does not clear.
type Blocker struct {
	// Kind, Namespace and Name identify the object.
	Kind, Namespace, Name string
	// Reason says why it blocks.
	Reason string
}

// String returns "Kind namespace/name: reason".
func (b Blocker) String() string {
	return fmt.Sprintf("%s %s/%s: %s", b.Kind, b.Namespace, b.Name, b.Reason)
}

// Preflight returns the Workflows and Rufio (bmc.tinkerbell.org) Jobs that block an upgrade. Upstream's upgrade
// guide for stack 0.6.2 → v0.19 asks that no Workflow and no bmc Job be actively running, because the old
// worker and controllers stop mid-way and the new ones cannot resume their work.
//
//   - A Workflow blocks while a machine or a controller is executing it: state RUNNING or STATE_RUNNING, and the
//     unified states PREPARING (boot-option bmc Jobs before the actions) and POST (bmc Jobs after them).
//     PENDING/STATE_PENDING Workflows do not block: nothing runs yet, the legacy ones are reset by the migration
//     and unified ones are picked up by the agent after the upgrade. Finished Workflows (SUCCESS, FAILED,
//     TIMEOUT) never block.
//   - A bmc Job blocks until it has a Completed or Failed condition with status True; a Job without conditions
//     has not been started by Rufio yet and would start during the upgrade.
//
// The migrate command enforces this, with CAPTBlockers and Refusals, before the PreUpgrade phase (runner
// preflight): this one for the legacy stack reinstall only. The reconciler applies it to any upgrade.
func Preflight(workflows, bmcJobs []unstructured.Unstructured) []Blocker {
	var out []Blocker
	for i := range workflows {
		wf := &workflows[i]
		state, _, _ := unstructured.NestedString(wf.Object, "status", "state")
		switch renameState(state) {
		case stateRunning, statePreparing, statePost:
			out = append(out, Blocker{Kind: Workflows.Kind, Namespace: wf.GetNamespace(), Name: wf.GetName(),
				Reason: fmt.Sprintf("state is %s", state)})
		}
	}
	for i := range bmcJobs {
		job := &bmcJobs[i]
		if !bmcJobFinished(job) {
			out = append(out, Blocker{Kind: BMCJobs.Kind, Namespace: job.GetNamespace(), Name: job.GetName(),
				Reason: "not Completed or Failed yet"})
		}
	}
	return out
}

// BlockerTargets returns the kinds Preflight reads, in its argument order: Workflows and Rufio Jobs. Whatever
// lists or watches blockers (the reconciler, its RBAC, "kubetink migrate") takes the kinds from here.
func BlockerTargets() []Target {
	return []Target{Workflows, BMCJobs}
}

func bmcJobFinished(job *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(job.Object, "status", "conditions")
	for _, c := range conditions {
		cm, _ := c.(map[string]any)
		if (str(cm, "type") == "Completed" || str(cm, "type") == "Failed") && str(cm, "status") == "True" {
			return true
		}
	}
	return false
}
