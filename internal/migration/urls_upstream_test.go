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
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubetink/kubetink/internal/testutil"
	"github.com/kubetink/kubetink/test/upstreamcrds"
)

// TestURLMovesOnUpstreamObjects runs the URL migrations of an upgrade (those that need Tinkerbell's hosts) on
// objects of every kind that holds such URLs, shaped as the from-release's upstream CRDs declare them, and checks
// the result against a golden file (testdata/objects/<objects>.to-<to>.golden.yaml) and the to-release's CRDs.
func TestURLMovesOnUpstreamObjects(t *testing.T) {
	hosts := []string{"10.0.0.1", "tink.example.com"}
	tests := []struct {
		name, objects string
		// from and to are the upgrade; fromCRDs and toCRDs the upstream CRDs the objects are checked against.
		from, fromCRDs, to, toCRDs string
		artifacts                  string
		wantNotes                  []string
	}{
		{
			// v0.22.1's CRDs stand in for v0.21.0's: from v0.20.0 to v0.25.0 the CRDs only gain fields.
			name: "v0.21.0 to v0.25.0 crosses the v0.22.0 paths and the v0.23.0 ports", objects: "urls-v0.21.0",
			from: "v0.21.0", fromCRDs: "v0.22.1", to: "v0.25.0", toCRDs: "v0.25.0",
		},
		{
			// v0.25.0's CRDs stand in for v0.23.0's, for the same reason.
			name: "v0.22.1 to v0.23.0 moves HTTPS from 7272 to 7443", objects: "urls-v0.22.1",
			from: "v0.22.1", fromCRDs: "v0.22.1", to: "v0.23.0", toCRDs: "v0.25.0",
			wantNotes: []string{"Hardware tinkerbell/machine1: left https://tink.example.com:7272/ipxe/script/08:00:27:9e:f5:3a/auto.ipxe as is: " +
				"Tinkerbell v0.23.0 and later serve iPXE binaries and scripts over HTTP only (port 7080), not over HTTPS"},
		},
		{
			name: "stack 0.6.2 to v0.25.0 moves the Hook URLs to the artifacts file server", objects: "urls-stack-0.6.2",
			from: "0.6.2", fromCRDs: "0.6.2", to: "v0.25.0", toCRDs: "v0.25.0", artifacts: "http://10.0.0.2:7173/hook",
		},
		{
			name: "stack 0.6.2 to v0.19.0 without an artifacts file server leaves the Hook URLs", objects: "urls-stack-0.6.2",
			from: "0.6.2", fromCRDs: "0.6.2", to: "v0.19.0", toCRDs: "v0.19.0",
			wantNotes: []string{
				"Hardware tink/machine1: left http://10.0.0.1:8080 as is: the legacy stack's Hook file server on port 8080 is gone and no artifacts file server was given (--artifacts-file-server)",
				"Template tink/ubuntu: left http://10.0.0.1:8080/jammy-server-cloudimg-amd64.raw.gz as is: the legacy stack's Hook file server on port 8080 is gone and no artifacts file server was given (--artifacts-file-server)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			fromSchemas, toSchemas := upstreamSchemas(t, tt.fromCRDs), upstreamSchemas(t, tt.toCRDs)
			objs := testutil.ReadObjects(t, filepath.Join("testdata", "objects", tt.objects+".yaml"))
			for _, obj := range objs {
				expectUpstreamShaped(g, obj, fromSchemas, tt.fromCRDs)
			}
			ms, err := Migrations(tt.from, tt.to)
			g.Expect(err).NotTo(HaveOccurred())
			env := Env{From: tt.from, To: tt.to, Hosts: hosts, ArtifactsFileServer: tt.artifacts}

			var notes []string
			for _, m := range ms {
				if !m.NeedsHosts {
					continue
				}
				for _, obj := range objs {
					for _, rw := range rewritesOf(m, obj) {
						if rw.Report != nil {
							for _, n := range rw.Report(obj, env) {
								notes = append(notes, obj.GetKind()+" "+objectKey(obj)+": "+n)
							}
						}
						_, err := rw.Transform(obj, env)
						g.Expect(err).NotTo(HaveOccurred(), "%s on %s %s", m.Name, obj.GetKind(), obj.GetName())
					}
				}
			}
			if tt.wantNotes == nil {
				g.Expect(notes).To(BeEmpty())
			} else {
				g.Expect(notes).To(Equal(tt.wantNotes))
			}

			// Idempotent: the whole chain again changes nothing.
			for _, m := range ms {
				if !m.NeedsHosts {
					continue
				}
				for _, obj := range objs {
					for _, rw := range rewritesOf(m, obj) {
						changed, err := rw.Transform(obj, env)
						g.Expect(err).NotTo(HaveOccurred())
						g.Expect(changed).To(BeFalse(), "%s changed %s %s again", m.Name, obj.GetKind(), obj.GetName())
					}
				}
			}

			var out bytes.Buffer
			for _, obj := range objs {
				expectUpstreamShaped(g, obj, toSchemas, tt.toCRDs)
				data, err := yaml.Marshal(obj.Object)
				g.Expect(err).NotTo(HaveOccurred())
				out.WriteString("---\n")
				out.Write(data)
			}
			testutil.CompareGolden(t, filepath.Join("testdata", "objects", tt.objects+".to-"+tt.to+".golden.yaml"), out.Bytes())
		})
	}
}

// upstreamSchemas returns the structural v1alpha1 schema of every CRD upstream's release installs
// (test/upstreamcrds), by CRD name.
func upstreamSchemas(t *testing.T, release string) map[string]*structuralschema.Structural {
	t.Helper()
	files, err := upstreamcrds.Files(testutil.RepoRoot(), release)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*structuralschema.Structural{}
	for _, f := range files {
		for _, doc := range readDocs(t, f.Path) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(doc, crd); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			for _, v := range crd.Spec.Versions {
				if v.Name != "v1alpha1" {
					continue
				}
				internal := &apiextensions.JSONSchemaProps{}
				if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
					t.Fatal(err)
				}
				s, err := structuralschema.NewStructural(internal)
				if err != nil {
					t.Fatalf("%s: %v", f.Path, err)
				}
				out[crd.Name] = s
			}
		}
	}
	return out
}

// TestURLMovesTouchOnlyTinkerbellsHosts checks every URL migration against URLs of other and look-alike hosts,
// and against Tinkerbell's host names written in any case.
func TestURLMovesTouchOnlyTinkerbellsHosts(t *testing.T) {
	foreign := strings.Join([]string{
		"http://10.1.1.1:7171/auto.ipxe", "http://110.0.0.1:7171/auto.ipxe", "http://10.0.0.11:7172/x",
		"http://10.0.0.1.nip.io:50061/x", "http://a.tink.example.com:7171/ipxe/snp.efi", "http://tink.example.com.evil.org:8080/a",
		"https://110.0.0.1:7272/iso/a.iso", "http://{{ .publicIP }}:7171/auto.ipxe",
	}, "\n")
	own := "http://TINK.Example.Com:7171/auto.ipxe http://tink.EXAMPLE.com:50061/x http://Tink.Example.Com:8080/a"
	want := map[string]string{
		TinkerbellPortsV0182:     "http://TINK.Example.Com:7171/auto.ipxe http://tink.EXAMPLE.com:7172/x http://Tink.Example.Com:8080/a",
		TinkerbellIPXEPathsV0220: "http://TINK.Example.Com:7171/ipxe/script/auto.ipxe http://tink.EXAMPLE.com:50061/x http://Tink.Example.Com:8080/a",
		TinkerbellPortsV0230:     "http://TINK.Example.Com:7080/auto.ipxe http://tink.EXAMPLE.com:7080/x http://Tink.Example.Com:8080/a",
		HookArtifactsFileServer:  "http://TINK.Example.Com:7171/auto.ipxe http://tink.EXAMPLE.com:50061/x http://10.0.0.2:7173/a",
	}
	for _, m := range All() {
		if !m.NeedsHosts {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(want).To(HaveKey(m.Name), "every URL migration is listed here")
			env := Env{From: "0.6.2", To: "v0.25.0", Hosts: []string{"10.0.0.1", "tink.example.com"}, ArtifactsFileServer: "http://10.0.0.2:7173"}
			for _, rw := range m.Rewrites {
				obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"a": foreign, "b": []any{own}}}}
				_, err := rw.Transform(obj, env)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(obj.Object["spec"]).To(Equal(map[string]any{"a": foreign, "b": []any{want[m.Name]}}), rw.Target.Kind)
			}
		})
	}
}

// expectUpstreamShaped checks that the apiserver serving release's upstream CRD of obj's kind keeps all of obj.
func expectUpstreamShaped(g Gomega, obj *unstructured.Unstructured, schemas map[string]*structuralschema.Structural, release string) {
	t, ok := targetOf(obj)
	g.Expect(ok).To(BeTrue(), "%s %s", obj.GetAPIVersion(), obj.GetKind())
	s, ok := schemas[t.CRDName()]
	g.Expect(ok).To(BeTrue(), "no CRD %s in %s", t.CRDName(), release)
	pruned := obj.DeepCopy()
	pruning.Prune(pruned.Object, s, true)
	g.Expect(pruned.Object).To(Equal(obj.Object), "the %s CRD of %s prunes fields of %s", t.CRDName(), release, obj.GetName())
}

// rewritesOf returns the rewrites of m for obj's kind.
func rewritesOf(m Migration, obj *unstructured.Unstructured) []Rewrite {
	var out []Rewrite
	for _, rw := range m.Rewrites {
		if rw.Target.APIVersion() == obj.GetAPIVersion() && rw.Target.Kind == obj.GetKind() {
			out = append(out, rw)
		}
	}
	return out
}

// targetOf returns the Target of obj's kind.
func targetOf(obj *unstructured.Unstructured) (Target, bool) {
	for _, t := range Targets() {
		if t.APIVersion() == obj.GetAPIVersion() && t.Kind == obj.GetKind() {
			return t, true
		}
	}
	return Target{}, false
}
