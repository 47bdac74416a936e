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
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// MigratedFromAnnotation marks an object Kubetink created from an obsolete one, naming the source as Kind/name.
const MigratedFromAnnotation = "kubetink.io/migrated-from"

// lastAppliedAnnotation is kubectl's copy of the applied manifest; it describes the source, not the copy.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// ConvertMachineRef reduces a Rufio Job's spec.machineRef to {name, namespace}. Rufio v0.1.0–v0.2.0 declared a
// full ObjectReference (apiVersion, kind, uid, resourceVersion, fieldPath, all optional); rufio v0.2.1 and every
// unified release require exactly name and namespace. Charts before 0.4.3 shipped the old CRD, and Helm never
// upgrades CRDs, so a legacy stack can still hold old-shaped Jobs whatever its chart version. A missing namespace
// defaults to the Job's, which is how Rufio resolved an empty one. It runs PreUpgrade, while the old CRD still
// shows every field of the reference.
func ConvertMachineRef(obj *unstructured.Unstructured, _ Env) (bool, error) {
	ref, found, err := unstructured.NestedMap(obj.Object, "spec", "machineRef")
	if err != nil || !found {
		return false, err
	}
	want := map[string]any{"name": str(ref, "name"), "namespace": str(ref, "namespace")}
	if want["namespace"] == "" {
		want["namespace"] = obj.GetNamespace()
	}
	if want["name"] == "" {
		return false, fmt.Errorf("bmc Job %s has a spec.machineRef without a name", objectKey(obj))
	}
	if maps.Equal(ref, want) {
		return false, nil
	}
	return true, unstructured.SetNestedMap(obj.Object, want, "spec", "machineRef")
}

// MachineFromBaseboardManagement returns the Rufio Machine that replaces a pre-release BaseboardManagement, as EKS
// Anywhere's handleRufioUnreleasedCRDs does: same name, namespace, labels and annotations, and
// spec.connection.{host, port, authSecretRef, insecureTLS}. The Machine is annotated with MigratedFromAnnotation.
func MachineFromBaseboardManagement(bm *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	conn, _, err := unstructured.NestedMap(bm.Object, "spec", "connection")
	if err != nil {
		return nil, fmt.Errorf("failed to read spec.connection of BaseboardManagement %s: %w", objectKey(bm), err)
	}
	if str(conn, "host") == "" {
		return nil, fmt.Errorf("BaseboardManagement %s has no spec.connection.host", objectKey(bm))
	}
	machineConn := map[string]any{"host": conn["host"], "insecureTLS": false}
	if v, ok := conn["insecureTLS"].(bool); ok {
		machineConn["insecureTLS"] = v
	}
	if p, ok := toInt64(conn["port"]); ok {
		machineConn["port"] = p
	}
	if ref, ok := conn["authSecretRef"].(map[string]any); ok && len(ref) > 0 {
		machineConn["authSecretRef"] = ref
	}
	m := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": BMCMachines.APIVersion(),
		"kind":       BMCMachines.Kind,
		"spec":       map[string]any{"connection": machineConn},
	}}
	m.SetName(bm.GetName())
	m.SetNamespace(bm.GetNamespace())
	m.SetLabels(bm.GetLabels())
	annotations := maps.Clone(bm.GetAnnotations())
	if annotations == nil {
		annotations = map[string]string{}
	}
	delete(annotations, lastAppliedAnnotation)
	annotations[MigratedFromAnnotation] = BaseboardManagements.Kind + "/" + bm.GetName()
	m.SetAnnotations(annotations)
	// The connection values come from bm: copy them so that the two objects share nothing.
	return m.DeepCopy(), nil
}

// RetargetBMCRef points a Hardware's spec.bmcRef at the Machine that replaced its BaseboardManagement: kind
// BaseboardManagement becomes Machine (same name). EKS Anywhere sets the kind unconditionally; this only touches
// references to BaseboardManagements, so a Hardware already pointing elsewhere is left alone.
func RetargetBMCRef(obj *unstructured.Unstructured, _ Env) (bool, error) {
	kind, _, _ := unstructured.NestedString(obj.Object, "spec", "bmcRef", "kind")
	if kind != BaseboardManagements.Kind {
		return false, nil
	}
	return true, unstructured.SetNestedField(obj.Object, BMCMachines.Kind, "spec", "bmcRef", "kind")
}
