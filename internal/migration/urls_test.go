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
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/catalog"
)

func TestRewritePortsIn(t *testing.T) {
	hosts := []string{testPublicIP, "Tink.Example.com", "fd00::10"}
	tests := []struct {
		name, ports, in, want string
	}{
		{"hegel metadata", "v0.18.2", "http://192.168.2.111:50061/2009-04-04/meta-data", "http://192.168.2.111:7172/2009-04-04/meta-data"},
		{"hook artifacts move elsewhere, not to 7173", "v0.18.2", `IMG_URL: "http://192.168.2.111:8080/a.raw.gz"`, `IMG_URL: "http://192.168.2.111:8080/a.raw.gz"`},
		{"https", "v0.18.2", "https://192.168.2.111:50061", "https://192.168.2.111:7172"},
		{"host name, any case", "v0.18.2", "HTTP://tink.example.COM:50061/x", "HTTP://tink.example.COM:7172/x"},
		{"ipv6", "v0.23.0", "http://[fd00::10]:7172/meta-data", "http://[fd00::10]:7080/meta-data"},
		{"smee at v0.23", "v0.23.0", "http://192.168.2.111:7171/ipxe/script/auto.ipxe", "http://192.168.2.111:7080/ipxe/script/auto.ipxe"},
		{"tootles at v0.23", "v0.23.0", "http://192.168.2.111:7172", "http://192.168.2.111:7080"},
		{"hegel at v0.23", "v0.23.0", "http://192.168.2.111:50061", "http://192.168.2.111:7080"},
		{"artifacts stay at v0.23", "v0.23.0", "http://192.168.2.111:7173/x", "http://192.168.2.111:7173/x"},
		{"https iso moves to 7443 at v0.23", "v0.23.0", "https://tink.example.com:7272/iso/08-00-27-9e-f5-3a/hook.iso", "https://tink.example.com:7443/iso/08-00-27-9e-f5-3a/hook.iso"},
		{"https metadata moves to 7443 at v0.23", "v0.23.0", "HTTPS://192.168.2.111:7272/2009-04-04/meta-data", "HTTPS://192.168.2.111:7443/2009-04-04/meta-data"},
		{"https iPXE is not served at v0.23", "v0.23.0", "https://192.168.2.111:7272/ipxe/script/auto.ipxe", "https://192.168.2.111:7272/ipxe/script/auto.ipxe"},
		{"7272 never served plain http", "v0.23.0", "http://192.168.2.111:7272/iso/x.iso", "http://192.168.2.111:7272/iso/x.iso"},
		{"several in one text", "v0.18.2", "a http://192.168.2.111:50061 b http://192.168.2.111:50061/c", "a http://192.168.2.111:7172 b http://192.168.2.111:7172/c"},
		{"foreign host", "v0.23.0", "http://10.1.1.1:7172 http://mirror.example.com:7171/x", "http://10.1.1.1:7172 http://mirror.example.com:7171/x"},
		{"host prefix of another", "v0.18.2", "http://192.168.2.1110:50061 http://1192.168.2.111:50061", "http://192.168.2.1110:50061 http://1192.168.2.111:50061"},
		{"subdomain of a host", "v0.18.2", "http://a.tink.example.com:50061", "http://a.tink.example.com:50061"},
		{"host followed by a domain", "v0.18.2", "http://tink.example.com.evil.org:50061", "http://tink.example.com.evil.org:50061"},
		{"longer port", "v0.23.0", "http://192.168.2.111:71711/x", "http://192.168.2.111:71711/x"},
		{"port not moved", "v0.18.2", "http://192.168.2.111:42113", "http://192.168.2.111:42113"},
		{"no scheme", "v0.18.2", "192.168.2.111:50061", "192.168.2.111:50061"},
		{"template expression host", "v0.18.2", "http://{{ .publicIP }}:50061", "http://{{ .publicIP }}:50061"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			moves := map[string][]portMove{"v0.18.2": portsV0182, "v0.23.0": portsV0230}[tt.ports]
			f := newURLFinder(hosts)
			got := rewritePortsIn(tt.in, f, moves)
			g.Expect(got).To(Equal(tt.want))
			g.Expect(rewritePortsIn(got, f, moves)).To(Equal(got), "idempotent")
		})
	}
}

func TestReportUnservedPortsV0230(t *testing.T) {
	g := NewWithT(t)
	env := Env{From: "v0.22.1", To: "v0.23.0", Hosts: []string{testPublicIP, "tink.example.com"}}
	hw := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"interfaces": []any{map[string]any{"netboot": map[string]any{"ipxe": map[string]any{
			"url": "https://Tink.example.com:7272/ipxe/script/08:00:27:9e:f5:3a/auto.ipxe",
		}}}},
		"userData": "url: https://192.168.2.111:7272/iso/a.iso\nbin: https://10.1.1.1:7272/ipxe/binary/snp.efi",
	}}}
	g.Expect(reportUnservedPorts(portsV0230)(hw, env)).To(Equal([]string{
		"left https://Tink.example.com:7272/ipxe/script/08:00:27:9e:f5:3a/auto.ipxe as is: Tinkerbell v0.23.0 and later serve iPXE binaries and scripts over HTTP only (port 7080), not over HTTPS",
	}))
	changed, err := rewritePorts(portsV0230)(hw, env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(nestedString(hw, "spec", "userData")).To(Equal("url: https://192.168.2.111:7443/iso/a.iso\nbin: https://10.1.1.1:7272/ipxe/binary/snp.efi"))
	g.Expect(reportUnservedPorts(portsV0230)(hw, env)).To(HaveLen(1), "still left after the rewrite")
	g.Expect(reportUnservedPorts(portsV0182)(hw, env)).To(BeEmpty())
}

func TestURLFinderPaths(t *testing.T) {
	f := newURLFinder([]string{"10.0.0.1"})
	tests := []struct{ in, text, path string }{
		{"http://10.0.0.1:7171", "http://10.0.0.1:7171", ""},
		{`"http://10.0.0.1:7171/auto.ipxe", x`, "http://10.0.0.1:7171/auto.ipxe", "/auto.ipxe"},
		{"chain http://10.0.0.1:7171/ipxe/snp.efi?mac=${net0/mac} || exit", "http://10.0.0.1:7171/ipxe/snp.efi", "/ipxe/snp.efi"},
		{"curl http://10.0.0.1:7171/a/b;echo", "http://10.0.0.1:7171/a/b", "/a/b"},
		{"(http://10.0.0.1:7171/x)", "http://10.0.0.1:7171/x", "/x"},
		{`url: 'http://10.0.0.1:7171/iso/{{ (index .Hardware.Interfaces 0).DHCP.MAC | replace ":" "-" }}/hook.iso'`,
			`http://10.0.0.1:7171/iso/{{ (index .Hardware.Interfaces 0).DHCP.MAC | replace ":" "-" }}/hook.iso`,
			`/iso/{{ (index .Hardware.Interfaces 0).DHCP.MAC | replace ":" "-" }}/hook.iso`},
		{"http://10.0.0.1:7171/{{ unterminated", "http://10.0.0.1:7171/", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g := NewWithT(t)
			urls := f.find(tt.in)
			g.Expect(urls).To(HaveLen(1))
			g.Expect(urls[0].text).To(Equal(tt.text))
			g.Expect(urls[0].path).To(Equal(tt.path))
			g.Expect(tt.in[urls[0].start:urls[0].end]).To(Equal(tt.text))
		})
	}
}

func TestRewritePortsLegacyObjects(t *testing.T) {
	g := NewWithT(t)
	env := Env{From: "0.6.2", To: "v0.25.0", Hosts: []string{testPublicIP}}
	v0182, v0230 := rewritePorts(portsV0182), rewritePorts(portsV0230)

	tpl := testObject(t, "stack-0.6.2", "Template", "ubuntu")
	orig := nestedString(tpl, "spec", "data")
	changed, err := v0182(tpl, env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	changed, err = v0230(tpl, env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	// The Hook file server URLs are RewriteLegacyArtifactURLs' business.
	want := strings.ReplaceAll(orig, "http://192.168.2.111:50061/2009", "http://192.168.2.111:7080/2009")
	g.Expect(nestedString(tpl, "spec", "data")).To(Equal(want))
	g.Expect(want).To(ContainSubstring("http://10.1.1.1:8080/extras.raw.gz"), "foreign host untouched")

	hw := testObject(t, "stack-0.6.2", "Hardware", "machine1")
	_, err = v0182(hw, env)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = v0230(hw, env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(nestedString(hw, "spec", "userData")).To(And(
		ContainSubstring(`metadata_urls: ["http://192.168.2.111:7080"]`),
		ContainSubstring("http://mirror.example.com:8080/bootstrap.sh"),
	))
	ifaces, _, _ := unstructured.NestedSlice(hw.Object, "spec", "interfaces")
	g.Expect(ifaces[0]).To(HaveKeyWithValue("netboot", HaveKeyWithValue("osie", HaveKeyWithValue("baseURL", "http://192.168.2.111:8080"))))

	// Idempotent on every object.
	for _, obj := range []*unstructured.Unstructured{tpl, hw} {
		before := obj.DeepCopy()
		for _, f := range []TransformFunc{v0182, v0230} {
			changed, err := f(obj, env)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(BeFalse())
		}
		g.Expect(obj.Object).To(Equal(before.Object))
	}

	// A Hardware with only foreign URLs is unchanged.
	other := testObject(t, "stack-0.6.2", "Hardware", "machine2")
	changed, err = v0182(other, env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
}

func TestRewritePortsUnifiedObjects(t *testing.T) {
	g := NewWithT(t)
	env := Env{From: "v0.19.0", To: "v0.23.0", Hosts: []string{testPublicIP, "tink.example.com"}}
	tpl := testObject(t, "v0.19.0", "Template", "ubuntu")
	changed, err := rewritePorts(portsV0230)(tpl, env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(nestedString(tpl, "spec", "data")).To(And(
		ContainSubstring("http://192.168.2.111:7173/jammy"),
		ContainSubstring("curl -s http://192.168.2.111:7080/2009-04-04"),
		ContainSubstring("curl -s http://10.1.1.1:7171/x"),
	))
	hw := testObject(t, "v0.19.0", "Hardware", "machine1")
	changed, err = rewritePorts(portsV0230)(hw, env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(nestedString(hw, "spec", "userData")).To(ContainSubstring(`["http://192.168.2.111:7080", "http://10.1.1.1:7172"]`))
	ifaces, _, _ := unstructured.NestedSlice(hw.Object, "spec", "interfaces")
	// The iPXE path is RewriteIPXEPathsV0220's business; the port moves alone leave it.
	g.Expect(ifaces[0]).To(HaveKeyWithValue("netboot", HaveKeyWithValue("ipxe", HaveKeyWithValue("url", "http://tink.example.com:7080/auto.ipxe"))))
}

func TestRewritePortsNeedsHosts(t *testing.T) {
	g := NewWithT(t)
	tpl := testObject(t, "stack-0.6.2", "Template", "ubuntu")
	for _, m := range All() {
		if !m.NeedsHosts {
			continue
		}
		for _, rw := range m.Rewrites {
			_, err := rw.Transform(tpl, Env{From: "0.6.2", To: "v0.25.0", ArtifactsFileServer: "http://10.0.0.2:7173"})
			g.Expect(err).To(MatchError(ErrNoTinkerbellHosts), "%s on %s", m.Name, rw.Target.Kind)
		}
	}
}

func TestRewriteTinkWorkerImage(t *testing.T) {
	const digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct{ name, in, want string }{
		{"tagged", "quay.io/tinkerbell/tink-worker:v0.12.1", "ghcr.io/tinkerbell/tink-agent:v0.22.1"},
		{"latest", "image: quay.io/tinkerbell/tink-worker:latest\n", "image: ghcr.io/tinkerbell/tink-agent:v0.22.1\n"},
		{"untagged", `"quay.io/tinkerbell/tink-worker"`, `"ghcr.io/tinkerbell/tink-agent"`},
		{"digest", "quay.io/tinkerbell/tink-worker" + digest, "ghcr.io/tinkerbell/tink-agent:v0.22.1"},
		{"tag and digest", "quay.io/tinkerbell/tink-worker:v0.10.0" + digest + " x", "ghcr.io/tinkerbell/tink-agent:v0.22.1 x"},
		{"mirror", "registry.local/quay.io/tinkerbell/tink-worker:v0.12.1", "registry.local/quay.io/tinkerbell/tink-worker:v0.12.1"},
		{"other image", "quay.io/tinkerbell/tink-worker-debug:v1", "quay.io/tinkerbell/tink-worker-debug:v1"},
		{"other repository", "quay.io/tinkerbell/tink-controller:v0.12.1", "quay.io/tinkerbell/tink-controller:v0.12.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"data": tt.in}}}
			env := Env{To: "v0.22.1"}
			changed, err := RewriteTinkWorkerImage(obj, env)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(Equal(tt.in != tt.want))
			g.Expect(nestedString(obj, "spec", "data")).To(Equal(tt.want))
			changed, err = RewriteTinkWorkerImage(obj, env)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(BeFalse())
		})
	}
}

func TestRewriteTinkWorkerImageHardware(t *testing.T) {
	g := NewWithT(t)
	hw := testObject(t, "stack-0.6.2", "Hardware", "machine1")
	changed, err := RewriteTinkWorkerImage(hw, Env{To: "v0.19.0"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(nestedString(hw, "spec", "userData")).To(ContainSubstring("docker run -d --net host ghcr.io/tinkerbell/tink-agent:v0.19.0\n"))
	_, err = RewriteTinkWorkerImage(hw, Env{})
	g.Expect(err).To(HaveOccurred())
}

// The port moves are literals; each must agree with the catalog's ports of the releases on either side of the
// release that moved them (the catalog's ports are checked against each release's values.yaml).
func TestPortMovesFollowTheCatalog(t *testing.T) {
	g := NewWithT(t)
	ports := func(version string) catalog.Ports {
		r, err := catalog.Lookup(version)
		g.Expect(err).NotTo(HaveOccurred())
		return r.Ports
	}
	port := func(p int32) string { return strconv.Itoa(int(p)) }
	moved := func(moves []portMove, scheme, from string) string {
		for _, m := range moves {
			if m.from == from && (m.scheme == "" || m.scheme == scheme) {
				return m.to
			}
		}
		return from
	}
	// Leaving the legacy stack 0.6.2 for v0.19.0 (crossing v0.18.2): Hegel's metadata port becomes Tootles'.
	legacy, v019 := ports("0.6.2"), ports("v0.19.0")
	g.Expect(moved(portsV0182, "http", port(legacy.TootlesHTTP))).To(Equal(port(v019.TootlesHTTP)))
	g.Expect(moved(portsV0182, "http", port(legacy.SmeeHTTP))).To(Equal(port(v019.SmeeHTTP)))
	// v0.22.1 to v0.23.0.
	v022, v023 := ports("v0.22.1"), ports("v0.23.0")
	g.Expect(moved(portsV0230, "http", port(v022.SmeeHTTP))).To(Equal(port(v023.SmeeHTTP)))
	g.Expect(moved(portsV0230, "http", port(v022.TootlesHTTP))).To(Equal(port(v023.TootlesHTTP)))
	g.Expect(moved(portsV0230, "https", port(v022.HTTPS))).To(Equal(port(v023.HTTPS)))
	g.Expect(moved(portsV0230, "http", port(v022.ArtifactsHTTP))).To(Equal(port(v023.ArtifactsHTTP)))
	g.Expect(moved(portsV0230, "http", port(v022.TinkServerGRPC))).To(Equal(port(v023.TinkServerGRPC)))
}
