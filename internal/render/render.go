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

// Package render turns a Tinkerbell object into the GitOps objects that install it. With the Flux engine: an
// OCIRepository for the chart, a GitRepository and Kustomization(s) for the CRDs, and a HelmRelease with the
// generated values. With the Argo CD engine: Application(s) for the CRDs and an Application for the chart with
// the same values. It is pure and client-free, so the controller and "kubetink render" share it.
package render

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/sites"
	"github.com/kubetink/kubetink/internal/values"
)

const (
	// LabelName holds the name of the Tinkerbell object that owns a generated object.
	LabelName = "kubetink.io/name"
	// LabelNamespace holds the namespace of the Tinkerbell object that owns a generated object.
	LabelNamespace = "kubetink.io/namespace"
	// LabelComponent says what a generated object is for: ComponentChart, ComponentCRDs or ComponentRelease.
	LabelComponent = "kubetink.io/component"
)

const (
	// ComponentChart labels the OCIRepository of the chart.
	ComponentChart = "chart"
	// ComponentCRDs labels the GitRepository and the Kustomization(s) of the CRDs, or their Application(s).
	ComponentCRDs = "crds"
	// ComponentRelease labels the HelmRelease, or the chart's Application.
	ComponentRelease = "release"
)

// Result is what Render produces for one Tinkerbell object.
type Result struct {
	// Release is the catalog entry of spec.version.
	Release catalog.Release
	// Objects are the objects to apply, in a fixed order. Flux: OCIRepository, GitRepository, Kustomization(s),
	// HelmRelease, in the Tinkerbell's namespace. Argo CD: the CRDs' Application(s), then the chart's, in
	// the pinned Argo CD namespace (values.Facts.ArgoCDNamespace) or else spec.argoCD.namespace.
	Objects []*unstructured.Unstructured
	// ValuesDigest is "sha256:<hex>" of the canonical JSON of the Helm values.
	ValuesDigest string
	// PublicIP is the public IP in use, or "".
	PublicIP string
	// TrustedProxies are the trusted proxy networks in use.
	TrustedProxies []string
}

// Render builds the GitOps objects of spec.engine for obj. facts are what the caller learned from the cluster (Node pod CIDRs, the
// LoadBalancer IP of spec.publicIPFrom). An unknown spec.version gives an error that wraps a
// *catalog.UnsupportedVersionError; any other error names the offending field.
func Render(obj *kubetinkv1alpha1.Tinkerbell, facts values.Facts) (*Result, error) {
	if obj == nil {
		return nil, fmt.Errorf("no Tinkerbell object to render")
	}
	if err := validateMeta(obj); err != nil {
		return nil, err
	}
	engine := obj.GetEngine()
	switch engine {
	case kubetinkv1alpha1.EngineFlux:
	case kubetinkv1alpha1.EngineArgoCD:
		if err := argoCDSupports(obj); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("spec.engine: %q is not supported; use %s or %s", engine, kubetinkv1alpha1.EngineFlux, kubetinkv1alpha1.EngineArgoCD)
	}
	rel, err := catalog.Lookup(obj.Spec.Version)
	if err != nil {
		return nil, fmt.Errorf("spec.version: %w", err)
	}
	vals, err := values.Generate(rel, obj, facts)
	if err != nil {
		return nil, err
	}
	digest, err := valuesDigest(vals)
	if err != nil {
		return nil, err
	}

	b := &builder{obj: obj, rel: rel, crds: obj.CRDsManaged() && facts.PrimarySite == "", argoCDNamespace: facts.ArgoCDNamespace}
	if b.argoCDNamespace == "" {
		b.argoCDNamespace = obj.GetArgoCDNamespace()
	}
	var objects []*unstructured.Unstructured
	if engine == kubetinkv1alpha1.EngineArgoCD {
		objects = b.applications(vals)
	} else if objects, err = b.fluxObjects(vals); err != nil {
		return nil, err
	}
	return &Result{
		Release:        rel,
		Objects:        objects,
		ValuesDigest:   digest,
		PublicIP:       values.PublicIP(obj, facts),
		TrustedProxies: slices.Clip(values.TrustedProxies(obj, facts)),
	}, nil
}

// fluxObjects builds the Flux objects, with vals as the HelmRelease's values.
func (b *builder) fluxObjects(vals map[string]any) ([]*unstructured.Unstructured, error) {
	typed := []runtime.Object{b.ociRepository()}
	if b.crds {
		typed = append(typed, b.gitRepository())
		for _, k := range b.kustomizations() {
			typed = append(typed, k)
		}
	}
	typed = append(typed, b.helmRelease())

	objects := make([]*unstructured.Unstructured, 0, len(typed))
	for _, t := range typed {
		u, err := convert(t)
		if err != nil {
			return nil, err
		}
		objects = append(objects, u)
	}
	// The values are set on the unstructured HelmRelease directly: they are JSON-shaped already, and Generate
	// returns a fresh tree the Result may own.
	spec, ok := objects[len(objects)-1].Object["spec"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the HelmRelease has no spec")
	}
	spec["values"] = vals
	return objects, nil
}

// validateMeta checks what the generated objects' names and labels are made of.
func validateMeta(obj *kubetinkv1alpha1.Tinkerbell) error {
	switch {
	case obj.Name == "":
		return fmt.Errorf("metadata.name is required")
	case len(obj.Name) > 63:
		// It is the value of the kubetink.io/name label.
		return fmt.Errorf("metadata.name %q is longer than 63 characters", obj.Name)
	case obj.Namespace == "":
		return fmt.Errorf("metadata.namespace is required")
	}
	return nil
}

// Sites renders the Tinkerbells of one cluster together, as the operator would reconcile them: each is
// checked against the others (package sites) and only the CRD provider renders CRD objects. facts are the
// cluster facts shared by all; PrimarySite is set per object. An error names the object it concerns.
func Sites(objs []*kubetinkv1alpha1.Tinkerbell, facts values.Facts) ([]*Result, error) {
	seen := map[string]bool{}
	for _, obj := range objs {
		if seen[sites.Key(obj)] {
			return nil, fmt.Errorf("%s appears twice", sites.Key(obj))
		}
		seen[sites.Key(obj)] = true
	}
	provider := sites.Primary(objs, nil)
	out := make([]*Result, 0, len(objs))
	for _, obj := range objs {
		if c := sites.Check(obj, objs); c != nil {
			return nil, fmt.Errorf("%s: %s: %s", sites.Key(obj), c.Reason, c.Message)
		}
		f := facts
		f.PrimarySite = sites.PrimaryOf(obj, provider)
		res, err := Render(obj, f)
		if err != nil {
			if len(objs) > 1 {
				return nil, fmt.Errorf("%s: %w", sites.Key(obj), err)
			}
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}
