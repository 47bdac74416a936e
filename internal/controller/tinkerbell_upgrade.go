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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/inventory"
	"github.com/kubetink/kubetink/internal/metrics"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/render"
)

const (
	// migrationClusterRole is the ClusterRole (config/rbac/migration_role.yaml) holding migration.RBACRules().
	migrationClusterRole = "kubetink-migration"
	// generationAnnotation and requestAnnotation record on a migration Job the Tinkerbell generation and
	// reconcile request it was created for; a failed Job is retried only when either moves on.
	generationAnnotation = "kubetink.io/tinkerbell-generation"
	requestAnnotation    = "kubetink.io/reconcile-request"
)

// upgrade is the plan of an upgrade in progress: from status.lastAppliedVersion to spec.version.
type upgrade struct {
	from, to string
	steps    []migration.Step
}

func (u *upgrade) has(phase migration.Phase) bool {
	return slices.ContainsFunc(u.steps, func(s migration.Step) bool { return s.Phase == phase })
}

func (u *upgrade) names(phase migration.Phase) string {
	var names []string
	for _, s := range u.steps {
		if s.Phase == phase {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, ", ")
}

// migratePre runs before anything of the new version is applied. Each pass takes one action, decided from the
// cluster alone (so a restart resumes where it was): preflight, suspend the running release, run the pre-upgrade
// Job, and for the legacy stack uninstall its release, then let the new version be applied.
func (r *TinkerbellReconciler) migratePre(ctx context.Context, s *scope) error {
	from, to := s.obj.Status.LastAppliedVersion, s.obj.Spec.Version
	if from == "" || catalog.Compare(to, from) <= 0 {
		return nil // install, no change, or an allowed downgrade: nothing to migrate
	}
	steps, err := migration.Plan(from, to)
	if err != nil {
		return stalled(kubetinkv1alpha1.MigrationFailedReason, "cannot upgrade from %s to %s: %s", from, to, err)
	}
	s.upgrade = &upgrade{from: from, to: to, steps: steps}

	// Preflight, once per target version: running Workflows and BMC Jobs would be cut off mid-way.
	if s.obj.Status.LastAttemptedVersion != to {
		blockers, err := r.preflight(ctx, s.obj)
		if err != nil {
			return err
		}
		if len(blockers) > 0 {
			// Look again when one of them changes, not only after the requeue interval.
			if err := r.watches.watchBlockers(handler.EnqueueRequestsFromMapFunc(r.tinkerbellsBlocked)); err != nil {
				return err
			}
			msg := fmt.Sprintf("upgrade from %s to %s waits for %d running object(s): %s", from, to, len(blockers), strings.Join(blockers, "; "))
			conditions.MarkFalse(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.UpgradeBlockedReason, "%s", msg)
			return waiting(kubetinkv1alpha1.UpgradeBlockedReason, "%s", msg)
		}
		s.obj.Status.LastAttemptedVersion = to
		r.event(s.obj, "UpgradeStarted", "upgrading from %s to %s; migrations: %s", from, to, stepNames(steps))
		// Replace what the preflight said: the steps below say more as they go.
		conditions.MarkFalse(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationInProgressReason,
			"upgrading from %s to %s; migrations: %s", from, to, stepNames(steps))
	}

	if s.upgrade.has(migration.PreUpgrade) {
		job, err := r.getJob(ctx, s, migration.PreUpgrade)
		if err != nil {
			return err
		}
		state, msg := migration.DetermineJobState(job)
		switch state {
		case migration.JobNotStarted:
			// Stop helm-controller from touching the running release while the migration edits its objects.
			if err := r.suspendRunningReleases(ctx, s); err != nil {
				return err
			}
			return r.startJob(ctx, s, migration.PreUpgrade)
		case migration.JobRunning:
			return r.migrating(s, "running pre-upgrade migrations (%s) in Job %s", s.upgrade.names(migration.PreUpgrade), job.Name)
		case migration.JobFailed:
			return r.jobFailed(ctx, s, job, msg)
		}
	}

	// The legacy stack chart is replaced, not upgraded: uninstall its release before the new one goes in.
	if migration.RequiresReinstall(from, to) {
		gone, err := r.uninstallStaleReleases(ctx, s)
		if err != nil || !gone {
			if err == nil {
				err = r.migrating(s, "uninstalling the legacy stack release before installing %s", to)
			}
			return err
		}
	}
	return nil
}

// migratePost runs once the new version is Ready: the post-upgrade Job, then the record of the migration.
func (r *TinkerbellReconciler) migratePost(ctx context.Context, s *scope) error {
	if s.obj.Status.LastAppliedVersion != s.obj.Spec.Version {
		// An install or upgrade completes in this pass: report CRDs the release no longer uses.
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
	if s.upgrade.has(migration.PostUpgrade) {
		job, err := r.getJob(ctx, s, migration.PostUpgrade)
		if err != nil {
			return err
		}
		state, msg := migration.DetermineJobState(job)
		switch state {
		case migration.JobNotStarted:
			return r.startJob(ctx, s, migration.PostUpgrade)
		case migration.JobRunning:
			return r.migrating(s, "running post-upgrade migrations (%s) in Job %s", s.upgrade.names(migration.PostUpgrade), job.Name)
		case migration.JobFailed:
			return r.jobFailed(ctx, s, job, msg)
		}
	}

	now := metav1.Now()
	for _, step := range s.upgrade.steps {
		s.obj.Status.Migrations = append(s.obj.Status.Migrations, kubetinkv1alpha1.MigrationRecord{
			Name: step.Name, FromVersion: s.upgrade.from, ToVersion: s.upgrade.to, CompletedAt: now,
		})
	}
	if n := len(s.obj.Status.Migrations); n > 64 {
		s.obj.Status.Migrations = s.obj.Status.Migrations[n-64:]
	}
	if err := r.deleteMigrationBinding(ctx, s.obj); err != nil {
		return err
	}
	// Count the upgrade's Jobs as succeeded once, in the pass that completes it (the next has no upgrade).
	for _, phase := range []migration.Phase{migration.PreUpgrade, migration.PostUpgrade} {
		if s.upgrade.has(phase) {
			metrics.RecordMigrationRun(phase.Flag(), metrics.ResultSucceeded)
		}
	}
	conditions.MarkTrue(s.obj, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationSucceededReason,
		"upgraded from %s to %s; migrations: %s", s.upgrade.from, s.upgrade.to, stepNames(s.upgrade.steps))
	r.event(s.obj, kubetinkv1alpha1.MigrationSucceededReason, "upgraded from %s to %s", s.upgrade.from, s.upgrade.to)
	return nil
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

// lookUpObsoleteCRDs asks the apiserver for each obsolete CRD by name (the manager may not list CRDs).
func (r *TinkerbellReconciler) lookUpObsoleteCRDs(ctx context.Context) ([]string, error) {
	var out []string
	for _, t := range []migration.Target{migration.BaseboardManagements, migration.WorkflowData} {
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

// preflight lists the Workflows and BMC Jobs that must finish before an upgrade starts, in the namespaces obj
// serves. Kinds whose CRD is not installed block nothing.
func (r *TinkerbellReconciler) preflight(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell) ([]string, error) {
	lists := make([][]unstructured.Unstructured, 2)
	for i, t := range []migration.Target{migration.Workflows, migration.BMCJobs} {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion(t.APIVersion())
		list.SetKind(t.Kind + "List")
		if err := r.List(ctx, list, client.InNamespace(obj.ServedNamespace())); err != nil {
			if apimeta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("failed to list %s for the upgrade preflight: %w", t.Resource, err)
		}
		lists[i] = list.Items
	}
	var out []string
	for _, b := range migration.Preflight(lists[0], lists[1]) {
		out = append(out, b.String())
	}
	return out, nil
}

// suspendRunningReleases re-applies the HelmReleases of the installed version with spec.suspend set, or the
// chart's Application without automated sync (pauseApplication), rendered for the engine that installed it (the
// inventory's, which differs from spec.engine while an engine switch waits for this upgrade). Applying the new
// version later drops the field, or restores automated sync, which resumes them.
func (r *TinkerbellReconciler) suspendRunningReleases(ctx context.Context, s *scope) error {
	old := s.obj.DeepCopy()
	old.Spec.Version = s.upgrade.from
	if engine := inventoryEngine(s.obj.Status.Inventory); engine != "" {
		old.Spec.Engine = engine
	}
	res, err := render.Render(old, s.facts)
	if err != nil {
		return stalled(kubetinkv1alpha1.MigrationFailedReason, "cannot render the installed version %s to suspend it: %s", s.upgrade.from, err)
	}
	for _, u := range res.Objects {
		if isApplication(u) && u.GetLabels()[render.LabelComponent] == componentRelease {
			if err := r.pauseApplication(ctx, s, u); err != nil {
				return err
			}
			continue
		}
		if u.GetKind() != "HelmRelease" {
			continue
		}
		live, err := r.getLive(ctx, u)
		if err != nil || live == nil {
			return err
		}
		suspended := u.DeepCopy()
		if err := unstructured.SetNestedField(suspended.Object, true, "spec", "suspend"); err != nil {
			return err
		}
		if err := r.applyObject(ctx, s, suspended); err != nil {
			return err
		}
	}
	return nil
}

// uninstallStaleReleases deletes the HelmReleases of the inventory that the new version no longer renders (the
// legacy stack release) and reports whether they are gone, which helm-controller allows once it uninstalled them.
func (r *TinkerbellReconciler) uninstallStaleReleases(ctx context.Context, s *scope) (bool, error) {
	current := inventory.New(s.result.Objects...)
	gone := true
	for _, ref := range inventory.Diff(s.obj.Status.Inventory, current) {
		if !isRelease(ref) {
			continue
		}
		u, err := inventory.Object(ref)
		if err != nil {
			continue
		}
		live, err := r.getTyped(ctx, u)
		if err != nil {
			return false, err
		}
		if live == nil {
			continue
		}
		gone = false
		if live.GetDeletionTimestamp().IsZero() {
			if err := r.resumeBeforeUninstall(ctx, live); err != nil {
				return false, err
			}
			if err := r.deleteOwned(ctx, s.obj, ref); err != nil {
				return false, err
			}
			r.event(s.obj, "LegacyReleaseUninstall", "deleting HelmRelease %s to uninstall the legacy stack", live.GetName())
		}
	}
	return gone, nil
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
	if err := r.ensureMigrationAccess(ctx, s.obj); err != nil {
		return err
	}
	req, _ := meta.ReconcileAnnotationValue(s.obj.GetAnnotations())
	job := migration.NewJob(migration.JobOptions{
		Name:               jobName(s.obj, s.upgrade.to, phase),
		Namespace:          s.obj.Namespace,
		Image:              r.MigrationImage,
		ServiceAccountName: r.migrationServiceAccount(),
		From:               s.upgrade.from,
		To:                 s.upgrade.to,
		Phase:              phase,
		PublicIP:           s.result.PublicIP,
		BackupNamespace:    s.obj.Namespace,
		ObjectsNamespace:   s.obj.ServedNamespace(),
		Labels:             map[string]string{render.LabelName: s.obj.Name, render.LabelNamespace: s.obj.Namespace},
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

// jobFailed stalls the Tinkerbell with the Job's message; the installed version keeps running and the backups
// stay. A new generation or reconcile request deletes the failed Job, so the next pass runs it again.
func (r *TinkerbellReconciler) jobFailed(ctx context.Context, s *scope, job *batchv1.Job, msg string) error {
	req, _ := meta.ReconcileAnnotationValue(s.obj.GetAnnotations())
	if job.Annotations[generationAnnotation] != strconv.FormatInt(s.obj.Generation, 10) || job.Annotations[requestAnnotation] != req {
		if err := r.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("failed to delete the failed migration Job %s: %w", job.Name, err)
		}
		r.event(s.obj, "MigrationRetry", "deleted failed Job %s to retry", job.Name)
		return r.migrating(s, "retrying the migration: Job %s was deleted", job.Name)
	}
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

func migrationBindingName(obj *kubetinkv1alpha1.Tinkerbell) string {
	return fmt.Sprintf("%s:%s:%s", migrationClusterRole, obj.Namespace, obj.Name)
}

// ensureMigrationAccess creates the Job's ServiceAccount (owned by the Tinkerbell) and binds it to the
// migration ClusterRole for the duration of the upgrade; migratePost and finalize delete the binding.
func (r *TinkerbellReconciler) ensureMigrationAccess(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: obj.Namespace, Name: r.migrationServiceAccount(),
		Labels: map[string]string{"app.kubernetes.io/managed-by": "kubetink"}}}
	if err := controllerutil.SetOwnerReference(obj, sa, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create the migration ServiceAccount: %w", err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: migrationBindingName(obj), Labels: map[string]string{
			"app.kubernetes.io/managed-by": "kubetink", render.LabelName: obj.Name, render.LabelNamespace: obj.Namespace}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: migrationClusterRole},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: obj.Namespace, Name: sa.Name}},
	}
	if err := r.Create(ctx, crb); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to bind the migration ClusterRole: %w", err)
	}
	return nil
}

func (r *TinkerbellReconciler) deleteMigrationBinding(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell) error {
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: migrationBindingName(obj)}}
	if err := r.Delete(ctx, crb); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete the migration ClusterRoleBinding: %w", err)
	}
	return nil
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
