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
	"errors"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// Argo CD Applications are built as unstructured objects: the typed API module (github.com/argoproj/argo-cd/v3)
// does not resolve with this toolchain and would triple the dependency tree.
const (
	// ArgoCDAPIVersion is the API version of Argo CD Applications.
	ArgoCDAPIVersion = "argoproj.io/v1alpha1"
	// ApplicationKind is the kind of Argo CD Applications.
	ApplicationKind = "Application"
	// ArgoCDResourcesFinalizer makes Argo CD delete an Application's resources before the Application itself
	// (cascading deletion). Only the chart's Application carries it: deleting it uninstalls the services, and
	// removing it first lets the Application go while the services keep running.
	ArgoCDResourcesFinalizer = "resources-finalizer.argocd.argoproj.io"
	// ArgoCDSyncWaveAnnotation orders Applications that a parent Application syncs (app of apps): the CRDs'
	// Applications are in wave -1, the chart's in wave 0. Kubetink itself applies the chart's Application only
	// once the CRDs' Applications are Healthy and Synced.
	ArgoCDSyncWaveAnnotation = "argocd.argoproj.io/sync-wave"
	// InClusterServer is the Argo CD destination of the cluster Argo CD runs in.
	InClusterServer = "https://kubernetes.default.svc"
	// ArgoCDSyncRetries is how often Argo CD retries a failed sync, as RemediationRetries for Flux.
	ArgoCDSyncRetries = RemediationRetries
)

// Reasons the Argo CD engine refuses a spec. The API refuses the same with CEL rules; Render repeats the check
// for objects that never went through the apiserver ("kubetink render").
var (
	errArgoCDValuesFrom = errors.New("spec.valuesFrom is not supported with spec.engine ArgoCD: Argo CD cannot read " +
		"Helm values from Secrets or ConfigMaps; move non-secret values to spec.values, or keep spec.engine Flux")
	errArgoCDChartAccess = errors.New("spec.chart.secretRef and spec.chart.insecure are not supported with spec.engine " +
		"ArgoCD: declare the registry, with its credentials or insecure setting, as an Argo CD repository instead")
	errArgoCDCRDsAccess = errors.New("spec.crds.source.secretRef is not supported with spec.engine ArgoCD: declare the " +
		"Git repository, with its credentials, as an Argo CD repository instead")
	errArgoCDPullSecrets = errors.New("spec.registry.imagePullSecrets is not supported with spec.engine ArgoCD: Argo CD " +
		"cannot post-render the chart to add them; use a mirror that needs no pull secret, or keep spec.engine Flux")
	errArgoCDLegacyCRDs = errors.New("spec.crds.managed false is not supported with spec.engine ArgoCD on the legacy " +
		"stack chart: deleting the Application would delete the CRDs the chart installs; let Kubetink manage the CRDs")
)

// argoCDSupports returns why Argo CD cannot install obj, or nil.
func argoCDSupports(obj *kubetinkv1alpha1.Tinkerbell) error {
	s := &obj.Spec
	switch {
	case len(s.ValuesFrom) > 0:
		return errArgoCDValuesFrom
	case s.Chart != nil && (s.Chart.SecretRef != nil || s.Chart.Insecure):
		return errArgoCDChartAccess
	case s.CRDs != nil && s.CRDs.Source != nil && s.CRDs.Source.SecretRef != nil:
		return errArgoCDCRDsAccess
	case s.Registry != nil && len(s.Registry.ImagePullSecrets) > 0:
		return errArgoCDPullSecrets
	case obj.IsLegacyStack() && !obj.CRDsManaged():
		return errArgoCDLegacyCRDs
	}
	return nil
}

// applications builds the Argo CD Applications: one per CRD directory (when this Tinkerbell's objects apply the CRDs), then
// the chart's, with vals as its Helm values.
func (b *builder) applications(vals map[string]any) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	if b.crds {
		out = append(out, b.crdApplications()...)
	}
	return append(out, b.chartApplication(vals))
}

// application returns an Application with Kubetink's labels, in the builder's Argo CD namespace. Owner references
// cannot cross namespaces: the labels, the inventory and the Tinkerbell's finalizer tie it to its Tinkerbell.
func (b *builder) application(name, component string, wave int, spec map[string]any) *unstructured.Unstructured {
	spec["project"] = b.obj.GetArgoCDProject()
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": ArgoCDAPIVersion,
		"kind":       ApplicationKind,
		"metadata": map[string]any{
			"name":      name,
			"namespace": b.argoCDNamespace,
			"labels": map[string]any{
				LabelName:                       b.obj.Name,
				LabelNamespace:                  b.obj.Namespace,
				LabelComponent:                  component,
				kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy,
			},
			"annotations": map[string]any{ArgoCDSyncWaveAnnotation: strconv.Itoa(wave)},
		},
		"spec": spec,
	}}
}

// crdApplications apply the CRDs from the release's Git tag, one Application per CRD directory. CRDs must never
// be deleted: automated sync never prunes, and no resources finalizer means deleting the Application leaves
// what it applied. Server-side apply, because the CRDs are too large for the last-applied annotation.
func (b *builder) crdApplications() []*unstructured.Unstructured {
	paths, suffixes := crdPaths(b.obj, b.rel)
	url, tag := b.rel.CRDs.URL, b.rel.CRDs.Tag
	if s := crdSource(b.obj); s != nil {
		if s.URL != "" {
			url = s.URL
		}
		if s.Tag != "" {
			tag = s.Tag
		}
	}
	out := make([]*unstructured.Unstructured, 0, len(paths))
	for i, p := range paths {
		out = append(out, b.application(CRDsApplicationName(b.obj.Namespace, b.obj.Name, suffixes[i]), ComponentCRDs, -1, map[string]any{
			"source": map[string]any{
				"repoURL":        url,
				"targetRevision": tag,
				"path":           p,
				// Every manifest below the directory, as Flux's generated kustomization.yaml takes.
				"directory": map[string]any{"recurse": true},
			},
			"destination": map[string]any{"server": InClusterServer},
			"syncPolicy": map[string]any{
				"automated":   map[string]any{"prune": false, "selfHeal": true},
				"syncOptions": []any{"ServerSideApply=true"},
				"retry":       map[string]any{"limit": int64(ArgoCDSyncRetries)},
			},
		}))
	}
	return out
}

// chartApplication installs the chart from its OCI repository with Argo CD's native OCI source (Argo CD 3.1 or
// later): repoURL is the chart's oci:// URL, the tag is the targetRevision and the path is ".". The Helm release
// name and the target namespace are the HelmRelease's, so switching engines finds the same objects. Automated
// sync prunes and self-heals; the resources finalizer makes deleting the Application uninstall the services.
func (b *builder) chartApplication(vals map[string]any) *unstructured.Unstructured {
	url := b.rel.ChartURL
	if c := b.obj.Spec.Chart; c != nil && c.URL != "" {
		url = c.URL
	}
	app := b.application(ApplicationName(b.obj.Namespace, b.obj.Name, b.rel), ComponentRelease, 0, map[string]any{
		"source": map[string]any{
			"repoURL":        url,
			"targetRevision": b.rel.ChartVersion,
			"path":           ".",
			"helm": map[string]any{
				"releaseName": ReleaseName(b.rel),
				// The CRDs come from their own Applications, as with Flux (install.crds Skip); Argo CD
				// runs no Helm tests, as helm-controller does not by default.
				"skipCrds":     true,
				"skipTests":    true,
				"valuesObject": vals,
			},
		},
		"destination": map[string]any{"server": InClusterServer, "namespace": b.obj.GetTargetNamespace()},
		"syncPolicy": map[string]any{
			"automated":   map[string]any{"prune": true, "selfHeal": true},
			"syncOptions": []any{"CreateNamespace=true", "ServerSideApply=true"},
			"retry":       map[string]any{"limit": int64(ArgoCDSyncRetries)},
		},
	})
	app.SetFinalizers([]string{ArgoCDResourcesFinalizer})
	return app
}
