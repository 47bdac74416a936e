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

	"github.com/kubetink/kubetink/internal/catalog"
)

// Smee's paths at v0.21.0 and before (handlers "/ipxe/" and "/") against v0.22.0 (smee.IPXEBinaryURI,
// smee.IPXEScriptURI).
func TestIPXEPathV0220(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/auto.ipxe", "/ipxe/script/auto.ipxe"},
		{"/08:00:27:9e:f5:3a/auto.ipxe", "/ipxe/script/08:00:27:9e:f5:3a/auto.ipxe"},
		{"/{{ .mac }}/auto.ipxe", "/ipxe/script/{{ .mac }}/auto.ipxe"},
		{"/ipxe/snp.efi", "/ipxe/binary/snp.efi"},
		{"/ipxe/08:00:27:9e:f5:3a/undionly.kpxe", "/ipxe/binary/08:00:27:9e:f5:3a/undionly.kpxe"},
		{"/ipxe/script/auto.ipxe", "/ipxe/script/auto.ipxe"},
		{"/ipxe/script/08:00:27:9e:f5:3a/auto.ipxe", "/ipxe/script/08:00:27:9e:f5:3a/auto.ipxe"},
		{"/ipxe/binary/snp.efi", "/ipxe/binary/snp.efi"},
		{"/ipxe/", "/ipxe/"},
		{"/iso/08-00-27-9e-f5-3a/hook.iso", "/iso/08-00-27-9e-f5-3a/hook.iso"},
		{"/iso/auto.ipxe", "/iso/auto.ipxe"},
		{"/custom.ipxe", "/custom.ipxe"},
		{"/not-auto.ipxe", "/not-auto.ipxe"},
		{"/healthcheck", "/healthcheck"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g := NewWithT(t)
			got, moved := ipxePathV0220(tt.in)
			g.Expect(got).To(Equal(tt.want))
			g.Expect(moved).To(Equal(tt.in != tt.want))
			again, movedAgain := ipxePathV0220(got)
			g.Expect(movedAgain).To(BeFalse(), "idempotent")
			g.Expect(again).To(Equal(got))
		})
	}
}

func TestRewriteIPXEPathsV0220(t *testing.T) {
	hosts := []string{"10.0.0.1", "tink.example.com", "fd00::10"}
	tests := []struct{ name, in, want string }{
		{"script", "http://10.0.0.1:7171/auto.ipxe", "http://10.0.0.1:7171/ipxe/script/auto.ipxe"},
		{"script of a MAC, host name in any case", "http://Tink.Example.COM:7171/08:00:27:9e:f5:3a/auto.ipxe",
			"http://Tink.Example.COM:7171/ipxe/script/08:00:27:9e:f5:3a/auto.ipxe"},
		{"script with a query", "http://10.0.0.1:7171/auto.ipxe?x=1", "http://10.0.0.1:7171/ipxe/script/auto.ipxe?x=1"},
		{"binary in an iPXE chain", "chain --autofree http://[fd00::10]:7171/ipxe/snp.efi || shell",
			"chain --autofree http://[fd00::10]:7171/ipxe/binary/snp.efi || shell"},
		{"iso stays", "http://10.0.0.1:7171/iso/08-00-27-9e-f5-3a/hook.iso", "http://10.0.0.1:7171/iso/08-00-27-9e-f5-3a/hook.iso"},
		{"Tootles' port is not Smee's", "http://10.0.0.1:7172/auto.ipxe", "http://10.0.0.1:7172/auto.ipxe"},
		{"no TLS before v0.22.0", "https://10.0.0.1:7171/auto.ipxe", "https://10.0.0.1:7171/auto.ipxe"},
		{"another host", "http://10.1.1.1:7171/auto.ipxe", "http://10.1.1.1:7171/auto.ipxe"},
		{"a look-alike host", "http://110.0.0.1:7171/auto.ipxe http://10.0.0.11:7171/ipxe/snp.efi",
			"http://110.0.0.1:7171/auto.ipxe http://10.0.0.11:7171/ipxe/snp.efi"},
		{"a longer host name", "http://tink.example.com.evil.org:7171/auto.ipxe", "http://tink.example.com.evil.org:7171/auto.ipxe"},
		{"a template expression host", "http://{{ .publicIP }}:7171/auto.ipxe", "http://{{ .publicIP }}:7171/auto.ipxe"},
	}
	// Every release before v0.22.0 in the catalog, the legacy stack 0.6.2 included, has Smee's HTTP on 7171.
	var froms []string
	for _, r := range catalog.Releases() {
		if catalog.Compare(r.Version, "v0.22.0") < 0 {
			froms = append(froms, r.Version)
		}
	}
	froms = append(froms, "v0.18.0", "v0.21.1-0a1b2c3d")
	for _, from := range froms {
		for _, tt := range tests {
			t.Run(from+"/"+tt.name, func(t *testing.T) {
				g := NewWithT(t)
				plan, err := Plan(from, "v0.22.0")
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(stepNames(plan)).To(ContainElement(TinkerbellIPXEPathsV0220))
				env := Env{From: from, To: "v0.22.0", Hosts: hosts}
				obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"data": tt.in}}}
				changed, err := RewriteIPXEPathsV0220(obj, env)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(changed).To(Equal(tt.in != tt.want))
				g.Expect(nestedString(obj, "spec", "data")).To(Equal(tt.want))
				changed, err = RewriteIPXEPathsV0220(obj, env)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(changed).To(BeFalse(), "idempotent")
			})
		}
	}
}

func TestReleasePortsEveryCatalogRelease(t *testing.T) {
	for _, r := range catalog.Releases() {
		t.Run(r.Version, func(t *testing.T) {
			g := NewWithT(t)
			ports, err := releasePorts(r.Version)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ports).To(Equal(r.Ports))
			// Smee's HTTP port: 7171 up to v0.22.1 (service.ports.httpSmee), 7080 from v0.23.0 (service.ports.http).
			want := int32(7171)
			if catalog.Compare(r.Version, "v0.23.0") >= 0 {
				want = 7080
			}
			g.Expect(ports.SmeeHTTP).To(Equal(want))
		})
	}
	g := NewWithT(t)
	for version, wantFrom := range map[string]string{
		"0.4.0":            "0.6.2",   // an older legacy stack: the only legacy release of the catalog
		"v0.17.0":          "v0.19.0", // unified releases before the catalog
		"v0.18.1":          "v0.19.0",
		"v0.21.1-0a1b2c3d": "v0.21.0", // a mainline build follows the release before it
		"v0.22.2":          "v0.22.1",
		"v0.26.0":          "v0.25.0",
	} {
		ports, err := releasePorts(version)
		g.Expect(err).NotTo(HaveOccurred())
		want, err := catalog.Lookup(wantFrom)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ports).To(Equal(want.Ports), version)
	}
}
