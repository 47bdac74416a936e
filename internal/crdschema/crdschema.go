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

// Package crdschema applies a CustomResourceDefinition to an object offline, the way kube-apiserver applies it on
// create: it prunes unknown fields, fills in the schema's defaults and runs the OpenAPI validation, the list-type
// checks, the CEL rules (x-kubernetes-validations) and the metadata checks, with the apiserver's own code
// (k8s.io/apiextensions-apiserver and k8s.io/apiserver, at the versions go.mod pins). So "kubetink render" refuses
// what the API refuses, in the API's words, and renders what the API would store.
//
// The steps and their order follow k8s.io/apiextensions-apiserver v0.37.2: the request decoder
// (pkg/apiserver/customresource_handler.go, unstructuredSchemaCoercer.apply, then unstructuredDefaulter), the
// create strategy (pkg/registry/customresource/strategy.go, PrepareForCreate and Validate; validator.go) and
// k8s.io/apiserver v0.37.2 pkg/registry/rest/create.go (ValidateCreate). The strategy's package is not imported
// itself: it brings the etcd storage along, which a command line tool has no use for.
package crdschema

import (
	"context"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/api/operation"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"sigs.k8s.io/yaml"
)

// Validator applies one version of a CustomResourceDefinition to objects of its kind. Build it once: compiling
// the CEL rules is the costly part. It is safe for concurrent use.
type Validator struct {
	kind            schema.GroupVersionKind
	namespaced      bool
	structural      *structuralschema.Structural
	schemaValidator apiservervalidation.SchemaValidator
	celValidator    *cel.Validator
}

// New builds the Validator of the served version named version of the CRD in crdYAML, as the apiserver builds
// its handler for that version.
func New(crdYAML []byte, version string) (*Validator, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(crdYAML, crd); err != nil {
		return nil, fmt.Errorf("failed to read the CustomResourceDefinition: %w", err)
	}
	var v *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Name == version && crd.Spec.Versions[i].Served {
			v = &crd.Spec.Versions[i]
		}
	}
	if v == nil || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("the CustomResourceDefinition %s serves no version %s with a schema", crd.Name, version)
	}
	if crd.Spec.PreserveUnknownFields {
		return nil, fmt.Errorf("the CustomResourceDefinition %s preserves unknown fields: it has no structural schema to apply", crd.Name)
	}
	internal := &apiextensions.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(v.Schema, internal, nil); err != nil {
		return nil, fmt.Errorf("failed to convert the schema of %s %s: %w", crd.Name, version, err)
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("the schema of %s %s is not structural: %w", crd.Name, version, err)
	}
	// As the apiserver: defaults inside a default are dropped where pruning would drop them.
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, fmt.Errorf("failed to prune the defaults of %s %s: %w", crd.Name, version, err)
	}
	schemaValidator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("failed to build the schema validator of %s %s: %w", crd.Name, version, err)
	}
	return &Validator{
		kind:            schema.GroupVersionKind{Group: crd.Spec.Group, Version: version, Kind: crd.Spec.Names.Kind},
		namespaced:      crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural:      s,
		schemaValidator: schemaValidator,
		// The CEL programs are compiled here, once.
		celValidator: cel.NewValidator(s, true, celconfig.PerCallLimit),
	}, nil
}

// Create does to u what the apiserver does to the body of a create request before it stores it: unknown fields
// are dropped and reported (as with field validation Strict, kubectl's default), nulls without a default dropped,
// the schema's defaults filled in and status cleared (the status subresource is the only way to write it); then u
// is validated. It returns the errors the apiserver would return, each with its field path, in its words; u holds
// what the apiserver would store when there are none.
func (v *Validator) Create(ctx context.Context, u *unstructured.Unstructured) field.ErrorList {
	// Decoding: customresource_handler.go, unstructuredSchemaCoercer.apply, then unstructuredDefaulter.
	var errs field.ErrorList
	if u.GroupVersionKind() == v.kind {
		opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
		for _, p := range structuralpruning.PruneWithOptions(u.Object, v.structural, true, opts) {
			errs = append(errs, field.Invalid(nil, nil, fmt.Sprintf("unknown field %q", p)))
		}
		structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, v.structural)
		if err, _ := schemaobjectmeta.CoerceWithOptions(nil, u.Object, v.structural, false, schemaobjectmeta.CoerceOptions{}); err != nil {
			return append(errs, err)
		}
		structuraldefaulting.Default(u.Object, v.structural)
	}
	if len(errs) > 0 {
		return errs
	}

	// PrepareForCreate: create cannot set status.
	delete(u.Object, "status")
	u.SetGeneration(1)

	// Validate (strategy.go) and ValidateCreate (k8s.io/apiserver rest/create.go). The latter's check that the
	// name can be a path segment never refuses a name the DNS subdomain check accepts; it is here to follow the
	// apiserver step by step.
	errs = v.validate(ctx, u)
	if len(errs) == 0 {
		errs = validation.ValidateObjectMetaAccessor(u, v.namespaced, pathSegment, field.NewPath("metadata"))
	}
	return errs
}

// validate is customResourceStrategy.Validate of apiextensions-apiserver v0.37.2 with its customResourceValidator
// (a CRD without a scale subresource).
func (v *Validator) validate(ctx context.Context, u *unstructured.Unstructured) field.ErrorList {
	if errs := v.validateTypeMeta(u); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	metadata, metaErrs := objectMeta(u)
	if len(metaErrs) > 0 {
		errs = append(errs, metaErrs...)
	} else {
		errs = append(errs, validation.ValidateObjectMetaDeclaratively(ctx, operation.Create, metadata, nil, v.namespaced,
			validation.NameIsDNSSubdomain, field.NewPath("metadata"), utilfeature.DefaultFeatureGate.Enabled(features.DeclarativeValidationBeta))...)
	}
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u.UnstructuredContent(), v.schemaValidator)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, u.Object, v.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, u.Object)...)
	if blocking := blockingErr(errs); blocking != nil {
		return append(errs, blocking)
	}
	celErrs, _ := v.celValidator.Validate(ctx, nil, v.structural, u.Object, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

func (v *Validator) validateTypeMeta(u *unstructured.Unstructured) field.ErrorList {
	var errs field.ErrorList
	if u.GetKind() != v.kind.Kind {
		errs = append(errs, field.Invalid(field.NewPath("kind"), u.GetKind(), fmt.Sprintf("must be %v", v.kind.Kind)))
	}
	if gv := v.kind.GroupVersion().String(); u.GetAPIVersion() != gv {
		errs = append(errs, field.Invalid(field.NewPath("apiVersion"), u.GetAPIVersion(), fmt.Sprintf("must be %v", gv)))
	}
	return errs
}

// pathSegment is validatePathSegment of rest/create.go: a name must be usable as one segment of a URL path.
func pathSegment(name string, prefix bool) []string {
	if prefix {
		return content.IsPathSegmentPrefix(name)
	}
	return content.IsPathSegmentName(name)
}

// objectMeta is getObjectMeta of validator.go.
func objectMeta(u *unstructured.Unstructured) (*metav1.ObjectMeta, field.ErrorList) {
	raw := u.Object["metadata"]
	if raw == nil {
		return &metav1.ObjectMeta{}, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), raw, fmt.Sprintf("expected map[string]interface{}, got %T", raw))}
	}
	meta := &metav1.ObjectMeta{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, meta); err != nil {
		return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), raw, err.Error())}
	}
	return meta, nil
}

// blockingErr is hasBlockingErr of strategy.go: after these errors the CEL rules are not evaluated.
func blockingErr(errs field.ErrorList) *field.Error {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return nil
}
