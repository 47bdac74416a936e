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
	"fmt"
	"slices"
	"sync"

	"github.com/fluxcd/pkg/runtime/predicates"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/sites"
)

// TinkerbellReconcilerOptions tune the controller.
type TinkerbellReconcilerOptions struct {
	// MaxConcurrentReconciles is how many Tinkerbells are reconciled at once.
	MaxConcurrentReconciles int
	// RateLimiter backs off failing reconciliations.
	RateLimiter workqueue.TypedRateLimiter[reconcile.Request]
	// SkipNameValidation allows more than one controller of this name in a process (tests restarting managers).
	SkipNameValidation bool
}

// SetupWithManager registers the field indexes and the watches: the Tinkerbell itself (spec changes and reconcile
// requests), the Flux objects it owns and the Argo CD Applications labelled as its own (their status drives
// readiness; each kind once the apiserver serves it), its Jobs, Nodes (pod CIDRs feed trustedProxies), Services
// (spec.publicIPFrom) and the other sites of the cluster.
func (r *TinkerbellReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts TinkerbellReconcilerOptions) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &kubetinkv1alpha1.Tinkerbell{}, indexPublicIPFrom, func(o client.Object) []string {
		tb := o.(*kubetinkv1alpha1.Tinkerbell)
		if ref := tb.Spec.PublicIPFrom; ref != nil {
			ns := ref.Namespace
			if ns == "" {
				ns = tb.Namespace
			}
			return []string{ns + "/" + ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}

	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&kubetinkv1alpha1.Tinkerbell{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{}))).
		Owns(&batchv1.Job{}).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.tinkerbellsDerivingProxies),
			builder.WithPredicates(podCIDRsChanged())).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.tinkerbellsUsingService),
			builder.WithPredicates(loadBalancerChanged())).
		Watches(&kubetinkv1alpha1.Tinkerbell{}, handler.EnqueueRequestsFromMapFunc(r.otherSites),
			builder.WithPredicates(siteChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles, RateLimiter: opts.RateLimiter,
			SkipNameValidation: &opts.SkipNameValidation}).
		Build(r)
	if err != nil {
		return err
	}
	// The generated kinds are watched only once the apiserver serves them: a cluster may run one engine only.
	r.watches = &lazyWatches{controller: c, cache: mgr.GetCache(), mapper: mgr.GetRESTMapper(), scheme: mgr.GetScheme(),
		registered: map[schema.GroupKind]bool{}, own: &ownWrites{versions: map[types.UID]string{}}}
	for _, e := range engines {
		if err := r.watches.ensure(e); err != nil {
			return err
		}
		if !r.watches.served(e) {
			ctrl.LoggerFrom(ctx).Info("the apiserver does not serve this engine's kinds yet; they are watched once a Tinkerbell uses it and they are served",
				"engine", e.name())
		}
	}
	return nil
}

// lazyWatches registers the watches on kinds the apiserver may not serve yet, each once it serves it: the
// objects Kubetink generates, per engine (ensure), and the Workflows and BMC Jobs an upgrade waits for
// (watchBlockers). It does so at start-up, or later from a reconciliation (a controller accepts watches after it
// started). A watch on a kind the apiserver does not serve would stop the manager when its informer fails to sync.
type lazyWatches struct {
	controller controller.Controller
	cache      cache.Cache
	mapper     apimeta.RESTMapper
	scheme     *runtime.Scheme

	mu         sync.Mutex
	registered map[schema.GroupKind]bool
	// own tells the events of the manager's own applies from those of anyone else.
	own *ownWrites
}

// ownWrites holds, for each generated object, the resourceVersion its latest apply by this manager returned. The
// watch event of that write starts no pass: the pass that applied the object saw it as written (scope.written),
// and without this every site would take an extra pass after each pass that applies something. Any other change
// (Flux's status, someone else's edit, a deletion) comes with another resourceVersion and starts a pass as before.
// An event that arrives before its apply returns starts a pass too; its entry then waits for the next write.
type ownWrites struct {
	mu       sync.Mutex
	versions map[types.UID]string
}

// wrote records obj as the manager's own apply just returned it.
func (w *lazyWatches) wrote(obj client.Object) {
	if w == nil || w.own == nil {
		return
	}
	w.own.mu.Lock()
	defer w.own.mu.Unlock()
	w.own.versions[obj.GetUID()] = obj.GetResourceVersion()
}

// isOwn reports whether obj is as the manager's own latest write left it, and forgets that write.
func (o *ownWrites) isOwn(obj client.Object) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if rv, ok := o.versions[obj.GetUID()]; ok && rv == obj.GetResourceVersion() {
		delete(o.versions, obj.GetUID())
		return true
	}
	return false
}

// notOwnWrites lets through every event except those of the manager's own writes; deletions clear the record.
func (o *ownWrites) notOwnWrites() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return !o.isOwn(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool { return !o.isOwn(e.ObjectNew) },
		DeleteFunc: func(e event.DeleteEvent) bool {
			o.mu.Lock()
			defer o.mu.Unlock()
			delete(o.versions, e.Object.GetUID())
			return true
		},
	}
}

// OwnedKinds returns an object of each kind Kubetink creates and watches: the Flux and Argo CD objects it
// generates and its migration Jobs. Every object of these kinds that Kubetink writes carries
// kubetinkv1alpha1.LabelManagedBy=kubetinkv1alpha1.ManagedBy, so a manager may cache only those (cmd/kubetink does): a cluster's
// other HelmReleases, Kustomizations, Applications and Jobs need not fill Kubetink's memory.
func OwnedKinds() []client.Object {
	out := []client.Object{&batchv1.Job{}}
	for _, e := range engines {
		out = append(out, e.kinds()...)
	}
	return out
}

// ensure watches the engine's kinds that are served and not watched yet, mapping their events to their
// Tinkerbell the engine's way (ownerHandler).
func (w *lazyWatches) ensure(e engine) error {
	if w == nil {
		return nil
	}
	h := e.ownerHandler(w.scheme, w.mapper)
	if w.own != nil {
		return w.watchServed(e.kinds(), h, w.own.notOwnWrites())
	}
	return w.watchServed(e.kinds(), h)
}

// watchServed watches each of objs' kinds that the apiserver serves and that is not watched yet.
func (w *lazyWatches) watchServed(objs []client.Object, h handler.EventHandler, preds ...predicate.Predicate) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, obj := range objs {
		gvk, err := apiutil.GVKForObject(obj, w.scheme)
		if err != nil {
			return err
		}
		if w.registered[gvk.GroupKind()] {
			continue
		}
		if _, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			continue // not served (yet)
		}
		if err := w.controller.Watch(source.Kind(w.cache, obj.DeepCopyObject().(client.Object), h, preds...)); err != nil {
			return fmt.Errorf("failed to watch %s: %w", gvk.Kind, err)
		}
		w.registered[gvk.GroupKind()] = true
	}
	return nil
}

// blockerKinds are the kinds whose running objects hold an upgrade back: Workflows and BMC Jobs. Only their
// metadata is cached; a change is a reason to run the preflight again, which lists them from the apiserver.
func blockerKinds() []client.Object {
	targets := migration.BlockerTargets()
	out := make([]client.Object, 0, len(targets))
	for _, t := range targets {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(schema.GroupVersionKind{Group: t.Group, Version: t.Version, Kind: t.Kind})
		out = append(out, m)
	}
	return out
}

// watchBlockers watches Workflows and BMC Jobs once an upgrade waits for them, so that the last one finishing
// (or being deleted) lets the upgrade go ahead at once rather than at the next periodic look. Creations count
// too: the watch starts with a list, and a Workflow that finished while it started arrives as one.
func (w *lazyWatches) watchBlockers(h handler.EventHandler) error {
	if w == nil {
		return nil
	}
	return w.watchServed(blockerKinds(), h)
}

// served reports whether every kind of the engine is watched, which ensure does once the apiserver serves it.
func (w *lazyWatches) served(e engine) bool {
	if w == nil {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, obj := range e.kinds() {
		gvk, err := apiutil.GVKForObject(obj, w.scheme)
		if err != nil || !w.registered[gvk.GroupKind()] {
			return false
		}
	}
	return true
}

func requests(list *kubetinkv1alpha1.TinkerbellList, keep func(*kubetinkv1alpha1.Tinkerbell) bool) []reconcile.Request {
	var reqs []reconcile.Request
	for i := range list.Items {
		if keep(&list.Items[i]) {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: list.Items[i].Namespace, Name: list.Items[i].Name}})
		}
	}
	return reqs
}

// tinkerbellsDerivingProxies maps a Node change to the Tinkerbells whose trusted proxies come from pod CIDRs.
func (r *TinkerbellReconciler) tinkerbellsDerivingProxies(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &kubetinkv1alpha1.TinkerbellList{}
	if err := r.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list Tinkerbells for a Node change")
		return nil
	}
	return requests(list, func(tb *kubetinkv1alpha1.Tinkerbell) bool { return len(tb.Spec.TrustedProxies) == 0 })
}

// tinkerbellsUsingService maps a Service change to the Tinkerbells that take their public IP from it.
func (r *TinkerbellReconciler) tinkerbellsUsingService(ctx context.Context, o client.Object) []reconcile.Request {
	list := &kubetinkv1alpha1.TinkerbellList{}
	if err := r.List(ctx, list, client.MatchingFields{indexPublicIPFrom: o.GetNamespace() + "/" + o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list Tinkerbells for a Service change")
		return nil
	}
	return requests(list, func(*kubetinkv1alpha1.Tinkerbell) bool { return true })
}

// tinkerbellsBlocked maps a change of a Workflow or BMC Job to the Tinkerbells whose upgrade has not passed its
// preflight yet, which then runs again. That includes upgrades not recorded yet: the pass that finds the first
// blockers starts the watch before it records the upgrade.
func (r *TinkerbellReconciler) tinkerbellsBlocked(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &kubetinkv1alpha1.TinkerbellList{}
	if err := r.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list Tinkerbells for a Workflow or BMC Job change")
		return nil
	}
	return requests(list, func(tb *kubetinkv1alpha1.Tinkerbell) bool {
		applied, u := tb.Status.LastAppliedVersion, tb.Status.Upgrade
		return applied != "" && catalog.Compare(tb.Spec.Version, applied) > 0 &&
			(u.Phase == "" || u.ToVersion != tb.Spec.Version || u.Phase == kubetinkv1alpha1.UpgradePreflight)
	})
}

// otherSites maps a change of one site (see siteChanged) to the others it may affect: those refused for a
// conflict with another site, which may now proceed, and those whose part in applying the CRDs changes (a new
// provider starts applying them, the previous one stops, the others record where they come from).
func (r *TinkerbellReconciler) otherSites(ctx context.Context, o client.Object) []reconcile.Request {
	all, err := r.clusterSites(ctx)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list Tinkerbells for a change of another site")
		return nil
	}
	primary := sites.Primary(all, nil)
	var reqs []reconcile.Request
	for _, tb := range all {
		if tb.Name == o.GetName() && tb.Namespace == o.GetNamespace() {
			continue // its own watch has it
		}
		if sites.Refused(tb) || tb.Status.PrimarySite != sites.PrimaryOf(tb, primary) {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: tb.Namespace, Name: tb.Name}})
		}
	}
	return reqs
}

// siteChanged passes the events of a Tinkerbell that change what it holds as a site: its creation and deletion,
// and the fields and status package sites decides on.
func siteChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*kubetinkv1alpha1.Tinkerbell), e.ObjectNew.(*kubetinkv1alpha1.Tinkerbell)
			return o.DeletionTimestamp.IsZero() != n.DeletionTimestamp.IsZero() ||
				o.Spec.Version != n.Spec.Version || o.Spec.Scope != n.Spec.Scope || o.Spec.PublicIP != n.Spec.PublicIP ||
				o.GetTargetNamespace() != n.GetTargetNamespace() || o.CRDsManaged() != n.CRDsManaged() ||
				o.Status.LastAppliedVersion != n.Status.LastAppliedVersion || o.Status.PrimarySite != n.Status.PrimarySite ||
				sites.Refused(o) != sites.Refused(n) ||
				(o.Status.Inventory == nil) != (n.Status.Inventory == nil)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

func podCIDRsChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*corev1.Node), e.ObjectNew.(*corev1.Node)
			return o.Spec.PodCIDR != n.Spec.PodCIDR || !slices.Equal(o.Spec.PodCIDRs, n.Spec.PodCIDRs)
		},
	}
}

func loadBalancerChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*corev1.Service), e.ObjectNew.(*corev1.Service)
			return !slices.EqualFunc(o.Status.LoadBalancer.Ingress, n.Status.LoadBalancer.Ingress,
				func(a, b corev1.LoadBalancerIngress) bool { return a.IP == b.IP && a.Hostname == b.Hostname })
		},
	}
}
