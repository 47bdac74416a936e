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

// The legacy stack 0.6.2 serves the Hook files on stack.hook.port 8080 of its public IP; the unified releases
// at spec.artifactsFileServer.
func TestRewriteLegacyArtifactURLsStack062(t *testing.T) {
	hosts := []string{"10.0.0.1", "tink.example.com"}
	tests := []struct{ name, server, in, want string }{
		{"another host", "http://10.0.0.2:7173", `IMG_URL: "http://10.0.0.1:8080/jammy.raw.gz"`, `IMG_URL: "http://10.0.0.2:7173/jammy.raw.gz"`},
		{"a path prefix", "http://artifacts.example.com:7173/hook/", "http://10.0.0.1:8080/vmlinuz-x86_64",
			"http://artifacts.example.com:7173/hook/vmlinuz-x86_64"},
		{"the base URL alone", "http://10.0.0.2:7173/hook", "baseURL: http://10.0.0.1:8080\n", "baseURL: http://10.0.0.2:7173/hook\n"},
		{"a query stays", "https://10.0.0.2", "http://Tink.example.COM:8080/a.img?x=1", "https://10.0.0.2/a.img?x=1"},
		{"https too", "http://10.0.0.2:7173", "https://10.0.0.1:8080/a", "http://10.0.0.2:7173/a"},
		{"the same address and port with a prefix", "http://10.0.0.1:8080/hook", "http://10.0.0.1:8080/a http://10.0.0.1:8080/hook/b",
			"http://10.0.0.1:8080/hook/a http://10.0.0.1:8080/hook/b"},
		{"the same address and port", "http://10.0.0.1:8080", "http://10.0.0.1:8080/a", "http://10.0.0.1:8080/a"},
		{"other ports stay", "http://10.0.0.2:7173", "http://10.0.0.1:7173/a http://10.0.0.1:50061", "http://10.0.0.1:7173/a http://10.0.0.1:50061"},
		{"another host stays", "http://10.0.0.2:7173", "http://mirror.example.com:8080/bootstrap.sh", "http://mirror.example.com:8080/bootstrap.sh"},
		{"look-alike hosts stay", "http://10.0.0.2:7173", "http://110.0.0.1:8080/a http://10.0.0.10:8080/a http://tink.example.com.evil.org:8080/a",
			"http://110.0.0.1:8080/a http://10.0.0.10:8080/a http://tink.example.com.evil.org:8080/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			env := Env{From: "0.6.2", To: "v0.25.0", Hosts: hosts, ArtifactsFileServer: tt.server}
			obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"data": tt.in}}}
			changed, err := RewriteLegacyArtifactURLs(obj, env)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(Equal(tt.in != tt.want))
			g.Expect(nestedString(obj, "spec", "data")).To(Equal(tt.want))
			changed, err = RewriteLegacyArtifactURLs(obj, env)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(BeFalse(), "idempotent")
			g.Expect(ReportLegacyArtifactURLs(obj, env)).To(BeEmpty(), "nothing to report with a server")
		})
	}
}

func TestRewriteLegacyArtifactURLsWithoutServer(t *testing.T) {
	g := NewWithT(t)
	env := Env{From: "0.6.2", To: "v0.19.0", Hosts: []string{testPublicIP}}
	hw := testObject(t, "stack-0.6.2", "Hardware", "machine1")
	before := hw.DeepCopy()
	changed, err := RewriteLegacyArtifactURLs(hw, env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse(), "no host is invented")
	g.Expect(hw.Object).To(Equal(before.Object))
	g.Expect(ReportLegacyArtifactURLs(hw, env)).To(Equal([]string{
		"left http://192.168.2.111:8080 as is: the legacy stack's Hook file server on port 8080 is gone and no artifacts file server was given (--artifacts-file-server)",
	}))
	g.Expect(ReportLegacyArtifactURLs(testObject(t, "stack-0.6.2", "Hardware", "machine2"), env)).To(BeEmpty())
}

// From a unified release the artifacts already are at spec.artifactsFileServer (v0.17.0's hookos Service takes
// its load balancer IP from it): port 8080 of Tinkerbell's address means nothing there.
func TestRewriteLegacyArtifactURLsUnifiedFrom(t *testing.T) {
	g := NewWithT(t)
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"data": "http://10.0.0.1:8080/a"}}}
	env := Env{From: "v0.17.0", To: "v0.19.0", Hosts: []string{"10.0.0.1"}, ArtifactsFileServer: "http://10.0.0.2:7173"}
	changed, err := RewriteLegacyArtifactURLs(obj, env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
	env.ArtifactsFileServer = ""
	g.Expect(ReportLegacyArtifactURLs(obj, env)).To(BeEmpty())
	plan, err := Plan("v0.17.0", "v0.19.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stepNames(plan)).NotTo(ContainElement(HookArtifactsFileServer))
}
