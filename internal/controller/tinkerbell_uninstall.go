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

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// resumeBeforeUninstall clears spec.suspend on a HelmRelease about to be deleted for an uninstall.
// helm-controller skips the Helm uninstall of a suspended HelmRelease on deletion (it only drops its finalizer),
// and migratePre suspends the running release before the pre-upgrade Job: deleting it as is would leave the
// legacy stack's workloads running beside the new release. Other kinds are left alone.
func (r *TinkerbellReconciler) resumeBeforeUninstall(ctx context.Context, live client.Object) error {
	hr, ok := live.(*helmv2.HelmRelease)
	if !ok || !hr.Spec.Suspend {
		return nil
	}
	base := hr.DeepCopy()
	hr.Spec.Suspend = false
	if err := r.Patch(ctx, hr, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to resume HelmRelease %s/%s before uninstalling it: %w", hr.Namespace, hr.Name, err)
	}
	return nil
}
