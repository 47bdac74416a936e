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

package testutil

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ErrNoArtifact is returned for a Kustomization or HelmRelease whose source has no artifact yet: its controller
// would wait for one, and reconcile again when it appears.
var ErrNoArtifact = errors.New("the source has no artifact yet")

// SourceGetter returns the live source object of a kind and name in a namespace, or nil when there is none.
type SourceGetter func(kind, namespace, name string) (*unstructured.Unstructured, error)

// SourcesFrom returns a SourceGetter that reads Flux sources (source.toolkit.fluxcd.io/v1) with c.
func SourcesFrom(ctx context.Context, c client.Reader) SourceGetter {
	return func(kind, namespace, name string) (*unstructured.Unstructured, error) {
		source := &unstructured.Unstructured{}
		source.SetGroupVersionKind(sourcev1.GroupVersion.WithKind(kind))
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, source)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return source, err
	}
}

// SetFluxRevisions writes into a Flux object's status the revisions its controller records once it has
// reconciled it: a GitRepository's or OCIRepository's artifact for the tag in its spec; the lastAppliedRevision
// of a Kustomization, which is its GitRepository's artifact; and a HelmRelease's latest release, made from the
// chart its OCIRepository holds. Tests that play Flux (no Flux controller runs in envtest) call it with the
// conditions they set. Revisions are derived from the spec, so a new tag gives a new revision.
//
// It reports whether the revisions changed, so a stand-in can reconcile level-based like the controllers: an
// object whose generation was observed still needs a write when its source's artifact moved on.
func SetFluxRevisions(obj *unstructured.Unstructured, getSource SourceGetter) (changed bool, err error) {
	now := time.Now().UTC().Format(time.RFC3339)
	switch obj.GetKind() {
	case "GitRepository", "OCIRepository":
		url, _, _ := unstructured.NestedString(obj.Object, "spec", "url")
		tag, _, _ := unstructured.NestedString(obj.Object, "spec", "ref", "tag")
		sum := fmt.Sprintf("%x", sha256.Sum256([]byte(url+"@"+tag)))
		revision := tag + "@sha256:" + sum
		if obj.GetKind() == "GitRepository" {
			revision = tag + "@sha1:" + sum[:40]
		}
		if current, _, _ := unstructured.NestedString(obj.Object, "status", "artifact", "revision"); current == revision {
			return false, nil
		}
		path := strings.ToLower(obj.GetKind()) + "/" + obj.GetNamespace() + "/" + obj.GetName() + "/" + sum[:12] + ".tar.gz"
		return true, unstructured.SetNestedMap(obj.Object, map[string]any{
			"revision": revision, "digest": "sha256:" + sum, "path": path,
			"url": "http://source-controller.flux-system.svc/" + path, "lastUpdateTime": now,
		}, "status", "artifact")
	case kustomizev1.KustomizationKind:
		name, _, _ := unstructured.NestedString(obj.Object, "spec", "sourceRef", "name")
		source, err := getSource("GitRepository", obj.GetNamespace(), name)
		if err != nil {
			return false, err
		}
		revision, _, _ := unstructured.NestedString(sourceArtifact(source), "revision")
		if revision == "" {
			return false, ErrNoArtifact
		}
		if current, _, _ := unstructured.NestedString(obj.Object, "status", "lastAppliedRevision"); current == revision {
			return false, nil
		}
		return true, unstructured.SetNestedField(obj.Object, revision, "status", "lastAppliedRevision")
	case helmv2.HelmReleaseKind:
		kind, _, _ := unstructured.NestedString(obj.Object, "spec", "chartRef", "kind")
		name, _, _ := unstructured.NestedString(obj.Object, "spec", "chartRef", "name")
		if kind != "OCIRepository" {
			return false, nil
		}
		source, err := getSource(kind, obj.GetNamespace(), name)
		if err != nil {
			return false, err
		}
		digest, _, _ := unstructured.NestedString(sourceArtifact(source), "digest")
		if len(digest) < len("sha256:")+12 {
			return false, ErrNoArtifact
		}
		tag, _, _ := unstructured.NestedString(source.Object, "spec", "ref", "tag")
		// helm-controller qualifies an OCI chart's version with the first 12 characters of the artifact digest.
		chartVersion := strings.TrimPrefix(tag, "v") + "+" + digest[len("sha256:"):len("sha256:")+12]
		if current, _, _ := unstructured.NestedString(obj.Object, "status", "lastAttemptedRevision"); current == chartVersion {
			return false, nil
		}
		release, _, _ := unstructured.NestedString(obj.Object, "spec", "releaseName")
		namespace, _, _ := unstructured.NestedString(obj.Object, "spec", "targetNamespace")
		if err := unstructured.SetNestedSlice(obj.Object, []any{map[string]any{
			"chartName": name, "chartVersion": chartVersion, "configDigest": digest, "digest": digest,
			"firstDeployed": now, "lastDeployed": now, "name": release, "namespace": namespace,
			"status": "deployed", "version": int64(1),
		}}, "status", "history"); err != nil {
			return false, err
		}
		return true, unstructured.SetNestedField(obj.Object, chartVersion, "status", "lastAttemptedRevision")
	}
	return false, nil
}

// sourceArtifact returns a source's status.artifact, or nil.
func sourceArtifact(source *unstructured.Unstructured) map[string]any {
	if source == nil {
		return nil
	}
	artifact, _, _ := unstructured.NestedMap(source.Object, "status", "artifact")
	return artifact
}
