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
	"k8s.io/apimachinery/pkg/util/validation"
)

func stepNames(steps []Step) []string {
	names := make([]string, 0, len(steps))
	for _, s := range steps {
		names = append(names, s.Name)
	}
	return names
}

func TestPlan(t *testing.T) {
	legacyToV019 := []string{
		StackReinstall, WorkflowStatusCapture, BMCJobMachineRef,
		WorkflowStatusConvert, BaseboardManagementToMachine, TinkerbellPortsV0182, HookArtifactsFileServer, TinkAgentImage,
	}
	legacyToV025 := []string{
		StackReinstall, WorkflowStatusCapture, TemplateRenderingCapture, BMCJobMachineRef,
		WorkflowStatusConvert, TemplateRenderingConvert, BaseboardManagementToMachine,
		TinkerbellPortsV0182, TinkerbellIPXEPathsV0220, TinkerbellPortsV0230, HookArtifactsFileServer, TinkAgentImage,
	}
	tests := []struct {
		name      string
		from, to  string
		wantSteps []string
		wantErr   string
	}{
		{name: "fresh install", from: "", to: "v0.25.0", wantSteps: []string{}},
		{name: "same version", from: "v0.22.1", to: "v0.22.1", wantSteps: []string{}},
		{name: "patch release", from: "v0.19.0", to: "v0.19.3", wantSteps: []string{}},
		{name: "legacy stack to v0.19.0", from: "0.6.2", to: "v0.19.0", wantSteps: legacyToV019},
		{name: "legacy stack to v0.19.2", from: "0.6.2", to: "v0.19.2", wantSteps: legacyToV019},
		{name: "legacy stack to v0.25.0", from: "0.6.2", to: "v0.25.0", wantSteps: legacyToV025},
		{name: "older legacy stack to v0.19.0", from: "0.4.0", to: "v0.19.0", wantSteps: legacyToV019},
		{name: "legacy stack to v0.20.0 renames templateRending", from: "0.6.2", to: "v0.20.0", wantSteps: []string{
			StackReinstall, WorkflowStatusCapture, TemplateRenderingCapture, BMCJobMachineRef,
			WorkflowStatusConvert, TemplateRenderingConvert, BaseboardManagementToMachine, TinkerbellPortsV0182,
			HookArtifactsFileServer, TinkAgentImage,
		}},
		{name: "crossing v0.20", from: "v0.19.3", to: "v0.20.0", wantSteps: []string{TemplateRenderingCapture, TemplateRenderingConvert}},
		{name: "v0.20 to v0.21 has nothing", from: "v0.20.1", to: "v0.21.0", wantSteps: []string{}},
		{name: "crossing v0.22.0 moves the iPXE paths", from: "v0.21.0", to: "v0.22.0", wantSteps: []string{TinkerbellIPXEPathsV0220}},
		{name: "v0.20 to v0.22.1", from: "v0.20.1", to: "v0.22.1", wantSteps: []string{TinkerbellIPXEPathsV0220}},
		{name: "v0.22.0 to v0.22.1 has nothing", from: "v0.22.0", to: "v0.22.1", wantSteps: []string{}},
		{name: "crossing v0.23", from: "v0.22.1", to: "v0.23.0", wantSteps: []string{TinkerbellPortsV0230}},
		{name: "v0.21 to v0.23: paths before ports", from: "v0.21.0", to: "v0.23.0", wantSteps: []string{TinkerbellIPXEPathsV0220, TinkerbellPortsV0230}},
		{name: "v0.19 to v0.25", from: "v0.19.0", to: "v0.25.0", wantSteps: []string{
			TemplateRenderingCapture, TemplateRenderingConvert, TinkerbellIPXEPathsV0220, TinkerbellPortsV0230,
		}},
		{name: "v0.17 to v0.19 converts the worker shape", from: "v0.17.0", to: "v0.19.0", wantSteps: []string{
			WorkflowStatusCapture, WorkflowStatusConvert, TinkerbellPortsV0182,
		}},
		{name: "mainline build after v0.23", from: "v0.22.1", to: "v0.23.1-23da0880", wantSteps: []string{TinkerbellPortsV0230}},
		{name: "downgrade", from: "v0.22.1", to: "v0.19.0", wantErr: "downgrade from v0.22.1 to v0.19.0 is not supported"},
		{name: "downgrade to legacy", from: "v0.19.0", to: "0.6.2", wantErr: "downgrade"},
		{name: "legacy to v0.18", from: "0.6.2", to: "v0.18.3", wantErr: "can only be upgraded to v0.19.0 or later"},
		{name: "unknown from", from: "latest", to: "v0.19.0", wantErr: `unknown version "latest"`},
		{name: "unknown to", from: "v0.19.0", to: "v0.20", wantErr: `unknown version "v0.20"`},
		{name: "empty to", from: "", to: "", wantErr: `unknown version ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			steps, err := Plan(tt.from, tt.to)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(stepNames(steps)).To(Equal(tt.wantSteps))
			// PreUpgrade steps come first.
			seenPost := false
			for _, s := range steps {
				if s.Phase == PostUpgrade {
					seenPost = true
				}
				g.Expect(seenPost && s.Phase == PreUpgrade).To(BeFalse(), "PreUpgrade step %s after a PostUpgrade step", s.Name)
			}
		})
	}
}

func TestRequiresReinstall(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"0.6.2", "v0.19.0", true},
		{"0.6.2", "v0.25.0", true},
		{"0.4.0", "v0.22.1", true},
		{"", "v0.19.0", false},
		{"v0.19.0", "v0.25.0", false},
		{"0.6.2", "0.6.2", false},
		{"garbage", "v0.19.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.from+"->"+tt.to, func(t *testing.T) {
			NewWithT(t).Expect(RequiresReinstall(tt.from, tt.to)).To(Equal(tt.want))
		})
	}
}

func TestParsePhases(t *testing.T) {
	g := NewWithT(t)
	for flag, want := range map[string][]Phase{
		"pre":  {PreUpgrade},
		"post": {PostUpgrade},
		"all":  {PreUpgrade, PostUpgrade},
		"":     {PreUpgrade, PostUpgrade},
	} {
		got, err := ParsePhases(flag)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want))
	}
	_, err := ParsePhases("during")
	g.Expect(err).To(MatchError(ContainSubstring(`unknown phase "during"`)))
	g.Expect(PreUpgrade.Flag()).To(Equal("pre"))
	g.Expect(PostUpgrade.Flag()).To(Equal("post"))
}

// TestRegistry checks the invariants the runner and the backups rely on.
func TestRegistry(t *testing.T) {
	g := NewWithT(t)
	seen := map[string]bool{}
	for _, m := range All() {
		g.Expect(seen[m.Name]).To(BeFalse(), "duplicate migration %s", m.Name)
		seen[m.Name] = true
		g.Expect(validation.IsValidLabelValue(m.Name)).To(BeEmpty(), "%s is used as a label value", m.Name)
		g.Expect(validateVersion(m.Crossing)).To(Succeed())
		g.Expect(m.Phase).To(BeElementOf(PreUpgrade, PostUpgrade))
		g.Expect(m.Description).NotTo(BeEmpty())
		g.Expect(m.Reinstall || m.Create != nil || len(m.Rewrites) > 0).To(BeTrue(), "%s does nothing", m.Name)
		for _, rw := range m.Rewrites {
			g.Expect(rw.Transform).NotTo(BeNil())
			g.Expect(Targets()).To(ContainElement(rw.Target))
		}
		got, ok := Get(m.Name)
		g.Expect(ok).To(BeTrue())
		g.Expect(got.Name).To(Equal(m.Name))
	}
	_, ok := Get("no-such-migration")
	g.Expect(ok).To(BeFalse())
}
