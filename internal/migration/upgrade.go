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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

// The upgrade state machine. An upgrade is recorded in status.upgrade (from, to, phase) and moves through the
// phases of its plan in order; each phase has one action, and Decide chooses it from what the reconciler observed
// of the cluster for that phase. Everything here is pure: the reconciler observes, calls Begin and Decide, and
// acts; a restart resumes from status.upgrade and the cluster, never from memory.
//
//	Preflight ─▶ Suspend ─▶ PreMigrate ─▶ Uninstall ─▶ Install ─▶ PostMigrate ─▶ (complete)
//	             └── only with pre-upgrade steps ──┘  └ legacy ┘             └ only with post-upgrade steps
//
// The table test in upgrade_test.go covers every phase and transition.

// Change says what Begin did to the recorded upgrade.
type Change string

const (
	// Unchanged means no upgrade, or the recorded one goes on.
	Unchanged Change = "Unchanged"
	// Started means spec.version rose above the installed version; a new upgrade starts at Preflight.
	Started Change = "Started"
	// Superseded means spec.version moved to another newer version before the recorded upgrade completed; the new one
	// starts again at Preflight (every transform is idempotent, so steps that already ran are safe to repeat).
	Superseded Change = "Superseded"
	// Cancelled means spec.version went back to the installed version before anything changed the cluster (or a
	// downgrade is allowed); the upgrade is dropped.
	Cancelled Change = "Cancelled"
	// RevertRefused means spec.version went back to the installed version after migrations or the new release had
	// changed the cluster; the recorded upgrade stays until the user moves on or allows the downgrade.
	RevertRefused Change = "RevertRefused"
)

// Begin decides which upgrade a pass works on from the installed version (status.lastAppliedVersion), the desired
// one (spec.version) and the recorded upgrade, and returns the upgrade to record (nil when none runs).
func Begin(installed, desired string, recorded *kubetinkv1alpha1.UpgradeStatus, allowDowngrade bool, now metav1.Time) (*kubetinkv1alpha1.UpgradeStatus, Change) {
	upgrading := installed != "" && catalog.Compare(desired, installed) > 0
	switch {
	case upgrading && recorded != nil && recorded.ToVersion == desired && recorded.FromVersion == installed:
		return recorded, Unchanged
	case upgrading:
		change := Started
		if recorded != nil {
			change = Superseded
		}
		return &kubetinkv1alpha1.UpgradeStatus{
			FromVersion: installed, ToVersion: desired, Phase: kubetinkv1alpha1.UpgradePreflight, StartedAt: now,
		}, change
	case recorded == nil:
		return nil, Unchanged
	case !ChangedCluster(recorded.Phase) || allowDowngrade:
		return nil, Cancelled
	}
	return recorded, RevertRefused
}

// ChangedCluster reports whether an upgrade in phase p may already have changed the cluster: the pre-upgrade Job
// may have rewritten objects, the legacy release may be gone, the new release and CRDs may be applied. Before
// that (Preflight, Suspend) an upgrade can be dropped without a trace: applying the installed version again
// resumes its release.
func ChangedCluster(p kubetinkv1alpha1.UpgradePhase) bool {
	return p != kubetinkv1alpha1.UpgradePreflight && p != kubetinkv1alpha1.UpgradeSuspend
}

// UpgradePlan is what an upgrade has to do.
type UpgradePlan struct {
	// Steps are the migrations, PreUpgrade ones first (see Plan).
	Steps []Step
	// Reinstall is set when the legacy stack release is replaced by the unified chart.
	Reinstall bool
}

// NewUpgradePlan returns the plan of an upgrade from "from" to "to".
func NewUpgradePlan(from, to string) (UpgradePlan, error) {
	steps, err := Plan(from, to)
	if err != nil {
		return UpgradePlan{}, err
	}
	return UpgradePlan{Steps: steps, Reinstall: RequiresReinstall(from, to)}, nil
}

// Has reports whether the plan has steps of the given phase.
func (p UpgradePlan) Has(phase Phase) bool {
	return slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Phase == phase })
}

// Includes reports whether the plan runs the migration called name.
func (p UpgradePlan) Includes(name string) bool {
	return slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Name == name })
}

// Phases returns the phases the upgrade goes through, in order.
func (p UpgradePlan) Phases() []kubetinkv1alpha1.UpgradePhase {
	out := []kubetinkv1alpha1.UpgradePhase{kubetinkv1alpha1.UpgradePreflight}
	if p.Has(PreUpgrade) {
		out = append(out, kubetinkv1alpha1.UpgradeSuspend, kubetinkv1alpha1.UpgradePreMigrate)
	}
	if p.Reinstall {
		out = append(out, kubetinkv1alpha1.UpgradeUninstall)
	}
	out = append(out, kubetinkv1alpha1.UpgradeInstall)
	if p.Has(PostUpgrade) {
		out = append(out, kubetinkv1alpha1.UpgradePostMigrate)
	}
	return out
}

// next returns the phase after p, or "" when p is the last one (the upgrade completes).
func (p UpgradePlan) next(phase kubetinkv1alpha1.UpgradePhase) kubetinkv1alpha1.UpgradePhase {
	phases := p.Phases()
	if i := slices.Index(phases, phase); i >= 0 && i+1 < len(phases) {
		return phases[i+1]
	}
	return ""
}

// Observation is what the reconciler saw of the cluster for the current phase. Only the fields of that phase
// are read.
type Observation struct {
	// Refusals are objects no migration can carry to the new version (Preflight).
	Refusals []string
	// Blockers are running Workflows and BMC Jobs, or paused-not-yet Cluster API objects (Preflight).
	Blockers []string
	// Suspended says whether every release of the installed version is suspended or its automated sync paused;
	// Idle whether none is still busy with a reconciliation or sync that began before (Suspend).
	Suspended, Idle bool
	// Job is the state of the phase's migration Job; Outdated is set for a failed Job created for an earlier
	// generation or reconcile request of the Tinkerbell (PreMigrate, PostMigrate).
	Job      JobState
	Outdated bool
	// LegacyGone says whether the legacy stack release is uninstalled (Uninstall).
	LegacyGone bool
	// Ready says whether the new version is applied and ready (Install).
	Ready bool
}

// Action is the one thing a pass does for an upgrade in its current phase.
type Action string

const (
	// Proceed means the phase's work is done; go on with Decision.Phase in the same pass, or complete the upgrade
	// when it is empty.
	Proceed Action = "Proceed"
	// Wait means what the phase waits for is not done yet (blockers, a busy release, a running Job, an uninstall).
	Wait Action = "Wait"
	// Refuse means objects block the upgrade until the user changes them; stall.
	Refuse Action = "Refuse"
	// Suspend the installed version's releases.
	Suspend Action = "Suspend"
	// StartJob creates the phase's migration Job (and the account it runs as).
	StartJob Action = "StartJob"
	// RetryJob deletes a failed Job of an earlier generation or reconcile request, to run it again.
	RetryJob Action = "RetryJob"
	// Fail means the phase's Job failed for this generation; stall with its message, the installed version keeps
	// running.
	Fail Action = "Fail"
	// Uninstall deletes the legacy stack release.
	Uninstall Action = "Uninstall"
	// Install applies the new version and waits for it to be ready: the reconciler's apply steps.
	Install Action = "Install"
	// Complete records the migrations, removes the migration account's binding and clears status.upgrade.
	Complete Action = "Complete"
)

// Decision is the outcome of Decide.
type Decision struct {
	// Action is what to do.
	Action Action
	// Phase is the phase to record: the next one after Proceed ("" when the upgrade completes), else the current.
	Phase kubetinkv1alpha1.UpgradePhase
}

// Decide returns the action of an upgrade in phase p given what was observed for it.
func Decide(p kubetinkv1alpha1.UpgradePhase, plan UpgradePlan, o Observation) Decision {
	stay := func(a Action) Decision { return Decision{Action: a, Phase: p} }
	if !slices.Contains(plan.Phases(), p) {
		// A phase this plan does not have: written by another Kubetink version, whose registry differed. Start
		// over, which is safe: the suspended release stays as it is, and every transform is idempotent.
		return Decision{Action: Proceed, Phase: kubetinkv1alpha1.UpgradePreflight}
	}
	switch p {
	case kubetinkv1alpha1.UpgradePreflight:
		switch {
		case len(o.Refusals) > 0:
			return stay(Refuse)
		case len(o.Blockers) > 0:
			return stay(Wait)
		}
	case kubetinkv1alpha1.UpgradeSuspend:
		switch {
		case !o.Suspended:
			return stay(Suspend)
		case !o.Idle:
			return stay(Wait)
		}
	case kubetinkv1alpha1.UpgradePreMigrate, kubetinkv1alpha1.UpgradePostMigrate:
		switch o.Job {
		case JobNotStarted:
			return stay(StartJob)
		case JobRunning:
			return stay(Wait)
		case JobFailed:
			if o.Outdated {
				return stay(RetryJob)
			}
			return stay(Fail)
		}
	case kubetinkv1alpha1.UpgradeUninstall:
		if !o.LegacyGone {
			return stay(Uninstall)
		}
	case kubetinkv1alpha1.UpgradeInstall:
		if !o.Ready {
			return stay(Install)
		}
	}
	next := plan.next(p)
	if next == "" {
		return Decision{Action: Complete}
	}
	return Decision{Action: Proceed, Phase: next}
}
