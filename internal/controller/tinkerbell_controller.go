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

// Package controller holds the TinkerbellReconciler, which keeps the cluster equal to what "kubetink render"
// prints for each Tinkerbell object and reports the readiness of what it applied.
package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/jitter"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/metrics"
	"github.com/kubetink/kubetink/internal/policy"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// TinkerbellReconciler turns a Tinkerbell into Flux objects, applies them with server-side apply, prunes
// what it no longer renders and mirrors the objects' readiness into the Tinkerbell's status.
type TinkerbellReconciler struct {
	client.Client

	// APIReader reads from the apiserver directly; used for the Tinkerbell itself (see Reconcile).
	APIReader client.Reader
	// EventRecorder records events on Tinkerbell objects, on state transitions only.
	EventRecorder events.EventRecorder
	// ControllerName is the field owner of everything Kubetink applies and the reporting controller of events.
	ControllerName string
	// DependencyRequeueInterval is how long to wait before looking again at objects that are not ready; the
	// watches on those objects usually trigger a reconciliation earlier.
	DependencyRequeueInterval time.Duration
	// MigrationImage is the image of the migration Jobs: Kubetink's own, whose entrypoint is the kubetink binary.
	MigrationImage string
	// MigrationServiceAccount is the ServiceAccount migration Jobs run as, created in the Tinkerbell's namespace
	// and bound to the migration ClusterRoles while a migration Job runs. Defaults to kubetink-migration.
	MigrationServiceAccount string
	// Policy is the cluster admin's limits on what a Tinkerbell may name (the manager's --allowed-* and --argocd-*
	// flags) and the defaults it imposes (--default-service-account); the zero value allows everything.
	Policy policy.Settings
	// Selector, when set, is the label selector of the Tinkerbells this manager reconciles (the manager's
	// --watch-label-selector): a shard leaves the others alone, even when an event of a generated object, or a
	// request, names one of them.
	Selector labels.Selector

	// watches registers the watches on the generated kinds once the apiserver serves them (tinkerbell_manager.go).
	watches *lazyWatches
	// obsolete shares one look-up of the obsolete CRDs among the passes that complete at about the same time.
	obsolete crdLookup
}

// scope carries what one reconciliation learns from step to step.
type scope struct {
	obj    *kubetinkv1alpha1.Tinkerbell
	facts  values.Facts
	result *render.Result
	// present are the rendered objects that exist in the cluster, by inventory id.
	present map[string]bool
	// written are the objects this pass applied, as the apiserver returned them, by inventory id. The cache may
	// not have seen these writes yet, and a stale copy would report the previous generation's readiness.
	written map[string]*unstructured.Unstructured
	// upgrade is the upgrade in progress (status.upgrade) and its plan; nil when none runs.
	upgrade *upgrade
}

// stalledError is an outcome the reconciler cannot fix by retrying: the user has to change something. With
// recheck, what blocks it lies outside the Tinkerbell (an object in the way, see checkOwnership), and removing it
// changes nothing the Tinkerbell's watches see, so the pass is run again every spec.interval.
type stalledError struct {
	reason, message string
	recheck         bool
}

func (e *stalledError) Error() string { return e.message }

// waitingError is an outcome that resolves itself: something the reconciler waits for is not there yet.
type waitingError struct{ reason, message string }

func (e *waitingError) Error() string { return e.message }

func stalled(reason, format string, args ...any) error {
	return &stalledError{reason: reason, message: fmt.Sprintf(format, args...)}
}

func waiting(reason, format string, args ...any) error {
	return &waitingError{reason: reason, message: fmt.Sprintf(format, args...)}
}

// The manager's RBAC: config/rbac/role.yaml is generated from these markers ("make manifests"), and
// config/rbac/README.md repeats the reasons. Each marker grants only the verbs the code uses, for the reason above
// it; test/install asks the apiserver what the manager may and may not do.
//
// Tinkerbells: cached and watched; each pass GETs the latest from the apiserver; finalizers are merge-patched.
// +kubebuilder:rbac:groups=kubetink.io,resources=tinkerbells,verbs=get;list;watch;patch
// Tinkerbell status: written as one merge patch per pass, with optimistic locking.
// +kubebuilder:rbac:groups=kubetink.io,resources=tinkerbells/status,verbs=patch
// Owner references with blockOwnerDeletion on generated objects and Jobs (OwnerReferencesPermissionEnforcement).
// +kubebuilder:rbac:groups=kubetink.io,resources=tinkerbells/finalizers,verbs=update
// The generated Flux objects: server-side applied (create, patch), watched for readiness, suspended during an
// upgrade, freed of the owner reference on orphaning (patch), pruned and deleted with the Tinkerbell (delete).
// +kubebuilder:rbac:groups=helm.toolkit.fluxcd.io,resources=helmreleases,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=kustomize.toolkit.fluxcd.io,resources=kustomizations,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=ocirepositories;gitrepositories,verbs=get;list;watch;create;patch;delete
// Nodes: their pod CIDRs are the default trusted proxies (read only, from the cache).
// +kubebuilder:rbac:groups="",resources=nodes,verbs=list;watch
// Services: spec.publicIPFrom takes the public IP from a LoadBalancer Service (read only, from the cache).
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch
// Events on Tinkerbells, on state transitions.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// Migration Jobs: created per upgrade phase, watched, and deleted to retry a failed one (config/policy limits the
// Jobs the manager may create to the kubetink-migration ServiceAccount).
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// The migration Jobs' ServiceAccount, created in the Tinkerbell's namespace (config/policy pins its name).
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=create
// The bindings of that ServiceAccount to kubetink-migration (RoleBindings in the namespaces a site serves, or a
// ClusterRoleBinding for scope Cluster) and to kubetink-migration-crds, which exist only while a Job runs.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterrolebindings;rolebindings,verbs=create;delete
// Binding a ClusterRole needs bind on it (or holding all its rules): the two migration ClusterRoles only.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=kubetink-migration;kubetink-migration-crds
// Upgrade preflight: running Workflows and BMC Jobs block an upgrade; while one waits, their changes are watched
// (metadata only) to look again as soon as one finishes.
// +kubebuilder:rbac:groups=tinkerbell.org,resources=workflows,verbs=list;watch
// +kubebuilder:rbac:groups=bmc.tinkerbell.org,resources=jobs,verbs=list;watch
// Leaving the legacy stack: Cluster API Provider Tinkerbell objects must be paused first (read uncached, only then).
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=tinkerbellmachines;tinkerbellclusters,verbs=list
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=list
// Obsolete CRDs are reported after an upgrade: get the CRDs no release uses any more, by name. The kinds of this
// marker and of the preflight one above are migration.ObsoleteTargets and migration.BlockerTargets
// (TestManagerRoleMatchesMigrationKinds keeps them equal).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=baseboardmanagements.bmc.tinkerbell.org;workflowdata.tinkerbell.org

// Reconcile brings one Tinkerbell's generated objects in line with its spec and reports their state.
func (r *TinkerbellReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	// Read the Tinkerbell from the apiserver, not the cache: every decision below (which version to apply, whether
	// an upgrade step already ran) must rest on its latest spec and status, never on a copy the cache has not
	// caught up with. One GET per pass; everything else comes from the cache.
	obj := &kubetinkv1alpha1.Tinkerbell{}
	if err := r.reader().Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.Selector != nil && !r.Selector.Matches(labels.Set(obj.Labels)) {
		return ctrl.Result{}, nil // another shard's
	}
	start := obj.DeepCopy()
	base := obj.DeepCopy() // what the apiserver holds; patch moves it forward

	// Always persist status and conditions, whatever the outcome.
	defer func() {
		if !obj.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(obj, kubetinkv1alpha1.Finalizer) {
			return // finalized: the object is gone or about to be
		}
		finalizeStatus(obj, retErr)
		if err := r.patch(ctx, obj, base); err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
		r.recordTransition(start, obj)
	}()

	if !obj.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, obj, base)
	}
	// Persist the finalizer before any child object exists.
	if controllerutil.AddFinalizer(obj, kubetinkv1alpha1.Finalizer) {
		if err := r.patch(ctx, obj, base); err != nil {
			return ctrl.Result{}, fmt.Errorf("failed to add the finalizer: %w", err)
		}
	}
	if obj.Spec.Suspend {
		ctrl.LoggerFrom(ctx).V(1).Info("reconciliation is suspended")
		// The one change a suspended Tinkerbell still gets: its migration account loses its bindings, so that no
		// migration Job acts with them while nobody watches it (a running Job then fails; resuming retries it).
		return ctrl.Result{}, r.suspendMigrationAccess(ctx, obj)
	}
	return r.reconcile(ctx, obj)
}

// reconcile runs the steps in order; the first step that does not succeed decides the outcome.
func (r *TinkerbellReconciler) reconcile(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell) (ctrl.Result, error) {
	s := &scope{obj: obj, present: map[string]bool{}, written: map[string]*unstructured.Unstructured{}}
	// Each step is timed under its name, the step label of kubetink_reconcile_step_duration_seconds.
	for _, step := range []struct {
		name string
		run  func(context.Context, *scope) error
	}{
		{"check_policy", r.checkPolicy},         // the cluster admin's limits, before anything is read or written
		{"check_site", r.checkSite},             // what a site owns alone; which site applies the CRDs
		{"check_version", r.checkVersion},       // supported, and no silent downgrade
		{"gather_facts", r.gatherFacts},         // node pod CIDRs, LoadBalancer IP
		{"render", r.render},                    // the Flux objects, from the pure render package
		{"begin_upgrade", r.beginUpgrade},       // upgrades: preflight, suspend, pre-upgrade Job, legacy uninstall
		{"apply", r.applyAll},                   // sources and CRDs, then (once the CRDs are ready) the HelmRelease
		{"prune", r.prune},                      // delete what is no longer rendered
		{"check_readiness", r.checkReadiness},   // mirror the objects' readiness
		{"complete_upgrade", r.completeUpgrade}, // upgrades: post-upgrade Job, then record the migrations
	} {
		start := time.Now()
		err := step.run(ctx, s)
		metrics.ObserveStep(step.name, time.Since(start))
		if err != nil {
			return r.outcome(obj, err)
		}
	}

	obj.Status.LastAppliedVersion = obj.Spec.Version
	obj.Status.LastAppliedValuesDigest = s.result.ValuesDigest
	conditions.MarkTrue(obj, meta.ReadyCondition, meta.ReconciliationSucceededReason,
		"Tinkerbell %s is ready", obj.Spec.Version)
	return jitter.JitteredRequeueInterval(ctrl.Result{RequeueAfter: obj.GetInterval()}), nil
}

// outcome maps a step's error to conditions and a result, in one place:
// stalled → Ready=False + Stalled=True, no retry until something changes (or, for an object in the way, a look
// again every spec.interval);
// waiting → Ready=False, look again after DependencyRequeueInterval;
// anything else is transient → Ready=False, retried with backoff.
func (r *TinkerbellReconciler) outcome(obj *kubetinkv1alpha1.Tinkerbell, err error) (ctrl.Result, error) {
	var se *stalledError
	var we *waitingError
	switch {
	case errors.As(err, &se):
		conditions.MarkFalse(obj, meta.ReadyCondition, se.reason, "%s", se.message)
		conditions.MarkStalled(obj, se.reason, "%s", se.message)
		if se.recheck {
			return ctrl.Result{RequeueAfter: obj.GetInterval()}, nil
		}
		return ctrl.Result{}, reconcile.TerminalError(err)
	case errors.As(err, &we):
		// A Stalled condition from an earlier pass no longer holds: this one can progress.
		conditions.Delete(obj, meta.StalledCondition)
		conditions.MarkFalse(obj, meta.ReadyCondition, we.reason, "%s", we.message)
		return ctrl.Result{RequeueAfter: r.DependencyRequeueInterval}, nil
	default:
		conditions.Delete(obj, meta.StalledCondition)
		conditions.MarkFalse(obj, meta.ReadyCondition, meta.ReconciliationFailedReason, "%s", err.Error())
		return ctrl.Result{}, err
	}
}

// patch writes what changed in the metadata (finalizers) and in the status since base, each as one merge patch
// with optimistic locking, and moves base forward. A pass that started from an outdated object therefore fails
// with a conflict and is retried on the latest one, instead of merging its conclusions into a newer generation
// (which a conflict-resolving patcher would do). Nothing is sent when nothing changed.
func (r *TinkerbellReconciler) patch(ctx context.Context, obj, base *kubetinkv1alpha1.Tinkerbell) error {
	lock := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
	if !equality.Semantic.DeepEqual(base.Finalizers, obj.Finalizers) {
		status := obj.Status.DeepCopy()
		if err := r.Patch(ctx, obj, lock, client.FieldOwner(r.ControllerName)); err != nil {
			return r.ignoreGone(obj, fmt.Errorf("failed to patch the finalizers: %w", err))
		}
		obj.Status = *status // the response carries the stored status; keep this pass's
		base.Finalizers, base.ResourceVersion = slices.Clone(obj.Finalizers), obj.ResourceVersion
		lock = client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
	}
	if !equality.Semantic.DeepEqual(base.Status, obj.Status) {
		if err := r.Status().Patch(ctx, obj, lock, client.FieldOwner(r.ControllerName)); err != nil {
			return r.ignoreGone(obj, fmt.Errorf("failed to patch the status: %w", err))
		}
		base.Status, base.ResourceVersion = *obj.Status.DeepCopy(), obj.ResourceVersion
	}
	return nil
}

// ignoreGone drops NotFound errors for an object being deleted: its finalizer is gone, so is the object.
func (r *TinkerbellReconciler) ignoreGone(obj *kubetinkv1alpha1.Tinkerbell, err error) error {
	if !obj.DeletionTimestamp.IsZero() && apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// reader returns the uncached reader when the manager provides one.
func (r *TinkerbellReconciler) reader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}
