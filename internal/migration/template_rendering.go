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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TemplateRenderingAnnotation holds a Workflow's status.templateRending between the two phases of the
// templateRending → templateRendering rename (tinkerbell commit 90f3d89e, first released in v0.20.0).
// As with the Workflow status migration, the v0.19 CRD declares only the misspelt key and the v0.20 CRD only the
// corrected one, and the apiserver prunes the undeclared one on read and on write: the value is captured
// PreUpgrade and written PostUpgrade.
const TemplateRenderingAnnotation = "kubetink.io/template-rending"

// CaptureTemplateRendering is the PreUpgrade half: it copies status.templateRending into
// TemplateRenderingAnnotation. Under the new CRD the key is pruned and reads as empty, so a late capture is a
// no-op rather than a loss.
func CaptureTemplateRendering(obj *unstructured.Unstructured, _ Env) (bool, error) {
	v, _, _ := unstructured.NestedString(obj.Object, "status", "templateRending")
	if v == "" || obj.GetAnnotations()[TemplateRenderingAnnotation] == v {
		return false, nil
	}
	setAnnotation(obj, TemplateRenderingAnnotation, v)
	return true, nil
}

// ConvertTemplateRendering is the PostUpgrade half: it sets status.templateRendering from the annotation unless a
// controller already set it, then removes the annotation.
func ConvertTemplateRendering(obj *unstructured.Unstructured, _ Env) (bool, error) {
	v, ok := obj.GetAnnotations()[TemplateRenderingAnnotation]
	if !ok {
		return false, nil
	}
	removeAnnotation(obj, TemplateRenderingAnnotation)
	if cur, _, _ := unstructured.NestedString(obj.Object, "status", "templateRendering"); cur == "" && v != "" {
		if err := unstructured.SetNestedField(obj.Object, v, "status", "templateRendering"); err != nil {
			return false, err
		}
	}
	unstructured.RemoveNestedField(obj.Object, "status", "templateRending")
	return true, nil
}
