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
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

const (
	preflight   = kubetinkv1alpha1.UpgradePreflight
	suspend     = kubetinkv1alpha1.UpgradeSuspend
	preMigrate  = kubetinkv1alpha1.UpgradePreMigrate
	uninstall   = kubetinkv1alpha1.UpgradeUninstall
	install     = kubetinkv1alpha1.UpgradeInstall
	postMigrate = kubetinkv1alpha1.UpgradePostMigrate
)

func TestBegin(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	earlier := metav1.NewTime(now.Add(-time.Hour))
	recorded := func(from, to string, p kubetinkv1alpha1.UpgradePhase) *kubetinkv1alpha1.UpgradeStatus {
		return &kubetinkv1alpha1.UpgradeStatus{FromVersion: from, ToVersion: to, Phase: p, StartedAt: earlier}
	}
	started := func(from, to string) *kubetinkv1alpha1.UpgradeStatus {
		return &kubetinkv1alpha1.UpgradeStatus{FromVersion: from, ToVersion: to, Phase: preflight, StartedAt: now}
	}
	for _, tc := range []struct {
		name               string
		installed, desired string
		recorded           *kubetinkv1alpha1.UpgradeStatus
		allowDowngrade     bool
		want               *kubetinkv1alpha1.UpgradeStatus
		change             Change
	}{
		{name: "fresh install", desired: "v0.25.0", change: Unchanged},
		{name: "installed version", installed: "v0.25.0", desired: "v0.25.0", change: Unchanged},
		{name: "allowed downgrade runs no upgrade", installed: "v0.25.0", desired: "v0.24.0", allowDowngrade: true, change: Unchanged},
		{name: "a newer version starts at Preflight", installed: "v0.21.0", desired: "v0.25.0",
			want: started("v0.21.0", "v0.25.0"), change: Started},
		{name: "the recorded upgrade goes on", installed: "v0.21.0", desired: "v0.25.0", recorded: recorded("v0.21.0", "v0.25.0", postMigrate),
			want: recorded("v0.21.0", "v0.25.0", postMigrate), change: Unchanged},
		{name: "another target supersedes it", installed: "v0.21.0", desired: "v0.25.0", recorded: recorded("v0.21.0", "v0.24.0", install),
			want: started("v0.21.0", "v0.25.0"), change: Superseded},
		{name: "a recorded upgrade from another installed version is superseded", installed: "v0.22.1", desired: "v0.25.0",
			recorded: recorded("v0.21.0", "v0.25.0", postMigrate), want: started("v0.22.1", "v0.25.0"), change: Superseded},
		{name: "revert during Preflight cancels", installed: "v0.21.0", desired: "v0.21.0", recorded: recorded("v0.21.0", "v0.25.0", preflight),
			change: Cancelled},
		{name: "revert during Suspend cancels", installed: "v0.21.0", desired: "v0.21.0", recorded: recorded("v0.21.0", "v0.25.0", suspend),
			change: Cancelled},
		{name: "revert after the pre-upgrade Job started is refused", installed: "v0.21.0", desired: "v0.21.0",
			recorded: recorded("v0.21.0", "v0.25.0", preMigrate), want: recorded("v0.21.0", "v0.25.0", preMigrate), change: RevertRefused},
		{name: "revert during Install is refused", installed: "v0.21.0", desired: "v0.21.0",
			recorded: recorded("v0.21.0", "v0.25.0", install), want: recorded("v0.21.0", "v0.25.0", install), change: RevertRefused},
		{name: "revert during Install with allowDowngrade cancels", installed: "v0.21.0", desired: "v0.21.0", allowDowngrade: true,
			recorded: recorded("v0.21.0", "v0.25.0", install), change: Cancelled},
		{name: "lower than installed during PostMigrate is refused", installed: "v0.21.0", desired: "v0.20.0",
			recorded: recorded("v0.21.0", "v0.25.0", postMigrate), want: recorded("v0.21.0", "v0.25.0", postMigrate), change: RevertRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, change := Begin(tc.installed, tc.desired, tc.recorded, tc.allowDowngrade, now)
			if change != tc.change {
				t.Errorf("change = %s, want %s", change, tc.change)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("recorded upgrade (-want +got):\n%s", d)
			}
		})
	}
}

func TestUpgradePlanPhases(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     []kubetinkv1alpha1.UpgradePhase
	}{
		// No migration crosses v0.25.0: only the preflight and the install.
		{"v0.24.0", "v0.25.0", []kubetinkv1alpha1.UpgradePhase{preflight, install}},
		// v0.20.0 saves Workflow status.templateRending before its CRD prunes it, and writes it back after.
		{"v0.19.3", "v0.20.0", []kubetinkv1alpha1.UpgradePhase{preflight, suspend, preMigrate, install, postMigrate}},
		// The legacy stack is uninstalled between the pre-upgrade Job and the unified install.
		{"0.6.2", "v0.25.0", []kubetinkv1alpha1.UpgradePhase{preflight, suspend, preMigrate, uninstall, install, postMigrate}},
	} {
		plan, err := NewUpgradePlan(tc.from, tc.to)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, plan.Phases()); d != "" {
			t.Errorf("%s → %s phases (-want +got):\n%s", tc.from, tc.to, d)
		}
	}
}

// TestDecide covers every phase with every observation that matters to it, and every transition.
func TestDecide(t *testing.T) {
	full, err := NewUpgradePlan("0.6.2", "v0.25.0") // every phase
	if err != nil {
		t.Fatal(err)
	}
	installOnly, err := NewUpgradePlan("v0.24.0", "v0.25.0")
	if err != nil {
		t.Fatal(err)
	}
	noReinstall, err := NewUpgradePlan("v0.19.3", "v0.20.0")
	if err != nil {
		t.Fatal(err)
	}
	done := Observation{Suspended: true, Idle: true, Job: JobSucceeded, LegacyGone: true, Ready: true}
	for _, tc := range []struct {
		name  string
		phase kubetinkv1alpha1.UpgradePhase
		plan  UpgradePlan
		obs   Observation
		want  Decision
	}{
		// Preflight
		{"preflight refuses objects no migration carries", preflight, full,
			Observation{Refusals: []string{"Workflow a/b"}, Blockers: []string{"Workflow a/c"}}, Decision{Refuse, preflight}},
		{"preflight waits for running objects", preflight, full, Observation{Blockers: []string{"Workflow a/c"}}, Decision{Wait, preflight}},
		{"preflight passes to Suspend", preflight, full, Observation{}, Decision{Proceed, suspend}},
		{"preflight passes to Install without pre-upgrade steps", preflight, installOnly, Observation{}, Decision{Proceed, install}},
		// Suspend
		{"suspend the running release", suspend, full, Observation{}, Decision{Suspend, suspend}},
		{"wait for the suspended release to be idle", suspend, full, Observation{Suspended: true}, Decision{Wait, suspend}},
		{"an idle suspended release passes to PreMigrate", suspend, full, Observation{Suspended: true, Idle: true}, Decision{Proceed, preMigrate}},
		// PreMigrate
		{"start the pre-upgrade Job", preMigrate, full, Observation{Job: JobNotStarted}, Decision{StartJob, preMigrate}},
		{"wait for the pre-upgrade Job", preMigrate, full, Observation{Job: JobRunning}, Decision{Wait, preMigrate}},
		{"a failed pre-upgrade Job stalls", preMigrate, full, Observation{Job: JobFailed}, Decision{Fail, preMigrate}},
		{"a failed pre-upgrade Job of an earlier generation is retried", preMigrate, full,
			Observation{Job: JobFailed, Outdated: true}, Decision{RetryJob, preMigrate}},
		{"the legacy stack is uninstalled after the pre-upgrade Job", preMigrate, full, Observation{Job: JobSucceeded}, Decision{Proceed, uninstall}},
		{"a unified upgrade installs after the pre-upgrade Job", preMigrate, noReinstall, Observation{Job: JobSucceeded}, Decision{Proceed, install}},
		// Uninstall
		{"uninstall the legacy release", uninstall, full, Observation{}, Decision{Uninstall, uninstall}},
		{"the legacy release gone passes to Install", uninstall, full, Observation{LegacyGone: true}, Decision{Proceed, install}},
		// Install
		{"install and wait for readiness", install, full, Observation{}, Decision{Install, install}},
		{"ready passes to PostMigrate", install, full, Observation{Ready: true}, Decision{Proceed, postMigrate}},
		{"ready completes an upgrade without post-upgrade steps", install, installOnly, Observation{Ready: true}, Decision{Complete, ""}},
		// PostMigrate
		{"start the post-upgrade Job", postMigrate, full, Observation{Job: JobNotStarted}, Decision{StartJob, postMigrate}},
		{"wait for the post-upgrade Job", postMigrate, full, Observation{Job: JobRunning}, Decision{Wait, postMigrate}},
		{"a failed post-upgrade Job stalls", postMigrate, full, Observation{Job: JobFailed}, Decision{Fail, postMigrate}},
		{"a failed post-upgrade Job of an earlier generation is retried", postMigrate, full,
			Observation{Job: JobFailed, Outdated: true}, Decision{RetryJob, postMigrate}},
		{"the post-upgrade Job completes the upgrade", postMigrate, full, Observation{Job: JobSucceeded}, Decision{Complete, ""}},
		// Phases the plan does not have (recorded by a Kubetink whose registry differed) start over.
		{"a phase outside the plan starts over", suspend, installOnly, done, Decision{Proceed, preflight}},
		{"an unknown phase starts over", "Verify", full, done, Decision{Proceed, preflight}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.phase, tc.plan, tc.obs); got != tc.want {
				t.Errorf("Decide(%s) = %+v, want %+v", tc.phase, got, tc.want)
			}
		})
	}
}

// TestDecideWalksEveryPlan follows each catalog upgrade path with every observation done: the phases visited
// are exactly the plan's, in order, and the walk completes.
func TestDecideWalksEveryPlan(t *testing.T) {
	done := Observation{Suspended: true, Idle: true, Job: JobSucceeded, LegacyGone: true, Ready: true}
	for _, path := range [][2]string{{"0.6.2", "v0.19.0"}, {"0.6.2", "v0.25.0"}, {"v0.19.0", "v0.25.0"}, {"v0.21.0", "v0.25.0"}, {"v0.24.0", "v0.25.0"}} {
		plan, err := NewUpgradePlan(path[0], path[1])
		if err != nil {
			t.Fatal(err)
		}
		var visited []kubetinkv1alpha1.UpgradePhase
		phase := preflight
		for range 10 {
			visited = append(visited, phase)
			d := Decide(phase, plan, done)
			if d.Action == Complete {
				break
			}
			if d.Action != Proceed {
				t.Fatalf("%s → %s: %s with everything done: %+v", path[0], path[1], phase, d)
			}
			phase = d.Phase
		}
		if d := cmp.Diff(plan.Phases(), visited); d != "" {
			t.Errorf("%s → %s visited (-plan +visited):\n%s", path[0], path[1], d)
		}
	}
}
