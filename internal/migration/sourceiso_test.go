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
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/testutil"
)

// isoHosts are Tinkerbell's addresses in testdata/objects/v0.22.1.yaml, the IPv6 one in brackets as a user may
// give it.
var isoHosts = []string{testPublicIP, "tinkerbell.example.com", "[fd00::10]"}

// isoObjects returns the Workflows and bmc Jobs of testdata/objects/v0.22.1.yaml.
func isoObjects(t *testing.T) (workflows, jobs []unstructured.Unstructured) {
	t.Helper()
	for _, u := range testutil.ReadObjects(t, filepath.Join("testdata", "objects", "v0.22.1.yaml")) {
		switch u.GetKind() {
		case Workflows.Kind:
			workflows = append(workflows, *u)
		case BMCJobs.Kind:
			jobs = append(jobs, *u)
		}
	}
	return workflows, jobs
}

func refusalLines(rs []Refusal) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Kind+" "+r.Namespace+"/"+r.Name+" "+r.Field)
	}
	return out
}

// TestRefusals_SourceISOQueryIgnoredFromV0240: tinkerbell v0.22.0 (d99c8576) let an ISO URL's sourceISO query
// parameter choose the ISO Smee serves; v0.24.0 (3bd5c15a, an SSRF fix) ignores it. An upgrade from v0.22.x or
// v0.23.x to v0.24.0 or later is refused while a Workflow or bmc Job that can still run relies on it.
func TestRefusals_SourceISOQueryIgnoredFromV0240(t *testing.T) {
	workflows, jobs := isoObjects(t)
	refused := []string{
		"Workflow tink/wf-iso-query spec.bootOptions.isoURL",
		"Workflow tink/wf-iso-preparing spec.bootOptions.isoURL",
		"Workflow tink/wf-iso-hostname spec.bootOptions.isoURL",
		"Workflow tink/wf-customboot spec.bootOptions.custombootConfig.preparingActions[1].virtualMediaAction.mediaURL",
		"Job tink/iso-mount-wf-iso-preparing spec.tasks[2].virtualMediaAction.mediaURL",
		"Job tink/machine2-iso spec.tasks[1].virtualMediaAction.mediaURL",
	}
	for _, tt := range []struct {
		name     string
		from, to string
		hosts    []string
		want     []string
	}{
		{name: "v0.22.1 to v0.24.0", from: "v0.22.1", to: "v0.24.0", hosts: isoHosts, want: refused},
		{name: "v0.22.0 to v0.25.0", from: "v0.22.0", to: "v0.25.0", hosts: isoHosts, want: refused},
		{name: "v0.23.0 to v0.24.0", from: "v0.23.0", to: "v0.24.0", hosts: isoHosts, want: refused},
		{name: "v0.23.0 to v0.23.0 mainline build", from: "v0.23.0", to: "v0.23.1-23da0880", hosts: isoHosts},
		{name: "v0.22.1 to v0.23.0 still reads the parameter", from: "v0.22.1", to: "v0.23.0", hosts: isoHosts},
		{name: "v0.24.0 to v0.25.0 ignored it already", from: "v0.24.0", to: "v0.25.0", hosts: isoHosts},
		{name: "v0.21.0 to v0.25.0 never read it", from: "v0.21.0", to: "v0.25.0", hosts: isoHosts},
		{name: "stack 0.6.2 to v0.25.0 never read it", from: "0.6.2", to: "v0.25.0", hosts: isoHosts},
		{name: "install", from: "", to: "v0.25.0", hosts: isoHosts},
		{name: "no Tinkerbell host known", from: "v0.23.0", to: "v0.24.0"},
		{name: "only the IPv6 host, without brackets", from: "v0.23.0", to: "v0.24.0", hosts: []string{"FD00::10"},
			want: []string{"Job tink/machine2-iso spec.tasks[1].virtualMediaAction.mediaURL"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := Refusals(tt.from, tt.to, tt.hosts, workflows, jobs)
			if tt.want == nil {
				g.Expect(got).To(BeEmpty())
				return
			}
			g.Expect(refusalLines(got)).To(Equal(tt.want))
		})
	}
}

// TestRefusals_SourceISOMessage: the message says what v0.24.0 does and what to change, names the Hardware
// interface by the URL's MAC, and never quotes the URL (a presigned source ISO URL is a credential).
func TestRefusals_SourceISOMessage(t *testing.T) {
	g := NewWithT(t)
	workflows, jobs := isoObjects(t)
	got := Refusals("v0.23.0", "v0.24.0", isoHosts, workflows, jobs)
	g.Expect(got).NotTo(BeEmpty())
	g.Expect(got[0].String()).To(Equal("Workflow tink/wf-iso-query: spec.bootOptions.isoURL: the ISO URL on Tinkerbell chooses its " +
		"source ISO with the sourceISO query parameter, which Tinkerbell ignores from v0.24.0 on (it would boot the default ISO " +
		"instead): move that source ISO URL to spec.interfaces[].isoboot.sourceISO of the Hardware interface with MAC " +
		"02:7f:92:bd:2d:57 and remove the parameter from this URL"))
	for _, r := range got {
		g.Expect(r.Reason).NotTo(ContainSubstring("artifacts.example.com"))
		g.Expect(r.Reason).NotTo(ContainSubstring("7171"))
	}
	g.Expect(got[3].Reason).To(ContainSubstring("with MAC 02:7f:92:bd:2d:58"))

	// A URL whose path names no MAC (Smee answers 400 to it anyway) still gets a fix to follow.
	wf := workflowInState("no-mac", "PENDING")
	g.Expect(unstructured.SetNestedField(wf.Object, "http://192.168.2.111:7080/iso/hook.iso?sourceISO=https://x.example/h.iso",
		"spec", "bootOptions", "isoURL")).To(Succeed())
	r := Refusals("v0.23.0", "v0.25.0", isoHosts, []unstructured.Unstructured{wf}, nil)
	g.Expect(r).To(HaveLen(1))
	g.Expect(r[0].Reason).To(ContainSubstring("of the Hardware interface whose MAC the URL's path names"))
}

// TestRefusals_ObjectsAreV0221Shaped: the test objects keep every field under upstream's v0.22.1 CRDs, so they
// are what that release stores and the rule reads what it would read.
func TestRefusals_ObjectsAreV0221Shaped(t *testing.T) {
	g := NewWithT(t)
	crdFile := map[string]string{
		Workflows.Kind: "tinkerbell.org_workflows.yaml",
		BMCJobs.Kind:   "bmc.tinkerbell.org_jobs.yaml",
		Hardware.Kind:  "tinkerbell.org_hardware.yaml",
	}
	for _, u := range testutil.ReadObjects(t, filepath.Join("testdata", "objects", "v0.22.1.yaml")) {
		pruned := u.DeepCopy()
		pruneWith(t, pruned, "v0.22.1", crdFile[u.GetKind()])
		g.Expect(pruned.Object).To(Equal(u.Object), "%s %s loses fields under the v0.22.1 CRD", u.GetKind(), u.GetName())
	}
	// Hardware spec.interfaces[].isoboot.sourceISO, where the refusal sends the value, exists from v0.22.0 on
	// (d99c8576) and not before: the v0.19.0 CRD prunes it.
	hw := testObject(t, "v0.22.1", Hardware.Kind, "machine2")
	pruneWith(t, hw, "v0.19.0", crdFile[Hardware.Kind])
	ifaces, _, _ := unstructured.NestedSlice(hw.Object, "spec", "interfaces")
	g.Expect(ifaces[0]).NotTo(HaveKey("isoboot"))
}

// TestRefusals_ReadsEveryMediaURL: every field that v0.22.1's CRDs call a media or ISO URL of a Workflow or a bmc
// Job is one the rule reads.
func TestRefusals_ReadsEveryMediaURL(t *testing.T) {
	g := NewWithT(t)
	var fields []string
	for _, name := range []string{"tinkerbell.org_workflows.yaml", "bmc.tinkerbell.org_jobs.yaml"} {
		crd := readDocs(t, upstreamCRD(t, "v0.22.1", name))[0]
		versions, _, _ := unstructured.NestedSlice(crd, "spec", "versions")
		schema, _, _ := unstructured.NestedMap(versions[0].(map[string]any), "schema", "openAPIV3Schema", "properties", "spec")
		collectURLFields(schema, "spec", &fields)
	}
	g.Expect(fields).To(ConsistOf(
		"spec.bootOptions.custombootConfig.postActions[].virtualMediaAction.mediaURL",
		"spec.bootOptions.custombootConfig.preparingActions[].virtualMediaAction.mediaURL",
		"spec.bootOptions.isoURL",
		"spec.tasks[].virtualMediaAction.mediaURL",
	))
}

// collectURLFields appends the paths of the string properties of schema whose name ends in "URL" and that say
// they are a media or ISO URL.
func collectURLFields(schema map[string]any, path string, out *[]string) {
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		pm, _ := p.(map[string]any)
		desc, _ := pm["description"].(string)
		if strings.HasSuffix(name, "URL") && pm["type"] == "string" &&
			(strings.Contains(desc, "virtual media") || strings.Contains(desc, "ISO")) {
			*out = append(*out, path+"."+name)
		}
		collectURLFields(pm, path+"."+name, out)
	}
	if items, ok := schema["items"].(map[string]any); ok {
		collectURLFields(items, path+"[]", out)
	}
}

func TestMayRefuse(t *testing.T) {
	g := NewWithT(t)
	for from, to := range map[string]string{"v0.22.0": "v0.24.0", "v0.22.1": "v0.25.0", "v0.23.0": "v0.24.0"} {
		g.Expect(MayRefuse(from, to)).To(BeTrue(), "%s -> %s", from, to)
	}
	for from, to := range map[string]string{"": "v0.25.0", "0.6.2": "v0.25.0", "v0.21.0": "v0.24.0", "v0.22.1": "v0.23.0", "v0.24.0": "v0.25.0"} {
		g.Expect(MayRefuse(from, to)).To(BeFalse(), "%s -> %s", from, to)
	}
}
