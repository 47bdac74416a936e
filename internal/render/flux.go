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

package render

import (
	"encoding/json"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

const (
	// HelmChartMediaType is the media type of the chart layer of a Helm OCI artifact.
	HelmChartMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	// RemediationRetries is how often a failed install or upgrade is retried after remediation.
	RemediationRetries = 3
	// sourceTimeout is the source-controller default for OCI and Git operations, written out so the desired
	// object matches what the API server stores.
	sourceTimeout = 60 * time.Second
)

// builder builds the typed Flux objects of one Tinkerbell.
type builder struct {
	obj *kubetinkv1alpha1.Tinkerbell
	rel catalog.Release
	// crds is true when this Tinkerbell's objects apply the CRDs: Kubetink manages them and no other site of
	// the cluster provides them (values.Facts.PrimarySite).
	crds bool
	// argoCDNamespace is where the Applications go: values.Facts.ArgoCDNamespace, or spec.argoCD.namespace and
	// its default.
	argoCDNamespace string
}

// objectMeta returns the name, namespace and labels of a generated object.
func (b *builder) objectMeta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: b.obj.Namespace,
		Labels: map[string]string{
			LabelName:                       b.obj.Name,
			LabelNamespace:                  b.obj.Namespace,
			LabelComponent:                  component,
			kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy,
		},
	}
}

func (b *builder) interval() metav1.Duration {
	return metav1.Duration{Duration: b.obj.GetInterval()}
}

// ociRepository is the chart's source, pinned to the release's tag, keeping the Helm chart layer as is.
func (b *builder) ociRepository() *sourcev1.OCIRepository {
	repo := &sourcev1.OCIRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.OCIRepositoryKind},
		ObjectMeta: b.objectMeta(ChartRepositoryName(b.obj.Name, b.rel), ComponentChart),
		Spec: sourcev1.OCIRepositorySpec{
			URL:       b.rel.ChartURL,
			Reference: &sourcev1.OCIRepositoryRef{Tag: b.rel.ChartVersion},
			LayerSelector: &sourcev1.OCILayerSelector{
				MediaType: HelmChartMediaType,
				Operation: sourcev1.OCILayerCopy,
			},
			Provider: sourcev1.GenericOCIProvider,
			Interval: b.interval(),
			Timeout:  &metav1.Duration{Duration: sourceTimeout},
		},
	}
	if c := b.obj.Spec.Chart; c != nil {
		if c.URL != "" {
			repo.Spec.URL = c.URL
		}
		repo.Spec.Insecure = c.Insecure
		repo.Spec.SecretRef = localRef(c.SecretRef)
	}
	return repo
}

// gitRepository is the CRDs' source at the release's tag. It ignores everything outside the CRD directories, so
// the artifact holds only the CRDs.
func (b *builder) gitRepository() *sourcev1.GitRepository {
	paths, _ := crdPaths(b.obj, b.rel)
	ignore := ignoreAllBut(paths)
	repo := &sourcev1.GitRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
		ObjectMeta: b.objectMeta(CRDsSourceName(b.obj.Name), ComponentCRDs),
		Spec: sourcev1.GitRepositorySpec{
			URL:       b.rel.CRDs.URL,
			Reference: &sourcev1.GitRepositoryRef{Tag: b.rel.CRDs.Tag},
			Interval:  b.interval(),
			Timeout:   &metav1.Duration{Duration: sourceTimeout},
			Ignore:    &ignore,
		},
	}
	if s := crdSource(b.obj); s != nil {
		if s.URL != "" {
			repo.Spec.URL = s.URL
		}
		if s.Tag != "" {
			repo.Spec.Reference.Tag = s.Tag
		}
		repo.Spec.SecretRef = localRef(s.SecretRef)
	}
	return repo
}

// kustomizations apply the CRDs, one per CRD directory. CRDs must never be deleted: pruning is off and deleting
// the Kustomization orphans what it applied. Wait makes Ready mean the CRDs are established. kustomize-controller
// applies them as spec.serviceAccountName when the Tinkerbell names one (or the manager's default does).
func (b *builder) kustomizations() []*kustomizev1.Kustomization {
	paths, suffixes := crdPaths(b.obj, b.rel)
	out := make([]*kustomizev1.Kustomization, 0, len(paths))
	for i, p := range paths {
		out = append(out, &kustomizev1.Kustomization{
			TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
			ObjectMeta: b.objectMeta(objectName(b.obj.Name, "-crds"+suffixes[i]), ComponentCRDs),
			Spec: kustomizev1.KustomizationSpec{
				SourceRef: kustomizev1.CrossNamespaceSourceReference{
					Kind: sourcev1.GitRepositoryKind,
					Name: CRDsSourceName(b.obj.Name),
				},
				Path:               "./" + p,
				Interval:           b.interval(),
				Prune:              false,
				DeletionPolicy:     kustomizev1.DeletionPolicyOrphan,
				Wait:               true,
				ServiceAccountName: b.obj.Spec.ServiceAccountName,
			},
		})
	}
	return out
}

// helmRelease installs the chart from the OCIRepository. The values are set by Render on the unstructured object.
func (b *builder) helmRelease() *helmv2.HelmRelease {
	target := b.obj.GetTargetNamespace()
	crds := helmv2.Skip
	if !b.obj.CRDsManaged() && b.rel.Legacy {
		// The stack chart's subcharts carry the CRDs in crds/, which Helm installs once.
		crds = helmv2.Create
	}
	// Under an impersonated account the target namespace is the cluster admin's: the account's RoleBinding lives
	// there, so it exists before the install, and creating it would take a right to patch a Namespace (its Pod
	// Security labels included; Helm v4 applies the Namespace server-side, helm-controller v1.6.4).
	hr := &helmv2.HelmRelease{
		TypeMeta:   metav1.TypeMeta{APIVersion: helmv2.GroupVersion.String(), Kind: helmv2.HelmReleaseKind},
		ObjectMeta: b.objectMeta(HelmReleaseName(b.obj.Name, b.rel), ComponentRelease),
		Spec: helmv2.HelmReleaseSpec{
			ChartRef: &helmv2.CrossNamespaceSourceReference{
				Kind: sourcev1.OCIRepositoryKind,
				Name: ChartRepositoryName(b.obj.Name, b.rel),
			},
			Interval:        b.interval(),
			ReleaseName:     ReleaseName(b.rel),
			TargetNamespace: target,
			// The account helm-controller impersonates, as kustomize-controller does for the CRDs.
			ServiceAccountName: b.obj.Spec.ServiceAccountName,
			// Helm keeps its release records beside the release, as "helm install -n <target>" does: two
			// Tinkerbell objects in one namespace cannot collide, and an existing release is found where it is.
			StorageNamespace: target,
			Install: &helmv2.Install{
				CreateNamespace: b.obj.Spec.ServiceAccountName == "",
				CRDs:            crds,
				Remediation:     &helmv2.InstallRemediation{Retries: RemediationRetries},
			},
			Upgrade: &helmv2.Upgrade{
				CRDs: helmv2.Skip,
				Remediation: &helmv2.UpgradeRemediation{
					Retries:              RemediationRetries,
					RemediateLastFailure: new(true),
				},
			},
			DriftDetection: &helmv2.DriftDetection{Mode: helmv2.DriftDetectionEnabled},
			PostRenderers:  b.postRenderers(),
		},
	}
	for _, ref := range b.obj.Spec.ValuesFrom {
		hr.Spec.ValuesFrom = append(hr.Spec.ValuesFrom, meta.ValuesReference{
			Kind:       ref.Kind,
			Name:       ref.Name,
			ValuesKey:  ref.ValuesKey,
			TargetPath: ref.TargetPath,
			Optional:   ref.Optional,
		})
	}
	return hr
}

// postRenderers add spec.registry.imagePullSecrets to every workload the chart renders: neither the unified nor
// the stack chart has an imagePullSecrets value.
func (b *builder) postRenderers() []helmv2.PostRenderer {
	r := b.obj.Spec.Registry
	if r == nil || len(r.ImagePullSecrets) == 0 {
		return nil
	}
	secrets := make([]map[string]string, 0, len(r.ImagePullSecrets))
	for _, s := range r.ImagePullSecrets {
		secrets = append(secrets, map[string]string{"name": s.Name})
	}
	op, _ := json.Marshal([]map[string]any{{
		"op":    "add",
		"path":  "/spec/template/spec/imagePullSecrets",
		"value": secrets,
	}})
	var patches []kustomize.Patch
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		patches = append(patches, kustomize.Patch{
			Patch:  string(op),
			Target: &kustomize.Selector{Group: "apps", Version: "v1", Kind: kind},
		})
	}
	return []helmv2.PostRenderer{{Kustomize: &helmv2.Kustomize{Patches: patches}}}
}

// ignoreAllBut returns a .gitignore document that excludes everything except the given directories. Git cannot
// re-include a file whose parent directory is excluded, so each level excludes its other entries and re-includes
// the next directory down.
func ignoreAllBut(dirs []string) string {
	type node struct {
		children []string
		keep     bool
	}
	nodes := map[string]*node{"": {}}
	for _, d := range dirs {
		dir := ""
		if d != "" {
			for seg := range strings.SplitSeq(d, "/") {
				child := dir + "/" + seg
				if nodes[child] == nil {
					nodes[child] = &node{}
					nodes[dir].children = append(nodes[dir].children, child)
				}
				dir = child
			}
		}
		nodes[dir].keep = true
	}
	rules := []string{"# Kubetink: keep only the CRD manifests."}
	var walk func(dir string)
	walk = func(dir string) {
		n := nodes[dir]
		if n.keep {
			return
		}
		rules = append(rules, dir+"/*")
		for _, c := range n.children {
			rules = append(rules, "!"+c+"/")
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk("")
	return strings.Join(rules, "\n") + "\n"
}

func localRef(ref *meta.LocalObjectReference) *meta.LocalObjectReference {
	if ref == nil || ref.Name == "" {
		return nil
	}
	return &meta.LocalObjectReference{Name: ref.Name}
}
