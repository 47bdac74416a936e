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
	"slices"

	"github.com/kubetink/kubetink/internal/catalog"
)

// Names of the registered migrations.
const (
	// StackReinstall replaces the legacy stack release with the unified chart (done by the reconciler).
	StackReinstall = "stack-reinstall"
	// WorkflowStatusCapture saves the legacy Workflow status fields before the new CRD prunes them.
	WorkflowStatusCapture = "workflow-status-capture"
	// WorkflowStatusConvert writes the v0.19 Workflow status shape from the saved legacy fields.
	WorkflowStatusConvert = "workflow-status-convert"
	// TemplateRenderingCapture saves status.templateRending before the v0.20 CRD prunes it.
	TemplateRenderingCapture = "template-rendering-capture"
	// TemplateRenderingConvert writes status.templateRendering from the saved value.
	TemplateRenderingConvert = "template-rendering-convert"
	// BMCJobMachineRef reduces Rufio Job spec.machineRef to {name, namespace}.
	BMCJobMachineRef = "bmc-job-machineref"
	// BaseboardManagementToMachine creates a Rufio Machine for each pre-release BaseboardManagement.
	BaseboardManagementToMachine = "baseboardmanagement-to-machine"
	// TinkerbellPortsV0182 moves URLs on Tinkerbell's address from Hegel's port to Tootles' of v0.18.2.
	TinkerbellPortsV0182 = "tinkerbell-ports-v0.18.2"
	// TinkerbellIPXEPathsV0220 moves iPXE script and binary URLs on Tinkerbell's address to Smee's v0.22.0 paths.
	TinkerbellIPXEPathsV0220 = "tinkerbell-ipxe-paths-v0.22.0"
	// TinkerbellPortsV0230 moves URLs on Tinkerbell's address to the single v0.23.0 HTTP port and its HTTPS port.
	TinkerbellPortsV0230 = "tinkerbell-ports-v0.23.0"
	// HookArtifactsFileServer points URLs of the legacy stack's Hook file server at the artifacts file server.
	HookArtifactsFileServer = "hook-artifacts-file-server"
	// TinkAgentImage replaces the tink-worker image with tink-agent.
	TinkAgentImage = "tink-agent-image"
)

// registry lists every migration. Within a phase, the order here is the execution order. The URL moves run
// oldest release first, each on what the one before left: the v0.18.2 port move maps 50061 to 7172, the v0.22.0
// path move rewrites http://<host>:7171/auto.ipxe to /ipxe/script/auto.ipxe, and the v0.23.0 port move then maps
// 7171 and 7172 to 7080. The legacy Hook URLs move last, so the artifacts file server URL they get is final.
var registry = []Migration{
	{
		Name:        StackReinstall,
		Phase:       PreUpgrade,
		Description: "Replace the legacy stack release with the unified tinkerbell chart, keeping every CRD and object; the reconciler uninstalls the old release and installs the new one, this step reports obsolete CRDs.",
		Crossing:    FirstUnifiedVersion,
		Reinstall:   true,
		Obsolete:    []Target{WorkflowData},
	},
	{
		Name:        WorkflowStatusCapture,
		Phase:       PreUpgrade,
		Description: "Save the legacy Workflow status fields (STATE_* states, tasks[].worker, actions[].status/startedAt/seconds, currentAction) in an annotation while the old CRD can still read them.",
		Crossing:    MinimumLegacyTarget,
		Rewrites:    []Rewrite{{Target: Workflows, Transform: CaptureWorkflowStatus}},
	},
	{
		Name:        TemplateRenderingCapture,
		Phase:       PreUpgrade,
		Description: "Save Workflow status.templateRending in an annotation before the v0.20 CRD prunes it.",
		Crossing:    "v0.20.0",
		Rewrites:    []Rewrite{{Target: Workflows, Transform: CaptureTemplateRendering}},
	},
	{
		Name:        BMCJobMachineRef,
		Phase:       PreUpgrade,
		Description: "Reduce Rufio Job spec.machineRef from a full object reference to {name, namespace}, defaulting the namespace to the Job's.",
		Crossing:    FirstUnifiedVersion,
		Rewrites:    []Rewrite{{Target: BMCJobs, Transform: ConvertMachineRef}},
	},
	{
		Name:        WorkflowStatusConvert,
		Phase:       PostUpgrade,
		Description: "Write the v0.19 Workflow status (new state names, tasks[].agentID and id, actions[].state, execution times, currentState) from the saved legacy fields; reset STATE_PENDING Workflows as upstream documents.",
		Crossing:    MinimumLegacyTarget,
		Rewrites: []Rewrite{{
			Target:         Workflows,
			RequiredFields: []string{"status.agentID", "status.tasks[].agentID", "status.tasks[].actions[].state", "status.currentState.agentID"},
			Transform:      ConvertWorkflowStatus,
		}},
	},
	{
		Name:        TemplateRenderingConvert,
		Phase:       PostUpgrade,
		Description: "Write Workflow status.templateRendering from the value saved before the upgrade.",
		Crossing:    "v0.20.0",
		Rewrites: []Rewrite{{
			Target:         Workflows,
			RequiredFields: []string{"status.templateRendering"},
			Transform:      ConvertTemplateRendering,
		}},
	},
	{
		Name:        BaseboardManagementToMachine,
		Phase:       PostUpgrade,
		Description: "Create a Rufio Machine for each pre-release BaseboardManagement and point Hardware spec.bmcRef at it, as EKS Anywhere does; the BaseboardManagement objects and CRD stay and are reported as obsolete.",
		Crossing:    FirstUnifiedVersion,
		Obsolete:    []Target{BaseboardManagements},
		Create:      &Creation{Source: BaseboardManagements, Result: BMCMachines, Derive: MachineFromBaseboardManagement},
		Rewrites:    []Rewrite{{Target: Hardware, Transform: RetargetBMCRef}},
	},
	{
		Name:        TinkerbellPortsV0182,
		Phase:       PostUpgrade,
		Description: "Move URLs on Tinkerbell's own address in Templates, Hardware, Workflows and BMC Jobs and Tasks from the Hegel port 50061 to Tootles' 7172.",
		Crossing:    "v0.18.2",
		NeedsHosts:  true,
		Rewrites:    urlRewrites(rewritePorts(portsV0182), nil),
	},
	{
		Name:        TinkerbellIPXEPathsV0220,
		Phase:       PostUpgrade,
		Description: "Move iPXE URLs on Smee's HTTP port of Tinkerbell's own address in Templates, Hardware, Workflows and BMC Jobs and Tasks to the v0.22.0 paths: scripts from /auto.ipxe and /<mac>/auto.ipxe to /ipxe/script/…, binaries from /ipxe/… to /ipxe/binary/….",
		Crossing:    "v0.22.0",
		NeedsHosts:  true,
		Rewrites:    urlRewrites(RewriteIPXEPathsV0220, nil),
	},
	{
		Name:        TinkerbellPortsV0230,
		Phase:       PostUpgrade,
		Description: "Move URLs on Tinkerbell's own address in Templates, Hardware, Workflows and BMC Jobs and Tasks from Smee's 7171 and Tootles' 7172 (or Hegel's 50061) to the shared HTTP port 7080, and https URLs from 7272 to 7443 (iPXE over HTTPS, which v0.23.0 no longer serves, is left and listed).",
		Crossing:    "v0.23.0",
		NeedsHosts:  true,
		Rewrites:    urlRewrites(rewritePorts(portsV0230), reportUnservedPorts(portsV0230)),
	},
	{
		Name:        HookArtifactsFileServer,
		Phase:       PostUpgrade,
		Description: "Point URLs of the legacy stack's Hook file server (port 8080 on Tinkerbell's own address) in Templates, Hardware, Workflows and BMC Jobs and Tasks at the artifacts file server; without one they are left as they are and listed.",
		Crossing:    FirstUnifiedVersion,
		NeedsHosts:  true,
		Rewrites:    urlRewrites(RewriteLegacyArtifactURLs, ReportLegacyArtifactURLs),
	},
	{
		Name:        TinkAgentImage,
		Phase:       PostUpgrade,
		Description: "Replace the quay.io/tinkerbell/tink-worker image in Templates and Hardware with ghcr.io/tinkerbell/tink-agent at the target version.",
		Crossing:    FirstUnifiedVersion,
		Rewrites: []Rewrite{
			{Target: Templates, Transform: RewriteTinkWorkerImage},
			{Target: Hardware, Transform: RewriteTinkWorkerImage},
		},
	},
}

// urlTargets are the kinds whose specs hold URLs of Tinkerbell's services: Templates (actions' environment),
// Hardware (netboot iPXE and OSIE URLs, user data), Workflows (spec.bootOptions.isoURL and the customboot virtual
// media actions), BMC Jobs (spec.tasks[].virtualMediaAction.mediaURL) and Tasks
// (spec.task.virtualMediaAction.mediaURL). The field paths are those of the CRDs of the stack 0.6.2 and of every
// unified release from v0.17.0 to v0.25.0; the Workflow customboot actions exist from v0.19.0.
var urlTargets = []Target{Templates, Hardware, Workflows, BMCJobs, BMCTasks}

// urlRewrites returns one Rewrite of every kind of urlTargets.
func urlRewrites(transform TransformFunc, report ReportFunc) []Rewrite {
	out := make([]Rewrite, 0, len(urlTargets))
	for _, t := range urlTargets {
		out = append(out, Rewrite{Target: t, Transform: transform, Report: report})
	}
	return out
}

// CRDBoundaries returns, oldest first, the releases whose CRDs drop or reshape fields that older releases write:
// the Crossing of every pre-upgrade migration, which exists to save or convert objects before the new CRDs
// prune them. Between two boundaries the CRDs only gain fields.
func CRDBoundaries() []string {
	var out []string
	for _, m := range registry {
		if m.Phase == PreUpgrade && !slices.Contains(out, m.Crossing) {
			out = append(out, m.Crossing)
		}
	}
	slices.SortFunc(out, catalog.Compare)
	return out
}
