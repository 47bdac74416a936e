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

package controller

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/inventory"
	"github.com/kubetink/kubetink/internal/metrics"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/render"
)

const (
	// migrationClusterRole is the ClusterRole (config/rbac/migration_role.yaml) holding migration.RBACRules().
	migrationClusterRole = "kubetink-migration"
	// migrationCRDsClusterRole is the ClusterRole holding migration.CRDRBACRules(): the Job's one cluster-scoped
	// read.
	migrationCRDsClusterRole = "kubetink-migration-crds"
	// generationAnnotation and requestAnnotation record on a migration Job the Tinkerbell generation and
	// reconcile request it was created for; a failed Job is retried only when either moves on.
	generationAnnotation = "kubetink.io/tinkerbell-generation"
	requestAnnotation    = "kubetink.io/reconcile-request"
)

// upgrade is the upgrade in progress (status.upgrade) with its plan.
type upgrade struct {
	from, to string
	plan     migration.UpgradePlan
}

func (u *upgrade) names(phase migration.Phase) string {
	var names []string
	for _, s := range u.plan.Steps {
		if s.Phase == phase {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, ", ")
}

// observed is what a pass saw for the current phase of an upgrade: the state machine's input, and what the
// action and its messages need besides.
type observed struct {
	migration.Observation
	// job is the phase's migration Job and jobMessage its failure (PreMigrate, PostMigrate).
	job        *batchv1.Job
	jobMessage string
	// busy names the chart installers the Suspend phase still waits for.
	busy []string
}

// beginUpgrade decides which upgrade this pass works on (migration.Begin) and takes it through the phases before
// the new version is applied: Preflight, Suspend, PreMigrate and Uninstall. It returns nil, and the apply steps
// run, when no upgrade is in progress or it has reached Install.
func (r *TinkerbellReconciler) beginUpgrade(ctx context.Context, s *scope) error {
	installed, desired := s.obj.Status.LastAppliedVersion, s.obj.Spec.Version
	var recorded *kubetinkv1alpha1.UpgradeStatus
	if s.obj.Status.Upgrade.Phase != "" {
		recorded = s.obj.Status.Upgrade.DeepCopy()
	}
	st, change := migration.Begin(installed, desired, recorded, s.obj.AllowDowngrade(), metav1.Now())
	switch change {
	case migration.Cancelled, migration.Superseded:
		// No Job of the recorded upgrade may go on with the migration account's rights: the upgrade it belongs to
		// is abandoned, or starts over from Preflight.
		if err := r.deleteMigrationBindings(ctx, s.obj); err != nil {
			return err
		}
	}
	switch change {
	case migration.Cancelled:
		conditions.Delete(s.obj, kubetinkv1alpha1.MigratedCondition)
		r.event(s.obj, "UpgradeCancelled", "upgrade from %s to %s cancelled in phase %s: spec.version is %s",
			recorded.FromVersion, recorded.ToVersion, recorded.Phase, desired)
	case migration.RevertRefused:
		msg := fmt.Sprintf("spec.version %s goes back from the upgrade to %s, which is in phase %s and may have changed objects already; set spec.version to %s to finish it, or set spec.upgrade.allowDowngrade to return to %s anyway",
			desired, recorded.ToVersion, recorded.Phase, recorded.ToVersion, installed)
		conditions.MarkFalse(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.UpgradeRefusedReason, "%s", msg)
		return stalled(kubetinkv1alpha1.UpgradeRefusedReason, "%s", msg)
	}
	if st == nil {
		s.obj.Status.Upgrade = kubetinkv1alpha1.UpgradeStatus{}
		return nil
	}
	s.obj.Status.Upgrade = *st
	plan, err := migration.NewUpgradePlan(st.FromVersion, st.ToVersion)
	if err != nil {
		return stalled(kubetinkv1alpha1.MigrationFailedReason, "cannot upgrade from %s to %s: %s", st.FromVersion, st.ToVersion, err)
	}
	s.upgrade = &upgrade{from: st.FromVersion, to: st.ToVersion, plan: plan}
	if change == migration.Started || change == migration.Superseded {
		r.event(s.obj, "UpgradeStarted", "upgrading from %s to %s; migrations: %s", st.FromVersion, st.ToVersion, stepNames(plan.Steps))
		r.inProgress(s)
	}
	return r.advanceUpgrade(ctx, s, false)
}

// completeUpgrade runs once the applied objects are ready. It reports obsolete CRDs when an install or upgrade
// completes in this pass, and takes an upgrade through its last phases: Install (done: the new version is
// ready) and PostMigrate.
func (r *TinkerbellReconciler) completeUpgrade(ctx context.Context, s *scope) error {
	if s.obj.Status.LastAppliedVersion != s.obj.Spec.Version {
		obsolete, err := r.obsoleteCRDs(ctx)
		if err != nil {
			return err
		}
		if len(obsolete) > 0 && !slices.Equal(obsolete, s.obj.Status.ObsoleteCRDs) {
			r.event(s.obj, "ObsoleteCRDs",
				"CRDs %s are no longer used by Tinkerbell %s; Kubetink never deletes them", strings.Join(obsolete, ", "), s.obj.Spec.Version)
		}
		s.obj.Status.ObsoleteCRDs = obsolete
	}
	if s.upgrade == nil {
		return nil
	}
	return r.advanceUpgrade(ctx, s, true)
}

// advanceUpgrade runs the state machine: observe the current phase, let migration.Decide choose its action, and
// either go on to the next phase in the same pass (nothing to do) or take the action, which ends the pass unless
// it completes the upgrade. Before the new version is ready (ready false) it stops at Install, where the apply
// steps take over.
func (r *TinkerbellReconciler) advanceUpgrade(ctx context.Context, s *scope, ready bool) error {
	st := &s.obj.Status.Upgrade
	for range len(s.upgrade.plan.Phases()) + 1 {
		if !ready && (st.Phase == kubetinkv1alpha1.UpgradeInstall || st.Phase == kubetinkv1alpha1.UpgradePostMigrate) {
			return nil
		}
		o, err := r.observe(ctx, s, st.Phase, ready)
		if err != nil {
			return err
		}
		d := migration.Decide(st.Phase, s.upgrade.plan, o.Observation)
		if d.Action != migration.Proceed {
			return r.act(ctx, s, d.Action, o)
		}
		if o.job != nil {
			// The phase's Job succeeded: its account needs its bindings no more.
			if err := r.deleteMigrationBindings(ctx, s.obj); err != nil {
				return err
			}
		}
		st.Phase = d.Phase
		r.inProgress(s)
	}
	return fmt.Errorf("the upgrade from %s to %s did not settle in a phase", st.FromVersion, st.ToVersion)
}

// inProgress says on the Migrated condition which phase the upgrade is in; the phase's action may say more.
func (r *TinkerbellReconciler) inProgress(s *scope) {
	st := &s.obj.Status.Upgrade
	if st.Phase == "" {
		return // completing
	}
	conditions.MarkFalse(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationInProgressReason,
		"upgrading from %s to %s (phase %s); migrations: %s", st.FromVersion, st.ToVersion, st.Phase, stepNames(s.upgrade.plan.Steps))
}

// observe reads what the state machine needs to decide the action of phase p, and only that.
func (r *TinkerbellReconciler) observe(ctx context.Context, s *scope, p kubetinkv1alpha1.UpgradePhase, ready bool) (observed, error) {
	var o observed
	var err error
	switch p {
	case kubetinkv1alpha1.UpgradePreflight:
		o.Blockers, o.Refusals, err = r.preflight(ctx, s)
	case kubetinkv1alpha1.UpgradeSuspend:
		o.Suspended, o.busy, err = r.suspension(ctx, s)
		o.Idle = len(o.busy) == 0
	case kubetinkv1alpha1.UpgradePreMigrate, kubetinkv1alpha1.UpgradePostMigrate:
		o.job, err = r.getJob(ctx, s, jobPhase(p))
		if err == nil && o.job != nil && !ownJob(s.obj, o.job) {
			return o, r.foreignJob(ctx, s, o.job)
		}
		o.Job, o.jobMessage = migration.DetermineJobState(o.job)
		o.Outdated = o.Job == migration.JobFailed && r.outdated(s.obj, o.job)
	case kubetinkv1alpha1.UpgradeUninstall:
		o.LegacyGone, err = r.legacyInstallersGone(ctx, s)
	case kubetinkv1alpha1.UpgradeInstall:
		o.Ready = ready
	}
	return o, err
}

// act takes the one action migration.Decide chose for the current phase.
func (r *TinkerbellReconciler) act(ctx context.Context, s *scope, a migration.Action, o observed) error {
	st := &s.obj.Status.Upgrade
	switch a {
	case migration.Refuse:
		// A stalled pass is not retried by itself: the change of a refused object brings the Tinkerbell back.
		if err := r.watches.watchBlockers(handler.EnqueueRequestsFromMapFunc(r.tinkerbellsBlocked)); err != nil {
			return err
		}
		msg := fmt.Sprintf("upgrade from %s to %s refused: %s", st.FromVersion, st.ToVersion, strings.Join(o.Refusals, "; "))
		conditions.MarkFalse(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.UpgradeRefusedReason, "%s", msg)
		return stalled(kubetinkv1alpha1.UpgradeRefusedReason, "%s", msg)
	case migration.Wait:
		return r.wait(s, o)
	case migration.Suspend:
		if err := r.pauseChartInstallers(ctx, s); err != nil {
			return err
		}
		return r.migrating(s, "suspended the running release of %s; waiting for it to be idle before the pre-upgrade migrations (%s)",
			st.FromVersion, s.upgrade.names(migration.PreUpgrade))
	case migration.StartJob:
		return r.startJob(ctx, s, jobPhase(st.Phase))
	case migration.RetryJob:
		if err := r.Delete(ctx, o.job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("failed to delete the failed migration Job %s: %w", o.job.Name, err)
		}
		r.event(s.obj, "MigrationRetry", "deleted failed Job %s to retry", o.job.Name)
		return r.migrating(s, "retrying the migration: Job %s was deleted", o.job.Name)
	case migration.Fail:
		// Once, when the Tinkerbell turns MigrationFailed: no Job runs any more, so neither do its bindings. A retry
		// creates them again.
		if conditions.GetReason(s.obj, kubetinkv1alpha1.MigratedCondition) != kubetinkv1alpha1.MigrationFailedReason {
			if err := r.deleteMigrationBindings(ctx, s.obj); err != nil {
				return err
			}
		}
		return r.jobFailed(s, o.job, o.jobMessage)
	case migration.Uninstall:
		if err := r.uninstallLegacyInstallers(ctx, s); err != nil {
			return err
		}
		return r.migrating(s, "uninstalling the legacy stack release before installing %s", st.ToVersion)
	case migration.Complete:
		return r.recordUpgrade(ctx, s)
	}
	return nil // Install: the apply steps do it
}

// wait reports what the current phase waits for.
func (r *TinkerbellReconciler) wait(s *scope, o observed) error {
	st := &s.obj.Status.Upgrade
	switch st.Phase {
	case kubetinkv1alpha1.UpgradePreflight:
		// Look again when one of them changes, not only after the requeue interval.
		if err := r.watches.watchBlockers(handler.EnqueueRequestsFromMapFunc(r.tinkerbellsBlocked)); err != nil {
			return err
		}
		msg := fmt.Sprintf("upgrade from %s to %s waits for %d object(s) to finish or be paused: %s", st.FromVersion, st.ToVersion, len(o.Blockers), strings.Join(o.Blockers, "; "))
		conditions.MarkFalse(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.UpgradeBlockedReason, "%s", msg)
		return waiting(kubetinkv1alpha1.UpgradeBlockedReason, "%s", msg)
	case kubetinkv1alpha1.UpgradeSuspend:
		return r.migrating(s, "waiting for %s to finish its running sync or reconciliation before the pre-upgrade migrations (%s)",
			strings.Join(o.busy, ", "), s.upgrade.names(migration.PreUpgrade))
	}
	phase := jobPhase(st.Phase)
	return r.migrating(s, "running %s-upgrade migrations (%s) in Job %s", phase.Flag(), s.upgrade.names(phase), o.job.Name)
}

// recordUpgrade completes an upgrade: its steps go to status.migrations, the migration account loses its
// binding, and status.upgrade is cleared.
func (r *TinkerbellReconciler) recordUpgrade(ctx context.Context, s *scope) error {
	now := metav1.Now()
	for _, step := range s.upgrade.plan.Steps {
		s.obj.Status.Migrations = append(s.obj.Status.Migrations, kubetinkv1alpha1.MigrationRecord{
			Name: step.Name, FromVersion: s.upgrade.from, ToVersion: s.upgrade.to, CompletedAt: now,
		})
	}
	if n := len(s.obj.Status.Migrations); n > 64 {
		s.obj.Status.Migrations = s.obj.Status.Migrations[n-64:]
	}
	if err := r.deleteMigrationBindings(ctx, s.obj); err != nil {
		return err
	}
	// Count the upgrade's Jobs as succeeded once, in the pass that completes it (the next has no upgrade).
	for _, phase := range []migration.Phase{migration.PreUpgrade, migration.PostUpgrade} {
		if s.upgrade.plan.Has(phase) {
			metrics.RecordMigrationRun(phase.Flag(), metrics.ResultSucceeded)
		}
	}
	conditions.MarkTrue(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationSucceededReason,
		"upgraded from %s to %s; migrations: %s", s.upgrade.from, s.upgrade.to, stepNames(s.upgrade.plan.Steps))
	r.event(s.obj, kubetinkv1alpha1.MigrationSucceededReason, "upgraded from %s to %s", s.upgrade.from, s.upgrade.to)
	s.obj.Status.Upgrade = kubetinkv1alpha1.UpgradeStatus{}
	return nil
}

// jobPhase is the migration phase whose Job runs in an upgrade phase.
func jobPhase(p kubetinkv1alpha1.UpgradePhase) migration.Phase {
	if p == kubetinkv1alpha1.UpgradePostMigrate {
		return migration.PostUpgrade
	}
	return migration.PreUpgrade
}

// outdated reports whether a Job was created for an earlier generation or reconcile request of the Tinkerbell:
// a failed one is then run again.
func (r *TinkerbellReconciler) outdated(obj *kubetinkv1alpha1.Tinkerbell, job *batchv1.Job) bool {
	req, _ := meta.ReconcileAnnotationValue(obj.GetAnnotations())
	return job.Annotations[generationAnnotation] != strconv.FormatInt(obj.Generation, 10) || job.Annotations[requestAnnotation] != req
}

// obsoleteCRDsMaxAge is how long one look-up of the obsolete CRDs answers for every Tinkerbell. The answer is the
// same for all of them, and without sharing it a thousand sites finishing their install within a minute would
// send two thousand GETs for it; a report a second old is as good as a new one.
const obsoleteCRDsMaxAge = time.Second

// crdLookup is the latest answer of obsoleteCRDs and when its look-up started. Callers wait for a look-up in
// progress rather than sending their own.
type crdLookup struct {
	mu    sync.Mutex
	at    time.Time
	names []string
}

// obsoleteCRDs lists the installed CRDs of kinds no supported release uses any more (pre-release Rufio
// BaseboardManagement, tink's WorkflowData), as found at most obsoleteCRDsMaxAge ago. Their objects may still
// matter to someone, so they are only reported.
func (r *TinkerbellReconciler) obsoleteCRDs(ctx context.Context) ([]string, error) {
	r.obsolete.mu.Lock()
	defer r.obsolete.mu.Unlock()
	if !r.obsolete.at.IsZero() && time.Since(r.obsolete.at) < obsoleteCRDsMaxAge {
		return slices.Clone(r.obsolete.names), nil
	}
	start := time.Now()
	names, err := r.lookUpObsoleteCRDs(ctx)
	if err != nil {
		return nil, err
	}
	r.obsolete.at, r.obsolete.names = start, names
	return slices.Clone(names), nil
}

// lookUpObsoleteCRDs asks the apiserver for each obsolete CRD (migration.ObsoleteTargets) by name: the manager may
// not list CRDs.
func (r *TinkerbellReconciler) lookUpObsoleteCRDs(ctx context.Context) ([]string, error) {
	var out []string
	for _, t := range migration.ObsoleteTargets() {
		crd := &metav1.PartialObjectMetadata{}
		crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
		err := r.reader().Get(ctx, client.ObjectKey{Name: t.CRDName()}, crd)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("failed to look up CRD %s: %w", t.CRDName(), err)
		default:
			out = append(out, t.CRDName())
		}
	}
	slices.Sort(out)
	return out, nil
}

func (r *TinkerbellReconciler) migrating(s *scope, format string, args ...any) error {
	conditions.MarkFalse(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationInProgressReason, format, args...)
	return waiting(kubetinkv1alpha1.MigrationInProgressReason, format, args...)
}

// preflight finds what holds an upgrade back, in the namespaces the site serves (kinds whose CRD is not
// installed hold nothing back):
//   - blockers, which end by themselves: running Workflows and BMC Jobs (migration.Preflight) and, when the
//     legacy stack is replaced, Cluster API Provider Tinkerbell objects not paused (migration.CAPTBlockers);
//   - refusals, which the user has to fix: objects no migration can carry to the new version
//     (migration.Refusals, on URLs of Tinkerbell's own hosts).
func (r *TinkerbellReconciler) preflight(ctx context.Context, s *scope) (blockers, refusals []string, err error) {
	from, to := s.upgrade.from, s.upgrade.to
	workflows, err := r.listServed(ctx, s.obj, migration.Workflows, r.Client)
	if err != nil {
		return nil, nil, err
	}
	bmcJobs, err := r.listServed(ctx, s.obj, migration.BMCJobs, r.Client)
	if err != nil {
		return nil, nil, err
	}
	for _, b := range migration.Preflight(workflows, bmcJobs) {
		blockers = append(blockers, b.String())
	}
	if migration.RequiresReinstall(from, to) {
		// Read from the apiserver: these CRDs are seldom installed, and a cache would keep an informer on them.
		lists := make([][]unstructured.Unstructured, 0, 3)
		for _, t := range migration.CAPTTargets() {
			items, err := r.listServed(ctx, s.obj, t, r.reader())
			if err != nil {
				return nil, nil, err
			}
			lists = append(lists, items)
		}
		for _, b := range migration.CAPTBlockers(from, to, lists[0], lists[1], lists[2]) {
			blockers = append(blockers, b.String())
		}
	}
	hosts := append([]string{s.result.PublicIP}, s.obj.UpgradeHostNames()...)
	for _, x := range migration.Refusals(from, to, hosts, workflows, bmcJobs) {
		refusals = append(refusals, x.String())
	}
	return blockers, refusals, nil
}

// listServed lists the objects of kind t in the namespaces obj serves; none when the apiserver does not serve t.
func (r *TinkerbellReconciler) listServed(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell, t migration.Target, c client.Reader) ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(t.APIVersion())
	list.SetKind(t.Kind + "List")
	if err := c.List(ctx, list, client.InNamespace(obj.ServedNamespace())); err != nil {
		if apimeta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to list %s for the upgrade preflight: %w", t.Resource, err)
	}
	return list.Items, nil
}

// installedChartInstallers renders the chart installers of the installed version (s.upgrade.from): its HelmRelease,
// or the chart's Application, for the engine that installed it (the inventory's, which differs from spec.engine
// while an engine switch waits for this upgrade), and returns them with that engine.
func (r *TinkerbellReconciler) installedChartInstallers(s *scope) (engine, []*unstructured.Unstructured, error) {
	old := r.Policy.Defaulted(s.obj).DeepCopy()
	old.Spec.Version = s.upgrade.from
	if installed := inventoryEngine(s.obj.Status.Inventory); installed != "" {
		old.Spec.Engine = installed
	}
	res, err := render.Render(old, s.facts)
	if err != nil {
		return nil, nil, stalled(kubetinkv1alpha1.MigrationFailedReason, "cannot render the installed version %s to suspend it: %s", s.upgrade.from, err)
	}
	var out []*unstructured.Unstructured
	for _, u := range res.Objects {
		if u.GetLabels()[render.LabelComponent] == render.ComponentRelease {
			out = append(out, u)
		}
	}
	underFormerName(old, res, out)
	return r.engineFor(old), out, nil
}

// suspension reports whether the installed version's chart installers are paused, and which of them are still
// busy with work they began before (engine.idle). Those that do not exist any more are neither.
func (r *TinkerbellReconciler) suspension(ctx context.Context, s *scope) (suspended bool, busy []string, err error) {
	e, installers, err := r.installedChartInstallers(s)
	if err != nil {
		return false, nil, err
	}
	suspended = true
	for _, u := range installers {
		live, err := r.getLive(ctx, u)
		if err != nil {
			return false, nil, err
		}
		if live == nil {
			continue
		}
		isPaused, isBusy := e.idle(live)
		suspended = suspended && isPaused
		if isBusy {
			busy = append(busy, fmt.Sprintf("%s %s/%s", live.GetKind(), live.GetNamespace(), live.GetName()))
		}
	}
	return suspended, busy, nil
}

// pauseChartInstallers re-applies the installed version's chart installers paused (engine.paused: a
// HelmRelease with spec.suspend, the chart's Application without automated sync), so that nothing changes the
// cluster while the pre-upgrade Job edits its objects. Applying the new version later drops the field, or
// restores automated sync, which resumes them.
func (r *TinkerbellReconciler) pauseChartInstallers(ctx context.Context, s *scope) error {
	e, installers, err := r.installedChartInstallers(s)
	if err != nil {
		return err
	}
	for _, u := range installers {
		live, err := r.getLive(ctx, u)
		if err != nil {
			return err
		}
		if live == nil {
			continue
		}
		paused, err := e.paused(u)
		if err != nil {
			return err
		}
		if err := r.applyObject(ctx, s, paused); err != nil {
			return err
		}
	}
	return nil
}

// legacyInstallers returns the chart installers of the inventory that the new version no longer renders (the legacy
// stack's HelmRelease) and that still exist and are the Tinkerbell's own. Applications under a former name are not
// stale: retireEngine moves them.
func (r *TinkerbellReconciler) legacyInstallers(ctx context.Context, s *scope) ([]*unstructured.Unstructured, []kubetinkv1alpha1.ResourceRef, error) {
	current := inventory.New(s.result.Objects...)
	var objs []*unstructured.Unstructured
	var refs []kubetinkv1alpha1.ResourceRef
	for _, ref := range inventory.Diff(s.obj.Status.Inventory, current) {
		if !isChartInstaller(ref) {
			continue
		}
		u, err := inventory.Object(ref)
		if err != nil || renamed(s, u) {
			continue
		}
		live, err := r.getLive(ctx, u)
		if err != nil {
			return nil, nil, err
		}
		if live != nil && owns(s.obj, live) {
			objs, refs = append(objs, live), append(refs, ref)
		}
	}
	return objs, refs, nil
}

// legacyInstallersGone reports whether the legacy stack's Helm release is uninstalled: helm-controller removes the
// HelmRelease once it uninstalled the Helm release.
func (r *TinkerbellReconciler) legacyInstallersGone(ctx context.Context, s *scope) (bool, error) {
	objs, _, err := r.legacyInstallers(ctx, s)
	return len(objs) == 0, err
}

// uninstallLegacyInstallers deletes the legacy chart installers (HelmReleases) that are not being deleted yet.
func (r *TinkerbellReconciler) uninstallLegacyInstallers(ctx context.Context, s *scope) error {
	objs, refs, err := r.legacyInstallers(ctx, s)
	if err != nil {
		return err
	}
	for i, live := range objs {
		if !live.GetDeletionTimestamp().IsZero() {
			continue
		}
		if err := engineOf(live).beforeUninstall(ctx, r.Client, live); err != nil {
			return err
		}
		if err := r.deleteOwned(ctx, s.obj, refs[i]); err != nil {
			return err
		}
		r.event(s.obj, "LegacyReleaseUninstall", "deleting HelmRelease %s to uninstall the legacy stack", live.GetName())
	}
	return nil
}

// jobName is <tinkerbell>-migrate-<to>-<phase>, shortened with a hash when longer than a label value allows.
func jobName(obj *kubetinkv1alpha1.Tinkerbell, to string, phase migration.Phase) string {
	v := strings.NewReplacer(".", "-", "+", "-").Replace(strings.TrimPrefix(to, "v"))
	name := fmt.Sprintf("%s-migrate-v%s-%s", obj.Name, v, phase.Flag())
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return fmt.Sprintf("%s-%x", strings.TrimRight(name[:52], "-"), sum[:5])
}

func (r *TinkerbellReconciler) getJob(ctx context.Context, s *scope, phase migration.Phase) (*batchv1.Job, error) {
	job := &batchv1.Job{}
	err := r.Get(ctx, client.ObjectKey{Namespace: s.obj.Namespace, Name: jobName(s.obj, s.upgrade.to, phase)}, job)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get the migration Job: %w", err)
	}
	return job, nil
}

// startJob creates the migration Job of a phase, with the ServiceAccount and binding it runs as.
func (r *TinkerbellReconciler) startJob(ctx context.Context, s *scope, phase migration.Phase) error {
	// Where the legacy stack's Hook URLs go, for the migration that moves them; without it they are left and
	// listed in the Job's summary.
	var artifacts string
	if s.upgrade.plan.Includes(migration.HookArtifactsFileServer) {
		artifacts = string(s.obj.Spec.ArtifactsFileServer)
		if err := migration.ValidateArtifactsFileServer(artifacts); artifacts != "" && err != nil {
			return stalled(kubetinkv1alpha1.MigrationFailedReason,
				"spec.artifactsFileServer %q cannot receive the URLs of the legacy stack's Hook files: %s", artifacts, err)
		}
	}
	// The cache holds only Jobs labelled as Kubetink's: ask the apiserver whether the name is taken, before any
	// binding exists that a Job of that name could use.
	name := jobName(s.obj, s.upgrade.to, phase)
	existing := &batchv1.Job{}
	switch err := r.reader().Get(ctx, client.ObjectKey{Namespace: s.obj.Namespace, Name: name}, existing); {
	case err == nil && !ownJob(s.obj, existing):
		return r.foreignJob(ctx, s, existing)
	case err == nil:
		// Kubetink's, created by an earlier pass the cache has not caught up with yet.
		return r.migrating(s, "running %s-upgrade migrations (%s) in Job %s", phase.Flag(), s.upgrade.names(phase), name)
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("failed to get the migration Job %s: %w", name, err)
	}
	if err := r.ensureMigrationAccess(ctx, s.obj); err != nil {
		return err
	}
	req, _ := meta.ReconcileAnnotationValue(s.obj.GetAnnotations())
	job := migration.NewJob(migration.JobOptions{
		Name:                name,
		Namespace:           s.obj.Namespace,
		Image:               r.MigrationImage,
		ServiceAccountName:  r.migrationServiceAccount(),
		From:                s.upgrade.from,
		To:                  s.upgrade.to,
		Phase:               phase,
		PublicIP:            s.result.PublicIP,
		TinkerbellHosts:     s.obj.UpgradeHostNames(),
		ArtifactsFileServer: artifacts,
		BackupNamespace:     s.obj.Namespace,
		ObjectsNamespace:    s.obj.ServedNamespace(),
		Labels:              map[string]string{render.LabelName: s.obj.Name, render.LabelNamespace: s.obj.Namespace},
	})
	job.Annotations[generationAnnotation] = strconv.FormatInt(s.obj.Generation, 10)
	job.Annotations[requestAnnotation] = req
	if err := controllerutil.SetControllerReference(s.obj, job, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create the migration Job %s: %w", job.Name, err)
	}
	r.event(s.obj, "MigrationJobCreated", "created Job %s: %s migrations from %s to %s (%s)",
		job.Name, phase.Flag(), s.upgrade.from, s.upgrade.to, s.upgrade.names(phase))
	return r.migrating(s, "running %s-upgrade migrations (%s) in Job %s", phase.Flag(), s.upgrade.names(phase), job.Name)
}

// ownJob reports whether job is a migration Job Kubetink created for obj: obj (by UID) is its controller and it
// carries the managed-by label. Anyone allowed to create Jobs in the namespace could create one with the expected
// name first; its result must not count as the migration's.
func ownJob(obj *kubetinkv1alpha1.Tinkerbell, job *batchv1.Job) bool {
	owner := metav1.GetControllerOf(job)
	return owner != nil && owner.UID == obj.UID && job.Labels[kubetinkv1alpha1.LabelManagedBy] == kubetinkv1alpha1.ManagedBy
}

// foreignJob stalls the Tinkerbell on a Job that has a migration Job's name but is not Kubetink's for it. The Job
// is left alone (never deleted: it is someone else's), and the migration bindings are removed, once, so that it
// cannot run with the migration account's rights should it use that account.
func (r *TinkerbellReconciler) foreignJob(ctx context.Context, s *scope, job *batchv1.Job) error {
	if conditions.GetReason(s.obj, kubetinkv1alpha1.MigratedCondition) != kubetinkv1alpha1.MigrationJobForeignReason {
		if err := r.deleteMigrationBindings(ctx, s.obj); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("Job %s/%s has the name of the migration Job of this upgrade but was not created by Kubetink for this Tinkerbell (it needs this Tinkerbell as its controller owner and the label app.kubernetes.io/managed-by=kubetink); its result is not trusted and Kubetink leaves it alone: delete it, then request a reconciliation",
		job.Namespace, job.Name)
	conditions.MarkFalse(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationJobForeignReason, "%s", msg)
	return stalled(kubetinkv1alpha1.MigrationJobForeignReason, "%s", msg)
}

// jobFailed stalls the Tinkerbell with the Job's message; the installed version keeps running and the backups
// stay. A new generation or reconcile request makes the Job outdated: the next pass deletes it and runs it again.
func (r *TinkerbellReconciler) jobFailed(s *scope, job *batchv1.Job, msg string) error {
	text := fmt.Sprintf("migration Job %s failed: %s; %s keeps running and the backups (ConfigMaps labelled kubetink.io/migration) are kept; fix the cause, then change the spec or request a reconciliation to retry",
		job.Name, msg, s.upgrade.from)
	// Count the failed Job once, when the Tinkerbell turns MigrationFailed: every Job starts with MigrationInProgress,
	// and later passes find the Tinkerbell MigrationFailed already.
	if conditions.GetReason(s.obj, kubetinkv1alpha1.MigratedCondition) != kubetinkv1alpha1.MigrationFailedReason {
		metrics.RecordMigrationRun(job.Labels[migration.PhaseLabel], metrics.ResultFailed)
	}
	conditions.MarkFalse(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationFailedReason, "%s", text)
	return stalled(kubetinkv1alpha1.MigrationFailedReason, "%s", text)
}

func (r *TinkerbellReconciler) migrationServiceAccount() string {
	if r.MigrationServiceAccount != "" {
		return r.MigrationServiceAccount
	}
	return migrationClusterRole
}

// migrationBindingName is the name of every binding of the migration ServiceAccount of obj:
// <role>:<tinkerbell namespace>:<tinkerbell name>.
func migrationBindingName(role string, obj *kubetinkv1alpha1.Tinkerbell) string {
	return fmt.Sprintf("%s:%s:%s", role, obj.Namespace, obj.Name)
}

// migrationBindings returns the bindings that give the migration ServiceAccount of obj what its Job needs, and
// no more:
//   - kubetink-migration, which acts on namespaced kinds only: a ClusterRoleBinding when the stack serves every
//     namespace (the Job migrates them all); otherwise a RoleBinding in the namespace it serves and one in the
//     Tinkerbell's namespace, where the backups go;
//   - kubetink-migration-crds, get on a few CRDs by name: a ClusterRoleBinding, the only way to grant it.
//
// All are named migrationBindingName and labelled for the Tinkerbell.
func (r *TinkerbellReconciler) migrationBindings(obj *kubetinkv1alpha1.Tinkerbell) []client.Object {
	labels := map[string]string{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy, render.LabelName: obj.Name, render.LabelNamespace: obj.Namespace}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: obj.Namespace, Name: r.migrationServiceAccount()}}
	clusterRole := func(name string) rbacv1.RoleRef {
		return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
	}
	out := []client.Object{&rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: migrationBindingName(migrationCRDsClusterRole, obj), Labels: labels},
		RoleRef:    clusterRole(migrationCRDsClusterRole), Subjects: subjects,
	}}
	served := obj.ServedNamespace()
	if served == "" {
		return append(out, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: migrationBindingName(migrationClusterRole, obj), Labels: labels},
			RoleRef:    clusterRole(migrationClusterRole), Subjects: subjects,
		})
	}
	for _, ns := range slices.Compact([]string{obj.Namespace, served}) {
		out = append(out, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: migrationBindingName(migrationClusterRole, obj), Labels: labels},
			RoleRef:    clusterRole(migrationClusterRole), Subjects: subjects,
		})
	}
	return out
}

// ensureMigrationAccess creates the Job's ServiceAccount (owned by the Tinkerbell) and its bindings
// (migrationBindings), which exist only while a migration Job runs: deleteMigrationBindings removes them once
// the Job has finished, when the upgrade is cancelled or superseded, while the Tinkerbell is suspended and when
// it is deleted. A RoleBinding in a namespace that does not exist is left out: that namespace holds nothing to
// migrate.
func (r *TinkerbellReconciler) ensureMigrationAccess(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: obj.Namespace, Name: r.migrationServiceAccount(),
		Labels: map[string]string{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy}}}
	if err := controllerutil.SetOwnerReference(obj, sa, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create the migration ServiceAccount: %w", err)
	}
	for _, b := range r.migrationBindings(obj) {
		err := r.Create(ctx, b)
		if _, namespaced := b.(*rbacv1.RoleBinding); namespaced && apierrors.IsNotFound(err) {
			ctrl.LoggerFrom(ctx).Info("namespace not found; no migration RoleBinding there", "namespace", b.GetNamespace())
			continue
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to create the migration binding %s: %w", bindingRef(b), err)
		}
	}
	return nil
}

// deleteMigrationBindings deletes every binding migrationBindings may have created for obj, whatever its scope
// was then.
func (r *TinkerbellReconciler) deleteMigrationBindings(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell) error {
	name := migrationBindingName(migrationClusterRole, obj)
	bindings := make([]client.Object, 0, 4)
	bindings = append(bindings,
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: migrationBindingName(migrationCRDsClusterRole, obj)}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}},
	)
	for _, ns := range slices.Compact([]string{obj.Namespace, obj.GetTargetNamespace()}) {
		bindings = append(bindings, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	}
	for _, b := range bindings {
		if err := r.Delete(ctx, b); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("failed to delete the migration binding %s: %w", bindingRef(b), err)
		}
	}
	return nil
}

// suspendMigrationAccess deletes the migration bindings of a suspended Tinkerbell whose upgrade is in a phase
// that runs a Job (PreMigrate, PostMigrate), the only phases in which they exist. Other suspended passes send
// nothing.
func (r *TinkerbellReconciler) suspendMigrationAccess(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell) error {
	switch obj.Status.Upgrade.Phase {
	case kubetinkv1alpha1.UpgradePreMigrate, kubetinkv1alpha1.UpgradePostMigrate:
		return r.deleteMigrationBindings(ctx, obj)
	}
	return nil
}

// bindingRef names a binding in messages: <kind> [<namespace>/]<name>.
func bindingRef(b client.Object) string {
	if _, ok := b.(*rbacv1.RoleBinding); ok {
		return "RoleBinding " + b.GetNamespace() + "/" + b.GetName()
	}
	return "ClusterRoleBinding " + b.GetName()
}

func stepNames(steps []migration.Step) string {
	if len(steps) == 0 {
		return "none needed"
	}
	names := make([]string, 0, len(steps))
	for _, s := range steps {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// event records a Normal event on the Tinkerbell for an upgrade milestone, with nothing secret in it: versions
// and object names only. Failures reach events through the Ready condition (recordTransition).
func (r *TinkerbellReconciler) event(obj *kubetinkv1alpha1.Tinkerbell, reason, format string, args ...any) {
	if r.EventRecorder != nil {
		r.EventRecorder.Eventf(obj, nil, corev1.EventTypeNormal, reason, "Upgrade", format, args...)
	}
}
