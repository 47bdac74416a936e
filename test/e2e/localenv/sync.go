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

package localenv

import (
	"context"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// SyncOptions describe a Flux GitRepository + Kustomization pair that syncs a path of a repository.
type SyncOptions struct {
	// Name of both objects, in FluxNamespace.
	Name string
	// Repo is the source.
	Repo *Repo
	// Path in the repository, such as ./clusters/local.
	Path string
	// Interval of the GitRepository; commits are picked up at this pace unless a reconciliation is requested.
	Interval time.Duration
	// Wait makes the Kustomization wait for the applied objects to become ready (kstatus).
	Wait bool
	// Timeout bounds the apply and the wait.
	Timeout time.Duration
	// HealthChecks are custom health checks (CEL) for kinds kstatus cannot judge on its own.
	HealthChecks []kustomize.CustomHealthCheck
}

// TinkerbellHealthCheck lets a Flux Kustomization wait for Tinkerbell objects by their conditions, Ready
// included. Plain kstatus is enough too (status.observedGeneration defaults to -1, so a Tinkerbell Kubetink has
// not seen yet is in progress; TestLegacyStackUpgrade syncs that way); the GitOps scenarios and the demo use this
// stricter check.
var TinkerbellHealthCheck = kustomize.CustomHealthCheck{
	APIVersion: kubetinkv1alpha1.GroupVersion.String(),
	Kind:       kubetinkv1alpha1.TinkerbellKind,
	HealthCheckExpressions: kustomize.HealthCheckExpressions{
		InProgress: "status.conditions.exists(c, c.type == 'Reconciling' && c.status == 'True')",
		Failed:     "status.conditions.exists(c, c.type == 'Stalled' && c.status == 'True')",
		Current:    "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
	},
}

// CreateSync creates the GitRepository and the Kustomization, as "flux create source git" and
// "flux create kustomization" would.
func (e *Env) CreateSync(ctx context.Context, o SyncOptions) error {
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: FluxNamespace},
		Spec: sourcev1.GitRepositorySpec{
			URL:       o.Repo.URL,
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
			Interval:  metav1.Duration{Duration: o.Interval},
			Timeout:   &metav1.Duration{Duration: 30 * time.Second},
		},
	}
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: FluxNamespace},
		Spec: kustomizev1.KustomizationSpec{
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: o.Name},
			Path:      o.Path,
			Prune:     true,
			Wait:      o.Wait,
			Interval:  metav1.Duration{Duration: 10 * time.Minute},
			Timeout:   &metav1.Duration{Duration: o.Timeout},

			HealthCheckExprs: o.HealthChecks,
		},
	}
	if err := e.Client.Create(ctx, repo); err != nil {
		return err
	}
	return e.Client.Create(ctx, ks)
}

// RequestReconcile annotates a Flux object (or a Tinkerbell) with reconcile.fluxcd.io/requestedAt, as
// "flux reconcile" does, so a new commit is fetched without waiting for the interval.
func (e *Env) RequestReconcile(ctx context.Context, kind, namespace, name string) error {
	_, err := Kubectl(ctx, e.Kubeconfig, "annotate", "--overwrite", "-n", namespace, kind, name,
		meta.ReconcileRequestAnnotation+"="+time.Now().Format(time.RFC3339Nano))
	return err
}
