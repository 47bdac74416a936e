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
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// convert turns a typed object built by builder into unstructured form. It maps exactly the fields builder sets,
// without reflection: the reflective converters cost most of a reconciliation's rendering time and several
// milliseconds on first use. TestConvertMatchesReflection checks, for every example and variant, that the result
// equals runtime.DefaultUnstructuredConverter's, so a field builder starts setting cannot be dropped silently.
func convert(obj runtime.Object) (*unstructured.Unstructured, error) {
	var m map[string]any
	switch o := obj.(type) {
	case *sourcev1.OCIRepository:
		m = convertOCIRepository(o)
	case *sourcev1.GitRepository:
		m = convertGitRepository(o)
	case *kustomizev1.Kustomization:
		m = convertKustomization(o)
	case *helmv2.HelmRelease:
		m = convertHelmRelease(o)
	default:
		return nil, fmt.Errorf("cannot convert %T", obj)
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func object(tm metav1.TypeMeta, om metav1.ObjectMeta, spec map[string]any) map[string]any {
	labels := make(map[string]any, len(om.Labels))
	for k, v := range om.Labels {
		labels[k] = v
	}
	md := map[string]any{"name": om.Name, "namespace": om.Namespace}
	if len(labels) > 0 {
		md["labels"] = labels
	}
	return map[string]any{"apiVersion": tm.APIVersion, "kind": tm.Kind, "metadata": md, "spec": spec}
}

func duration(d metav1.Duration) string { return d.Duration.String() }

func setRef(m map[string]any, key string, ref *meta.LocalObjectReference) {
	if ref != nil {
		m[key] = map[string]any{"name": ref.Name}
	}
}

func setString(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

func convertOCIRepository(o *sourcev1.OCIRepository) map[string]any {
	s := &o.Spec
	spec := map[string]any{"url": s.URL, "interval": duration(s.Interval)}
	if s.Reference != nil {
		ref := map[string]any{}
		setString(ref, "tag", s.Reference.Tag)
		spec["ref"] = ref
	}
	if l := s.LayerSelector; l != nil {
		sel := map[string]any{}
		setString(sel, "mediaType", l.MediaType)
		setString(sel, "operation", l.Operation)
		spec["layerSelector"] = sel
	}
	setString(spec, "provider", s.Provider)
	if s.Timeout != nil {
		spec["timeout"] = duration(*s.Timeout)
	}
	if s.Insecure {
		spec["insecure"] = true
	}
	setRef(spec, "secretRef", s.SecretRef)
	return object(o.TypeMeta, o.ObjectMeta, spec)
}

func convertGitRepository(o *sourcev1.GitRepository) map[string]any {
	s := &o.Spec
	spec := map[string]any{"url": s.URL, "interval": duration(s.Interval)}
	if s.Reference != nil {
		ref := map[string]any{}
		setString(ref, "tag", s.Reference.Tag)
		spec["ref"] = ref
	}
	if s.Timeout != nil {
		spec["timeout"] = duration(*s.Timeout)
	}
	if s.Ignore != nil {
		spec["ignore"] = *s.Ignore
	}
	setRef(spec, "secretRef", s.SecretRef)
	return object(o.TypeMeta, o.ObjectMeta, spec)
}

func convertKustomization(o *kustomizev1.Kustomization) map[string]any {
	s := &o.Spec
	sourceRef := map[string]any{"kind": s.SourceRef.Kind, "name": s.SourceRef.Name}
	spec := map[string]any{
		"sourceRef": sourceRef,
		"interval":  duration(s.Interval),
		"prune":     s.Prune,
	}
	setString(spec, "path", s.Path)
	setString(spec, "deletionPolicy", s.DeletionPolicy)
	if s.Wait {
		spec["wait"] = true
	}
	setString(spec, "serviceAccountName", s.ServiceAccountName)
	return object(o.TypeMeta, o.ObjectMeta, spec)
}

func convertHelmRelease(o *helmv2.HelmRelease) map[string]any {
	s := &o.Spec
	spec := map[string]any{"interval": duration(s.Interval)}
	if r := s.ChartRef; r != nil {
		spec["chartRef"] = map[string]any{"kind": r.Kind, "name": r.Name}
	}
	setString(spec, "releaseName", s.ReleaseName)
	setString(spec, "targetNamespace", s.TargetNamespace)
	setString(spec, "storageNamespace", s.StorageNamespace)
	setString(spec, "serviceAccountName", s.ServiceAccountName)
	if i := s.Install; i != nil {
		install := map[string]any{}
		if i.CreateNamespace {
			install["createNamespace"] = true
		}
		setString(install, "crds", string(i.CRDs))
		if r := i.Remediation; r != nil {
			rem := map[string]any{}
			if r.Retries != 0 {
				rem["retries"] = int64(r.Retries)
			}
			install["remediation"] = rem
		}
		spec["install"] = install
	}
	if u := s.Upgrade; u != nil {
		upgrade := map[string]any{}
		setString(upgrade, "crds", string(u.CRDs))
		if r := u.Remediation; r != nil {
			rem := map[string]any{}
			if r.Retries != 0 {
				rem["retries"] = int64(r.Retries)
			}
			if r.RemediateLastFailure != nil {
				rem["remediateLastFailure"] = *r.RemediateLastFailure
			}
			upgrade["remediation"] = rem
		}
		spec["upgrade"] = upgrade
	}
	if d := s.DriftDetection; d != nil {
		drift := map[string]any{}
		setString(drift, "mode", string(d.Mode))
		spec["driftDetection"] = drift
	}
	if len(s.ValuesFrom) > 0 {
		refs := make([]any, 0, len(s.ValuesFrom))
		for _, v := range s.ValuesFrom {
			ref := map[string]any{"kind": v.Kind, "name": v.Name}
			setString(ref, "valuesKey", v.ValuesKey)
			setString(ref, "targetPath", v.TargetPath)
			if v.Optional {
				ref["optional"] = true
			}
			refs = append(refs, ref)
		}
		spec["valuesFrom"] = refs
	}
	if len(s.PostRenderers) > 0 {
		renderers := make([]any, 0, len(s.PostRenderers))
		for _, pr := range s.PostRenderers {
			r := map[string]any{}
			if k := pr.Kustomize; k != nil {
				patches := make([]any, 0, len(k.Patches))
				for _, p := range k.Patches {
					patch := map[string]any{"patch": p.Patch}
					if t := p.Target; t != nil {
						target := map[string]any{}
						setString(target, "group", t.Group)
						setString(target, "version", t.Version)
						setString(target, "kind", t.Kind)
						setString(target, "namespace", t.Namespace)
						setString(target, "name", t.Name)
						patch["target"] = target
					}
					patches = append(patches, patch)
				}
				r["kustomize"] = map[string]any{"patches": patches}
			}
			renderers = append(renderers, r)
		}
		spec["postRenderers"] = renderers
	}
	return object(o.TypeMeta, o.ObjectMeta, spec)
}
