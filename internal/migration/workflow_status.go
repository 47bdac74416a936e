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
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// LegacyWorkflowStatusAnnotation holds, between the two phases of the Workflow status migration, the legacy
// status fields that the v0.19 CRD no longer declares (JSON of legacyWorkflowStatus).
//
// Why two phases: the stack 0.6.2 CRD declares status.tasks[].worker, actions[].status/startedAt/seconds and
// status.currentAction; the v0.19+ CRD declares tasks[].agentID/id, actions[].state/executionStart/
// executionDuration/id and status.currentState instead. The apiserver prunes undeclared fields when it reads an
// object from etcd as well as when it writes one (checked against a real kube-apiserver in the runner tests), so
// the old values are readable only before Kubetink replaces the CRDs and the new ones are writable only after.
// The PreUpgrade capture stores the old values here; the PostUpgrade convert builds the new fields from them.
const LegacyWorkflowStatusAnnotation = "kubetink.io/legacy-workflow-status"

// Workflow states. The legacy stack (tink <= v0.12) used the proto names with a STATE_ prefix; the unified
// releases drop the prefix (tinkerbell commit 96d9ebe2) and add PREPARING and POST.
const (
	legacyStatePrefix = "STATE_"
	statePending      = "PENDING"
	stateRunning      = "RUNNING"
	stateSuccess      = "SUCCESS"
	stateFailed       = "FAILED"
	stateTimeout      = "TIMEOUT"
	statePreparing    = "PREPARING"
	statePost         = "POST"
)

// legacyWorkflowStatus is what the capture keeps: only the fields the new CRD prunes, plus the state so that the
// convert can tell whether a controller changed the Workflow in between.
type legacyWorkflowStatus struct {
	State         string       `json:"state,omitempty"`
	CurrentAction string       `json:"currentAction,omitempty"`
	WorkerID      string       `json:"workerID,omitempty"`
	Tasks         []legacyTask `json:"tasks,omitempty"`
}

type legacyTask struct {
	Name    string         `json:"name"`
	Worker  string         `json:"worker,omitempty"`
	Actions []legacyAction `json:"actions,omitempty"`
}

type legacyAction struct {
	Name      string `json:"name"`
	Status    string `json:"status,omitempty"`
	StartedAt string `json:"startedAt,omitempty"`
	Seconds   *int64 `json:"seconds,omitempty"`
}

// hasLegacyFields reports whether l holds anything beyond a state without the STATE_ prefix.
func (l legacyWorkflowStatus) hasLegacyFields() bool {
	if strings.HasPrefix(l.State, legacyStatePrefix) || l.CurrentAction != "" || l.WorkerID != "" {
		return true
	}
	for _, t := range l.Tasks {
		if t.Worker != "" {
			return true
		}
		for _, a := range t.Actions {
			if a.Status != "" || a.StartedAt != "" || a.Seconds != nil {
				return true
			}
		}
	}
	return false
}

// CaptureWorkflowStatus is the PreUpgrade half of the Workflow status migration. It stores the legacy status
// fields of a Workflow in LegacyWorkflowStatusAnnotation and changes nothing else. An existing annotation is
// never overwritten: if the CRD was already replaced, a second capture would see only the pruned view and would
// lose the values the first one saved.
func CaptureWorkflowStatus(obj *unstructured.Unstructured, _ Env) (bool, error) {
	if _, ok := obj.GetAnnotations()[LegacyWorkflowStatusAnnotation]; ok {
		return false, nil
	}
	legacy := readLegacyWorkflowStatus(obj)
	if !legacy.hasLegacyFields() {
		return false, nil
	}
	data, err := json.Marshal(legacy)
	if err != nil {
		return false, fmt.Errorf("failed to encode the legacy status of Workflow %s: %w", objectKey(obj), err)
	}
	setAnnotation(obj, LegacyWorkflowStatusAnnotation, string(data))
	return true, nil
}

func readLegacyWorkflowStatus(obj *unstructured.Unstructured) legacyWorkflowStatus {
	var l legacyWorkflowStatus
	l.State, _, _ = unstructured.NestedString(obj.Object, "status", "state")
	l.CurrentAction, _, _ = unstructured.NestedString(obj.Object, "status", "currentAction")
	l.WorkerID, _, _ = unstructured.NestedString(obj.Object, "status", "currentState", "workerID")
	tasks, _, _ := unstructured.NestedSlice(obj.Object, "status", "tasks")
	for _, t := range tasks {
		tm, _ := t.(map[string]any)
		lt := legacyTask{Name: str(tm, "name"), Worker: str(tm, "worker")}
		actions, _ := tm["actions"].([]any)
		for _, a := range actions {
			am, _ := a.(map[string]any)
			la := legacyAction{Name: str(am, "name"), Status: str(am, "status"), StartedAt: str(am, "startedAt")}
			if s, ok := toInt64(am["seconds"]); ok {
				la.Seconds = &s
			}
			lt.Actions = append(lt.Actions, la)
		}
		l.Tasks = append(l.Tasks, lt)
	}
	return l
}

// ConvertWorkflowStatus is the PostUpgrade half of the Workflow status migration. For a Workflow with a captured
// legacy status it writes the v0.19 status shape and removes the annotation:
//
//   - STATE_PENDING Workflows are reset to state "" and no tasks, the fix upstream documented for this upgrade
//     (ORIGINAL_HELM_CHART_UPGRADE.md) and what the v0.20+ controller does itself (PR #319): the new controller
//     renders the Template again and the Workflow runs from the start with tink-agent.
//   - Every other state gets its new name (STATE_SUCCESS → SUCCESS, …); tasks[].worker becomes tasks[].agentID,
//     actions[].status becomes actions[].state, startedAt becomes executionStart, seconds becomes
//     executionDuration (and executionStop for finished actions), currentAction becomes currentState. The
//     required task and action ids, which upstream generates as random ULIDs, are derived from the Workflow's UID
//     and the position, so that the conversion is deterministic.
//
// If the Workflow's state no longer matches the captured one, a controller has handled it since the capture and
// only the annotation is removed. A Workflow without a capture whose state still has the STATE_ prefix (for
// example when the upgrade happened outside Kubetink) only gets the state renamed or reset: the other legacy
// fields were already pruned.
func ConvertWorkflowStatus(obj *unstructured.Unstructured, _ Env) (bool, error) {
	state, _, _ := unstructured.NestedString(obj.Object, "status", "state")
	raw, captured := obj.GetAnnotations()[LegacyWorkflowStatusAnnotation]
	var legacy legacyWorkflowStatus
	switch {
	case captured:
		if err := json.Unmarshal([]byte(raw), &legacy); err != nil {
			return false, fmt.Errorf("failed to decode annotation %s of Workflow %s: %w", LegacyWorkflowStatusAnnotation, objectKey(obj), err)
		}
		removeAnnotation(obj, LegacyWorkflowStatusAnnotation)
		if legacy.State != state {
			return true, nil
		}
	case strings.HasPrefix(state, legacyStatePrefix):
		legacy.State = state
	default:
		return false, nil
	}

	status, _, _ := unstructured.NestedMap(obj.Object, "status")
	if status == nil {
		status = map[string]any{}
	}
	applyLegacyStatus(status, legacy, idSeed(obj))
	if err := unstructured.SetNestedMap(obj.Object, status, "status"); err != nil {
		return false, fmt.Errorf("failed to set the status of Workflow %s: %w", objectKey(obj), err)
	}
	return true, nil
}

// applyLegacyStatus turns status (the pruned view under the new CRD) into the v0.19 shape using legacy.
func applyLegacyStatus(status map[string]any, legacy legacyWorkflowStatus, seed string) {
	delete(status, "currentAction")
	if legacy.State == legacyStatePrefix+statePending {
		status["state"] = ""
		status["tasks"] = []any{}
		delete(status, "currentState")
		return
	}
	if legacy.State != "" {
		status["state"] = renameState(legacy.State)
	}
	tasks, _ := status["tasks"].([]any)
	for i, t := range tasks {
		tm, ok := t.(map[string]any)
		if !ok {
			continue
		}
		var lt legacyTask
		if i < len(legacy.Tasks) && legacy.Tasks[i].Name == str(tm, "name") {
			lt = legacy.Tasks[i]
		}
		convertTask(tm, lt, seed, i)
	}
	if agent := firstAgentID(tasks); str(status, "agentID") == "" && agent != "" {
		status["agentID"] = agent
	}
	current, _ := status["currentState"].(map[string]any)
	if current == nil && legacy.CurrentAction != "" {
		current = currentStateFor(tasks, legacy.CurrentAction)
	}
	if current != nil {
		if w := str(current, "workerID"); w != "" && str(current, "agentID") == "" {
			current["agentID"] = w
		} else if legacy.WorkerID != "" && str(current, "agentID") == "" {
			current["agentID"] = legacy.WorkerID
		}
		delete(current, "workerID")
		if s := str(current, "state"); s != "" {
			current["state"] = renameState(s)
		}
		status["currentState"] = current
	}
}

// convertTask turns one status.tasks[] entry into the v0.19 shape. The CRD requires id and agentID; agentID is
// the legacy worker (the machine's MAC address, which is also tink-agent's default ID).
func convertTask(tm map[string]any, lt legacyTask, seed string, i int) {
	if str(tm, "agentID") == "" {
		agent := lt.Worker
		if agent == "" {
			agent = str(tm, "worker")
		}
		tm["agentID"] = agent
	}
	delete(tm, "worker")
	if str(tm, "id") == "" {
		tm["id"] = deterministicID(seed, "task", fmt.Sprint(i))
	}
	actions, _ := tm["actions"].([]any)
	for j, a := range actions {
		am, ok := a.(map[string]any)
		if !ok {
			continue
		}
		var la legacyAction
		if j < len(lt.Actions) && lt.Actions[j].Name == str(am, "name") {
			la = lt.Actions[j]
		}
		convertAction(am, la, seed, i, j)
	}
	if actions == nil {
		tm["actions"] = []any{}
	}
}

func convertAction(am map[string]any, la legacyAction, seed string, i, j int) {
	if str(am, "id") == "" {
		am["id"] = deterministicID(seed, "task", fmt.Sprint(i), "action", fmt.Sprint(j))
	}
	if s := str(am, "state"); s != "" {
		am["state"] = renameState(s)
	} else if la.Status != "" {
		am["state"] = renameState(la.Status)
	}
	if str(am, "executionStart") == "" && la.StartedAt != "" {
		am["executionStart"] = la.StartedAt
	}
	if str(am, "executionDuration") == "" && la.Seconds != nil {
		am["executionDuration"] = (time.Duration(*la.Seconds) * time.Second).String()
	}
	if str(am, "executionStop") == "" && la.StartedAt != "" && la.Seconds != nil && isFinished(str(am, "state")) {
		if start, err := time.Parse(time.RFC3339, la.StartedAt); err == nil {
			am["executionStop"] = start.Add(time.Duration(*la.Seconds) * time.Second).UTC().Format(time.RFC3339)
		}
	}
	delete(am, "status")
	delete(am, "startedAt")
	delete(am, "seconds")
}

// currentStateFor builds status.currentState from the legacy status.currentAction (an action name).
func currentStateFor(tasks []any, actionName string) map[string]any {
	for _, t := range tasks {
		tm, _ := t.(map[string]any)
		actions, _ := tm["actions"].([]any)
		for _, a := range actions {
			am, _ := a.(map[string]any)
			if str(am, "name") != actionName {
				continue
			}
			cs := map[string]any{
				"actionName": actionName,
				"actionID":   str(am, "id"),
				"taskName":   str(tm, "name"),
				"taskID":     str(tm, "id"),
				"agentID":    str(tm, "agentID"),
			}
			if s := str(am, "state"); s != "" {
				cs["state"] = s
			}
			return cs
		}
	}
	return map[string]any{"actionName": actionName}
}

func firstAgentID(tasks []any) string {
	for _, t := range tasks {
		if tm, ok := t.(map[string]any); ok && str(tm, "agentID") != "" {
			return str(tm, "agentID")
		}
	}
	return ""
}

// renameState maps a legacy state name to the unified one; other values are returned unchanged.
func renameState(s string) string {
	return strings.TrimPrefix(s, legacyStatePrefix)
}

func isFinished(state string) bool {
	switch state {
	case stateSuccess, stateFailed, stateTimeout:
		return true
	}
	return false
}

// idSeed identifies the Workflow for deterministicID.
func idSeed(obj *unstructured.Unstructured) string {
	if uid := string(obj.GetUID()); uid != "" {
		return uid
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// crockford is the ULID alphabet.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// deterministicID returns a ULID-shaped ID (26 Crockford base32 characters, 128 bits) derived from parts, in
// place of the random ULIDs upstream generates for new tasks and actions.
func deterministicID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	n := new(big.Int).SetBytes(sum[:16])
	out := make([]byte, 26)
	mask := big.NewInt(31)
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = crockford[new(big.Int).And(n, mask).Int64()]
		n.Rsh(n, 5)
	}
	return string(out)
}
