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

package runner

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubetink/kubetink/internal/migration"
)

// crdGVR serves CustomResourceDefinitions; they are read as unstructured objects so that the runner needs no
// apiextensions client.
var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

func (r *Runner) getCRD(ctx context.Context, t migration.Target) (*unstructured.Unstructured, error) {
	return r.client.Resource(crdGVR).Get(ctx, t.CRDName(), metav1.GetOptions{})
}

// checkSchema returns an error naming the fields the installed CRD of t does not declare; installed is false
// when the CRD itself is absent (then there is nothing to migrate).
func (r *Runner) checkSchema(ctx context.Context, t migration.Target, fields []string) (installed bool, err error) {
	crd, err := r.getCRD(ctx, t)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to get CRD %s: %w", t.CRDName(), err)
	}
	root := versionSchema(crd, t.Version)
	if root == nil {
		return false, fmt.Errorf("CRD %s does not serve %s", t.CRDName(), t.Version)
	}
	var missing []string
	for _, f := range fields {
		if !declares(root, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return true, fmt.Errorf("the installed CRD %s does not declare %s", t.CRDName(), strings.Join(missing, ", "))
	}
	return true, nil
}

// versionSchema returns the openAPIV3Schema of the named version of crd.
func versionSchema(crd *unstructured.Unstructured, version string) map[string]any {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		if vm["name"] != version {
			continue
		}
		s, _, _ := unstructured.NestedMap(vm, "schema", "openAPIV3Schema")
		return s
	}
	return nil
}

// declares reports whether the structural schema s declares path ("status.tasks[].agentID"): every step must be
// a declared property, or sit under x-kubernetes-preserve-unknown-fields.
func declares(s map[string]any, path string) bool {
	node := s
	for seg := range strings.SplitSeq(path, ".") {
		if preserves(node) {
			return true
		}
		name, isList := strings.CutSuffix(seg, "[]")
		props, _ := node["properties"].(map[string]any)
		next, ok := props[name].(map[string]any)
		if !ok {
			return false
		}
		node = next
		if isList {
			if preserves(node) {
				return true
			}
			items, ok := node["items"].(map[string]any)
			if !ok {
				return false
			}
			node = items
		}
	}
	return true
}

func preserves(node map[string]any) bool {
	p, _ := node["x-kubernetes-preserve-unknown-fields"].(bool)
	return p
}
