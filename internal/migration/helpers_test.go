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

package migration

import (
	"path/filepath"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubetink/kubetink/internal/testutil"
	"github.com/kubetink/kubetink/test/upstreamcrds"
)

const testPublicIP = "192.168.2.111"

// testObject returns the object kind/name from testdata/objects/<file>.yaml.
func testObject(t *testing.T, file, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range readDocs(t, filepath.Join("testdata", "objects", file+".yaml")) {
		u := &unstructured.Unstructured{Object: o}
		if u.GetKind() == kind && u.GetName() == name {
			u.SetUID("0b6a8f3e-5c1d-4f6e-9a2b-3c4d5e6f7a8b")
			return u
		}
	}
	t.Fatalf("no %s %s in %s", kind, name, file)
	return nil
}

func readDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	objs := testutil.ReadObjects(t, path)
	out := make([]map[string]any, 0, len(objs))
	for _, u := range objs {
		out = append(out, u.Object)
	}
	return out
}

// nestedString returns the string at fields, or "".
func nestedString(obj *unstructured.Unstructured, fields ...string) string {
	s, _, _ := unstructured.NestedString(obj.Object, fields...)
	return s
}

// pruneAs removes from obj what the apiserver prunes when upstream's Workflow CRD of release serves it, using the
// apiserver's own structural pruning.
func pruneAs(t *testing.T, obj *unstructured.Unstructured, release string) {
	t.Helper()
	pruneWith(t, obj, release, unifiedWorkflowCRD)
}

// pruneWith removes from obj what the apiserver prunes when upstream's CRD file name (upstreamcrds.File.Name) of
// release serves it.
func pruneWith(t *testing.T, obj *unstructured.Unstructured, release, name string) {
	t.Helper()
	docs := readDocs(t, upstreamCRD(t, release, name))
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(docs[0], crd); err != nil {
		t.Fatal(err)
	}
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, internal, nil); err != nil {
		t.Fatal(err)
	}
	s, err := structuralschema.NewStructural(internal)
	if err != nil {
		t.Fatal(err)
	}
	pruning.Prune(obj.Object, s, true)
}

// upstreamCRD returns the path of upstream's CRD file name of release (test/upstreamcrds).
func upstreamCRD(t *testing.T, release, name string) string {
	t.Helper()
	p, err := upstreamcrds.Find(testutil.RepoRoot(), release, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func setNested(obj map[string]any, value any, fields ...string) error {
	return unstructured.SetNestedField(obj, value, fields...)
}
