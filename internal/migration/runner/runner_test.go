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
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubetink/kubetink/internal/migration"
)

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"missing versions", Options{BackupNamespace: "b"}, "both the from and the to version are required"},
		{"missing backup namespace", Options{From: "v0.19.0", To: "v0.20.0"}, "a backup namespace is required"},
		{"downgrade", Options{From: "v0.20.0", To: "v0.19.0", BackupNamespace: "b"}, "downgrade"},
		{"port moves need the address", Options{From: "v0.22.1", To: "v0.23.0", BackupNamespace: "b"}, "--public-ip"},
		{"bad public IP", Options{From: "v0.22.1", To: "v0.23.0", PublicIP: "tink.example.com", BackupNamespace: "b"}, `invalid public IP "tink.example.com"`},
		{"bad host", Options{From: "v0.22.1", To: "v0.23.0", Hosts: []string{"http://tink:7080"}, BackupNamespace: "b"}, "invalid Tinkerbell host"},
		{"host with a port", Options{From: "v0.22.1", To: "v0.23.0", Hosts: []string{"tink:7080"}, BackupNamespace: "b"}, `invalid Tinkerbell host "tink:7080"`},
		{"host names alone are enough", Options{From: "v0.22.1", To: "v0.23.0", Hosts: []string{"tink.example.com"}, BackupNamespace: "b"}, ""},
		{"bad artifacts file server", Options{From: "0.6.2", To: "v0.25.0", PublicIP: testPublicIP, ArtifactsFileServer: "10.0.0.2:7173", BackupNamespace: "b"}, "invalid artifacts file server"},
		{"artifacts file server", Options{From: "0.6.2", To: "v0.25.0", PublicIP: testPublicIP, ArtifactsFileServer: "http://10.0.0.2:7173", BackupNamespace: "b"}, ""},
		{"pre phase needs no address", Options{From: "v0.22.1", To: "v0.23.0", Phases: pre, BackupNamespace: "b"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := New(nil, tt.opts)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
		})
	}
}

func TestNewMergesHosts(t *testing.T) {
	g := NewWithT(t)
	r, err := New(nil, Options{From: "v0.22.1", To: "v0.23.0", PublicIP: "fd00::10", BackupNamespace: "b",
		Hosts: []string{"Tink.Example.com", "tink.example.COM", "[fd00::10]", " 10.0.0.1 "}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.env.Hosts).To(Equal([]string{"fd00::10", "tink.example.com", "10.0.0.1"}))
}

func TestNewPlanFollowsPhases(t *testing.T) {
	g := NewWithT(t)
	r, err := New(nil, Options{From: "0.6.2", To: "v0.25.0", PublicIP: testPublicIP, BackupNamespace: "b", Phases: post})
	g.Expect(err).NotTo(HaveOccurred())
	for _, m := range r.Plan() {
		g.Expect(m.Phase).To(Equal(migration.PostUpgrade))
	}
	r, err = New(nil, Options{From: "0.6.2", To: "v0.25.0", PublicIP: testPublicIP, BackupNamespace: "b"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.Plan()[0].Name).To(Equal(migration.StackReinstall))
	g.Expect(r.Plan()[len(r.Plan())-1].Phase).To(Equal(migration.PostUpgrade))
}

func TestDeclares(t *testing.T) {
	g := NewWithT(t)
	schemaOf := func(release string) map[string]any {
		crd := readDocs(t, upstreamCRD(t, release, "tinkerbell.org_workflows.yaml"))[0]
		return versionSchema(crd, "v1alpha1")
	}
	legacy := readDocs(t, upstreamCRD(t, "0.6.2", "tink.workflow-crd.yaml"))[0]
	old, v019, v022 := versionSchema(legacy, "v1alpha1"), schemaOf("v0.19.0"), schemaOf("v0.22.1")

	g.Expect(declares(old, "status.tasks[].worker")).To(BeTrue())
	g.Expect(declares(old, "status.tasks[].agentID")).To(BeFalse())
	g.Expect(declares(old, "status.templateRending")).To(BeTrue())
	g.Expect(declares(v019, "status.tasks[].agentID")).To(BeTrue())
	g.Expect(declares(v019, "status.tasks[].actions[].state")).To(BeTrue())
	g.Expect(declares(v019, "status.templateRendering")).To(BeFalse())
	g.Expect(declares(v022, "status.templateRendering")).To(BeTrue())
	g.Expect(declares(v022, "status.templateRending")).To(BeFalse())
	g.Expect(declares(map[string]any{"properties": map[string]any{"spec": map[string]any{"x-kubernetes-preserve-unknown-fields": true}}}, "spec.anything[].goes")).To(BeTrue())
	g.Expect(versionSchema(legacy, "v1beta1")).To(BeNil())
}

func TestSameJSON(t *testing.T) {
	g := NewWithT(t)
	g.Expect(sameJSON(map[string]any{"a": int64(1), "b": "x"}, map[string]any{"b": "x", "a": float64(1)})).To(BeTrue())
	g.Expect(sameJSON(map[string]string{}, nil)).To(BeTrue())
	g.Expect(sameJSON(map[string]any{"a": "1"}, map[string]any{"a": int64(1)})).To(BeFalse())
}

func TestBackupName(t *testing.T) {
	g := NewWithT(t)
	data := []byte("the compressed objects")
	for _, m := range migration.All() {
		name := BackupName(m.Name, data)
		g.Expect(validation.IsDNS1123Subdomain(name)).To(BeEmpty())
		g.Expect(len(name)).To(BeNumerically("<=", 63))
	}
	g.Expect(BackupName("x", data)).To(Equal(BackupName("x", []byte("the compressed objects"))), "the same backup, the same name")
	g.Expect(BackupName("x", data)).NotTo(Equal(BackupName("x", []byte("other objects"))))
}

func TestSameMain(t *testing.T) {
	g := NewWithT(t)
	base := fleetHardware("tink", 1)
	base.SetResourceVersion("1")
	base.SetUID("u")
	g.Expect(unstructured.SetNestedField(base.Object, "ready", "status", "state")).To(Succeed())
	other := func(change func(*unstructured.Unstructured)) *unstructured.Unstructured {
		o := base.DeepCopy()
		change(o)
		return o
	}
	g.Expect(sameMain(base, other(func(o *unstructured.Unstructured) {
		o.SetResourceVersion("2")
		o.SetGeneration(3)
		g.Expect(unstructured.SetNestedField(o.Object, "other", "status", "state")).To(Succeed())
	}))).To(BeTrue(), "status and the fields the apiserver manages do not count")
	g.Expect(sameMain(base, other(func(o *unstructured.Unstructured) { o.SetAnnotations(map[string]string{}) }))).To(BeTrue())
	g.Expect(sameMain(base, other(func(o *unstructured.Unstructured) { o.SetLabels(map[string]string{"a": "b"}) }))).To(BeFalse())
	g.Expect(sameMain(base, other(func(o *unstructured.Unstructured) {
		g.Expect(unstructured.SetNestedField(o.Object, "x", "spec", "userData")).To(Succeed())
	}))).To(BeFalse())
	g.Expect(sameMain(base, other(func(o *unstructured.Unstructured) { o.Object["extra"] = "x" }))).To(BeFalse())
	g.Expect(sameMain(other(func(o *unstructured.Unstructured) { o.Object["extra"] = "x" }), base)).To(BeFalse())
}
