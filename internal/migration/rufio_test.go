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
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestConvertMachineRef(t *testing.T) {
	tests := []struct {
		name        string
		file, job   string
		wantChanged bool
		want        map[string]any
	}{
		{name: "full object reference", file: "stack-0.4.0", job: "machine1-reboot", wantChanged: true,
			want: map[string]any{"name": "bmc-machine1", "namespace": "tink"}},
		{name: "reference without namespace", file: "stack-0.4.0", job: "machine1-off", wantChanged: true,
			want: map[string]any{"name": "bmc-machine1", "namespace": "tink"}},
		{name: "already {name, namespace}", file: "stack-0.6.2", job: "machine2-power-on",
			want: map[string]any{"name": "bmc-machine2", "namespace": "tink"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			job := testObject(t, tt.file, "Job", tt.job)
			tasks := job.Object["spec"].(map[string]any)["tasks"]
			changed, err := ConvertMachineRef(job, Env{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(Equal(tt.wantChanged))
			ref, _, _ := unstructured.NestedMap(job.Object, "spec", "machineRef")
			g.Expect(ref).To(Equal(tt.want))
			g.Expect(job.Object["spec"].(map[string]any)["tasks"]).To(Equal(tasks))
			changed, err = ConvertMachineRef(job, Env{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(BeFalse())
		})
	}
}

func TestConvertMachineRefErrors(t *testing.T) {
	g := NewWithT(t)
	job := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"machineRef": map[string]any{"kind": "Machine"}}}}
	_, err := ConvertMachineRef(job, Env{})
	g.Expect(err).To(MatchError(ContainSubstring("without a name")))
	noRef := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}}}
	changed, err := ConvertMachineRef(noRef, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
}

func TestMachineFromBaseboardManagement(t *testing.T) {
	g := NewWithT(t)
	bm := testObject(t, "stack-0.6.2", "BaseboardManagement", "bmc-machine1")
	bm.SetAnnotations(map[string]string{lastAppliedAnnotation: "{}", "owner": "ops"})
	orig := bm.DeepCopy()

	m, err := MachineFromBaseboardManagement(bm)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.Object).To(Equal(map[string]any{
		"apiVersion": "bmc.tinkerbell.org/v1alpha1",
		"kind":       "Machine",
		"metadata": map[string]any{
			"name":        "bmc-machine1",
			"namespace":   "tink",
			"labels":      map[string]any{"app.kubernetes.io/part-of": "eksa"},
			"annotations": map[string]any{"owner": "ops", MigratedFromAnnotation: "BaseboardManagement/bmc-machine1"},
		},
		"spec": map[string]any{"connection": map[string]any{
			"host":          "192.168.2.201",
			"port":          int64(623),
			"insecureTLS":   true,
			"authSecretRef": map[string]any{"name": "bmc-machine1-auth", "namespace": "tink"},
		}},
	}))
	g.Expect(bm.Object).To(Equal(orig.Object), "the source is not modified")

	// Port and authSecretRef are optional on Machines; insecureTLS is required and defaults to false.
	minimal := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"connection": map[string]any{"host": "h"}}}}
	minimal.SetName("m")
	m, err = MachineFromBaseboardManagement(minimal)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.Object["spec"]).To(Equal(map[string]any{"connection": map[string]any{"host": "h", "insecureTLS": false}}))

	_, err = MachineFromBaseboardManagement(&unstructured.Unstructured{Object: map[string]any{}})
	g.Expect(err).To(MatchError(ContainSubstring("no spec.connection.host")))
}

func TestRetargetBMCRef(t *testing.T) {
	g := NewWithT(t)
	hw := testObject(t, "stack-0.6.2", "Hardware", "machine1")
	changed, err := RetargetBMCRef(hw, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	ref, _, _ := unstructured.NestedMap(hw.Object, "spec", "bmcRef")
	g.Expect(ref).To(Equal(map[string]any{"apiGroup": "bmc.tinkerbell.org", "kind": "Machine", "name": "bmc-machine1"}))
	changed, err = RetargetBMCRef(hw, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())

	for _, name := range []string{"machine2"} {
		other := testObject(t, "stack-0.6.2", "Hardware", name)
		changed, err := RetargetBMCRef(other, Env{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(changed).To(BeFalse())
	}
	noRef := testObject(t, "v0.19.0", "Hardware", "machine1")
	changed, err = RetargetBMCRef(noRef, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
}
