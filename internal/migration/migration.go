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

// Package migration is the pure core of Kubetink's upgrade migrations: the registry of migrations between
// Tinkerbell releases, Plan(from, to), the idempotent transforms of unstructured objects, the preflight check,
// and the builders of the migration Job and its RBAC rules. It takes no client; the runner in
// internal/migration/runner applies the transforms to a cluster and "kubetink migrate" wraps that runner.
//
// Each migration runs in one phase. PreUpgrade migrations run while the from-release's CRDs are still installed;
// PostUpgrade migrations run once the to-release's CRDs are installed and its components are ready. The phase
// follows from how the apiserver treats fields the installed CRD does not declare: it prunes them on write and
// also on read. A field that a release renames (Workflow status.templateRending, status.tasks[].worker) is
// therefore readable only under the old CRD and writable only under the new one. Such migrations come in pairs: a
// PreUpgrade capture copies the old values into an annotation of the same object, and a PostUpgrade convert
// writes the new fields from that annotation and removes it. Annotations are metadata, which no CRD prunes.
package migration

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubetink/kubetink/internal/catalog"
)

// Phase says when a migration runs relative to the upgrade of the Tinkerbell release and its CRDs.
type Phase string

const (
	// PreUpgrade migrations run before the new release and its CRDs are applied.
	PreUpgrade Phase = "PreUpgrade"
	// PostUpgrade migrations run after the new release's CRDs are installed and its components are ready.
	PostUpgrade Phase = "PostUpgrade"
)

// Flag returns the value of "kubetink migrate --phase" that selects p: "pre" or "post".
func (p Phase) Flag() string {
	switch p {
	case PreUpgrade:
		return "pre"
	case PostUpgrade:
		return "post"
	}
	return string(p)
}

// ParsePhases turns a "--phase" value (pre, post or all) into the phases it selects, in execution order.
func ParsePhases(s string) ([]Phase, error) {
	switch s {
	case "pre":
		return []Phase{PreUpgrade}, nil
	case "post":
		return []Phase{PostUpgrade}, nil
	case "all", "":
		return []Phase{PreUpgrade, PostUpgrade}, nil
	}
	return nil, fmt.Errorf("unknown phase %q: want pre, post or all", s)
}

// Step is one migration of a plan, as the reconciler reports it.
type Step struct {
	// Name identifies the migration; it is also the value of the backups' kubetink.io/migration label.
	Name string
	// Phase says whether the step runs before or after the upgrade.
	Phase Phase
	// Description says in one sentence what the step changes.
	Description string
}

// Target is a kind of Tinkerbell object a migration reads or writes.
type Target struct {
	// Group, Version and Resource locate the objects on the apiserver.
	Group, Version, Resource string
	// Kind is the object kind, used in backups and reports.
	Kind string
}

// GVR returns the group, version and resource of t for a dynamic client.
func (t Target) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource}
}

// APIVersion returns the group/version of t as objects carry it.
func (t Target) APIVersion() string {
	return schema.GroupVersion{Group: t.Group, Version: t.Version}.String()
}

// CRDName returns the name of the CustomResourceDefinition that serves t.
func (t Target) CRDName() string {
	return t.Resource + "." + t.Group
}

// The Tinkerbell kinds migrations touch. All are namespaced v1alpha1 kinds.
var (
	// Workflows are tinkerbell.org Workflows.
	Workflows = Target{Group: "tinkerbell.org", Version: "v1alpha1", Resource: "workflows", Kind: "Workflow"}
	// Templates are tinkerbell.org Templates.
	Templates = Target{Group: "tinkerbell.org", Version: "v1alpha1", Resource: "templates", Kind: "Template"}
	// Hardware are tinkerbell.org Hardware objects.
	Hardware = Target{Group: "tinkerbell.org", Version: "v1alpha1", Resource: "hardware", Kind: "Hardware"}
	// WorkflowData is the tinkerbell.org kind removed in tink v0.9.0 (charts <= 0.4.2 still installed its CRD).
	WorkflowData = Target{Group: "tinkerbell.org", Version: "v1alpha1", Resource: "workflowdata", Kind: "WorkflowData"}
	// BMCJobs are Rufio's bmc.tinkerbell.org Jobs.
	BMCJobs = Target{Group: "bmc.tinkerbell.org", Version: "v1alpha1", Resource: "jobs", Kind: "Job"}
	// BMCTasks are Rufio's bmc.tinkerbell.org Tasks, one per step of a Job, created by Rufio from the Job.
	BMCTasks = Target{Group: "bmc.tinkerbell.org", Version: "v1alpha1", Resource: "tasks", Kind: "Task"}
	// BMCMachines are Rufio's bmc.tinkerbell.org Machines.
	BMCMachines = Target{Group: "bmc.tinkerbell.org", Version: "v1alpha1", Resource: "machines", Kind: "Machine"}
	// BaseboardManagements are the pre-release Rufio kind that Machine replaced (installed by EKS Anywhere).
	BaseboardManagements = Target{Group: "bmc.tinkerbell.org", Version: "v1alpha1", Resource: "baseboardmanagements", Kind: "BaseboardManagement"}
)

// ObsoleteTargets returns the kinds whose CRDs no release installs any more: the Obsolete of every registered
// migration, in registry order, each once. Their CRDs are reported while installed, never deleted.
func ObsoleteTargets() []Target {
	var out []Target
	for _, m := range All() {
		for _, t := range m.Obsolete {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// Targets returns every kind a migration may read or write, for RBAC and restores.
func Targets() []Target {
	return []Target{Workflows, Templates, Hardware, WorkflowData, BMCJobs, BMCTasks, BMCMachines, BaseboardManagements}
}

// Env is what a transform may depend on besides the object.
type Env struct {
	// From and To are the versions of the upgrade.
	From, To string
	// Hosts are Tinkerbell's own addresses (the public IP and any extra host names, see NormalizeHost). Only
	// URLs on these hosts follow the port and path moves; host names match in any case.
	Hosts []string
	// ArtifactsFileServer is the URL of the to-release's HookOS artifacts file server (spec.artifactsFileServer,
	// see ValidateArtifactsFileServer), or "" when unknown. URLs of the legacy stack's Hook file server move to
	// it; without it they are left as they are and reported.
	ArtifactsFileServer string
}

// TransformFunc changes obj in place and reports whether it changed anything. It must be idempotent: applying it
// to its own result changes nothing.
type TransformFunc func(obj *unstructured.Unstructured, env Env) (bool, error)

// Rewrite changes the objects of one kind in place.
type Rewrite struct {
	// Target is the kind rewritten.
	Target Target
	// RequiredFields are status or spec fields (dotted paths, "[]" for list items) that the installed CRD must
	// declare before the rewrite writes, because the apiserver silently prunes undeclared fields.
	RequiredFields []string
	// Transform changes one object.
	Transform TransformFunc
	// Report, when set, returns notes on what Transform leaves in obj although the upgrade breaks it (say, a URL
	// it has no target for). The runner lists them in the migration's summary, after the object's kind and key.
	Report ReportFunc
}

// ReportFunc returns notes on obj for the migration's summary; nil when there is nothing to say.
type ReportFunc func(obj *unstructured.Unstructured, env Env) []string

// Creation derives new objects from existing ones, e.g. a Machine from each BaseboardManagement. Existing objects
// of the result kind are never overwritten.
type Creation struct {
	// Source is the kind the new objects are derived from.
	Source Target
	// Result is the kind created.
	Result Target
	// Derive returns the object to create for src.
	Derive func(src *unstructured.Unstructured) (*unstructured.Unstructured, error)
}

// Migration is one entry of the registry. It applies to an upgrade when the upgrade crosses the release that
// introduced the change: from < Crossing <= to.
type Migration struct {
	// Name identifies the migration in plans, reports and backup labels.
	Name string
	// Phase is when the migration runs.
	Phase Phase
	// Description says in one sentence what the migration changes.
	Description string
	// Crossing is the first release with the new shape.
	Crossing string
	// NeedsHosts marks migrations that only rewrite URLs on Tinkerbell's own address (Env.Hosts).
	NeedsHosts bool
	// Reinstall marks the replacement of the legacy stack release by the unified chart. The reconciler does the
	// work (suspend and delete the old HelmRelease, take over the CRDs, install the new release); the migration
	// itself only reports obsolete CRDs.
	Reinstall bool
	// Obsolete are kinds whose CRDs no release installs any more. They are reported, never deleted.
	Obsolete []Target
	// Create runs before Rewrites.
	Create *Creation
	// Rewrites change objects in place, in order.
	Rewrites []Rewrite
}

// Step returns the plan step of m.
func (m Migration) Step() Step {
	return Step{Name: m.Name, Phase: m.Phase, Description: m.Description}
}

// applies reports whether m belongs to the plan of an upgrade from "from" to "to".
func (m Migration) applies(from, to string) bool {
	return crosses(from, to, m.Crossing)
}

// Get returns the registered migration called name.
func Get(name string) (Migration, bool) {
	for _, m := range registry {
		if m.Name == name {
			return m, true
		}
	}
	return Migration{}, false
}

// All returns every registered migration in registry order.
func All() []Migration {
	return slices.Clone(registry)
}

// Migrations returns the migrations of an upgrade from "from" to "to": PreUpgrade ones first, each phase in
// registry order. It returns none for a fresh install (from is empty) or when the versions are equal, and an
// error for a downgrade, an unknown version form, or a legacy stack upgraded to a unified release older than
// MinimumLegacyTarget.
func Migrations(from, to string) ([]Migration, error) {
	if err := validateVersion(to); err != nil {
		return nil, err
	}
	if from == "" {
		return nil, nil
	}
	if err := validateVersion(from); err != nil {
		return nil, err
	}
	switch c := catalog.Compare(from, to); {
	case c > 0:
		return nil, fmt.Errorf("downgrade from %s to %s is not supported", from, to)
	case c == 0:
		return nil, nil
	}
	if IsLegacy(from) && !IsLegacy(to) && catalog.Compare(to, MinimumLegacyTarget) < 0 {
		return nil, fmt.Errorf("the legacy stack %s can only be upgraded to %s or later, not %s", from, MinimumLegacyTarget, to)
	}
	var out []Migration
	for _, phase := range []Phase{PreUpgrade, PostUpgrade} {
		for _, m := range registry {
			if m.Phase == phase && m.applies(from, to) {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// Plan returns the ordered steps of an upgrade from "from" to "to" (see Migrations for the rules).
func Plan(from, to string) ([]Step, error) {
	ms, err := Migrations(from, to)
	if err != nil {
		return nil, err
	}
	steps := make([]Step, 0, len(ms))
	for _, m := range ms {
		steps = append(steps, m.Step())
	}
	return steps, nil
}

// RequiresReinstall reports whether the upgrade replaces the legacy stack release with the unified chart, which
// is an uninstall and a new install rather than a Helm upgrade.
func RequiresReinstall(from, to string) bool {
	if from == "" || validateVersion(from) != nil || validateVersion(to) != nil {
		return false
	}
	return IsLegacy(from) && !IsLegacy(to)
}
