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

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/render"
)

// The CRDs come first: the chart's release is installed or upgraded only once the CRDs of its version are
// established. With Flux that means a GitRepository at the release's tag and one Kustomization per CRD directory,
// and two rules keep them in step when the version changes:
//
//   - A Kustomization is changed only once its GitRepository has fetched the new tag. Applied together, the
//     Kustomization would build its new path from the previous tag's artifact and fail ("kustomization path not
//     found") until the fetch completes: a failure users would see for nothing.
//   - A Kustomization counts as ready only when it has applied the artifact its GitRepository serves now. Where
//     the path does not change between two releases its generation does not change either, and Ready for its
//     generation would still describe the previous release's CRDs.

// isCRDKustomization reports whether u is a Kustomization that applies the Tinkerbell CRDs.
func isCRDKustomization(u *unstructured.Unstructured) bool {
	return u.GetKind() == kustomizev1.KustomizationKind && u.GetLabels()[render.LabelComponent] == render.ComponentCRDs
}

// crdSource returns the live GitRepository of the CRDs, or nil when the Tinkerbell renders none (Argo CD, or
// CRDs not managed) or it does not exist yet.
func (r *TinkerbellReconciler) crdSource(ctx context.Context, s *scope) (*unstructured.Unstructured, error) {
	for _, u := range s.result.Objects {
		if u.GetKind() == sourcev1.GitRepositoryKind && u.GetLabels()[render.LabelComponent] == render.ComponentCRDs {
			return r.current(ctx, s, u)
		}
	}
	return nil, nil
}

// artifactRevision returns the revision of a source's current artifact ("v0.25.0@sha1:…"), or "" before the
// first fetch.
func artifactRevision(source *unstructured.Unstructured) string {
	if source == nil {
		return ""
	}
	rev, _, _ := unstructured.NestedString(source.Object, "status", "artifact", "revision")
	return rev
}

// holdCRDKustomizations reports whether changes to the CRD Kustomizations must wait: the GitRepository has an
// artifact, but not yet one for its current spec. Before the first fetch there is no older artifact to build
// from, so a new Kustomization may be created at once and waits for the artifact by itself.
func holdCRDKustomizations(source *unstructured.Unstructured) bool {
	if source == nil || artifactRevision(source) == "" {
		return false
	}
	ready, _, _ := readiness(source)
	return !ready
}

// crdsReady reports whether the CRDs of the rendered version are established: their GitRepository is Ready for
// its current spec and every CRD Kustomization is ready by the engine's readiness (which checks the artifact it
// applied), or every CRD Application is Healthy and Synced.
func (r *TinkerbellReconciler) crdsReady(ctx context.Context, s *scope) (bool, error) {
	e := r.engineFor(s.obj)
	source, err := r.crdSource(ctx, s)
	if err != nil {
		return false, err
	}
	if source != nil {
		if ready, _, _ := readiness(source); !ready {
			return false, nil
		}
	}
	for _, u := range s.result.Objects {
		if u.GetLabels()[render.LabelComponent] != render.ComponentCRDs {
			continue
		}
		live, err := r.current(ctx, s, u)
		if err != nil || live == nil {
			return false, err
		}
		if ready, _, _ := e.readiness(live, revisions{crdSource: source}); !ready {
			return false, nil
		}
	}
	return true, nil
}
