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

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/inventory"
	"github.com/kubetink/kubetink/internal/metrics"
)

// finalize handles a Tinkerbell being deleted. With deletionPolicy Delete it deletes the chart installers first
// (the HelmReleases, or the Applications) and waits until helm-controller has uninstalled them, or Argo CD has
// deleted the chart Application's resources (its resources finalizer), then the remaining generated objects; with Orphan
// it only orphans the objects (drops the owner references, and the Applications' resources finalizer) so the
// garbage collector leaves them running and deleting them later uninstalls nothing. CRDs and users' objects are
// never touched: the CRD Kustomization has deletionPolicy Orphan, the CRD Applications no resources finalizer.
func (r *TinkerbellReconciler) finalize(ctx context.Context, obj, base *kubetinkv1alpha1.Tinkerbell) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	entries := []kubetinkv1alpha1.ResourceRef{}
	if obj.Status.Inventory != nil {
		entries = obj.Status.Inventory.Entries
	}

	if obj.GetDeletionPolicy() == kubetinkv1alpha1.DeletionPolicyOrphan {
		for _, ref := range entries {
			if err := r.orphan(ctx, obj, ref); err != nil {
				return ctrl.Result{}, err
			}
		}
	} else {
		// Chart installers first, and the rest once they are gone: the sources must outlive the uninstall.
		installers, rest := partitionRefs(entries, isChartInstaller)
		for _, ref := range installers {
			if err := r.deleteOwned(ctx, obj, ref); err != nil {
				return ctrl.Result{}, err
			}
		}
		if r.chartInstallersRemain(ctx, obj, installers) {
			conditions.MarkFalse(obj, meta.ReadyCondition, meta.ProgressingReason, "waiting for the releases to be uninstalled")
			return ctrl.Result{RequeueAfter: r.DependencyRequeueInterval}, nil
		}
		for _, ref := range rest {
			if err := r.deleteOwned(ctx, obj, ref); err != nil {
				return ctrl.Result{}, err
			}
		}
	}

	if err := r.deleteMigrationBindings(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}
	metrics.DeleteTinkerbell(obj.Namespace, obj.Name)
	controllerutil.RemoveFinalizer(obj, kubetinkv1alpha1.Finalizer)
	if err := r.patch(ctx, obj, base); err != nil {
		return ctrl.Result{}, fmt.Errorf("failed to remove the finalizer: %w", err)
	}
	log.Info("finalized", "deletionPolicy", obj.GetDeletionPolicy())
	return ctrl.Result{}, nil
}

// orphan lets one generated object outlive the Tinkerbell, the way of its engine (engine.orphan).
func (r *TinkerbellReconciler) orphan(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell, ref kubetinkv1alpha1.ResourceRef) error {
	u, err := inventory.Object(ref)
	if err != nil {
		return nil
	}
	live, err := r.getLive(ctx, u)
	if err != nil || live == nil {
		return err
	}
	return engineOf(u).orphan(ctx, r.Client, obj, live)
}

// chartInstallersRemain reports whether any of the inventory's chart installers (HelmReleases or Applications) still exists (helm-controller
// keeps a HelmRelease, through its finalizer, until the Helm release is uninstalled; Argo CD keeps the chart's
// Application, through its resources finalizer, until its resources are deleted).
func (r *TinkerbellReconciler) chartInstallersRemain(ctx context.Context, obj *kubetinkv1alpha1.Tinkerbell, installers []kubetinkv1alpha1.ResourceRef) bool {
	for _, ref := range installers {
		u, err := inventory.Object(ref)
		if err != nil {
			continue
		}
		// Another's object under the name is not waited for: deleteOwned leaves it alone.
		if live, err := r.getLive(ctx, u); err != nil || live != nil && owns(obj, live) {
			return true
		}
	}
	return false
}

// isChartInstaller reports whether deleting an inventory entry uninstalls services (engine.installs): a HelmRelease,
// or an Application.
func isChartInstaller(ref kubetinkv1alpha1.ResourceRef) bool {
	u, err := inventory.Object(ref)
	return err == nil && engineOf(u).installs(u)
}

// partitionRefs splits refs into those that match and the others, each in its order.
func partitionRefs(refs []kubetinkv1alpha1.ResourceRef, match func(kubetinkv1alpha1.ResourceRef) bool) (in, out []kubetinkv1alpha1.ResourceRef) {
	for _, ref := range refs {
		if match(ref) {
			in = append(in, ref)
		} else {
			out = append(out, ref)
		}
	}
	return in, out
}
