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

package upstreamcrds

import (
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

var repoRoot = filepath.Join("..", "..")

func TestFiles(t *testing.T) {
	g := NewWithT(t)
	legacy, err := Files(repoRoot, "0.6.2")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names(legacy)).To(Equal([]string{
		"rufio.bmc.tinkerbell.org_jobs.yaml", "rufio.bmc.tinkerbell.org_machines.yaml", "rufio.bmc.tinkerbell.org_tasks.yaml",
		"tink.hardware-crd.yaml", "tink.template-crd.yaml", "tink.workflow-crd.yaml",
	}))
	unified, err := Files(repoRoot, "v0.25.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names(unified)).To(Equal([]string{
		"bmc.tinkerbell.org_jobs.yaml", "bmc.tinkerbell.org_machines.yaml", "bmc.tinkerbell.org_tasks.yaml",
		"tinkerbell.org_hardware.yaml", "tinkerbell.org_templates.yaml", "tinkerbell.org_workflowrulesets.yaml",
		"tinkerbell.org_workflows.yaml",
	}), "only the v1alpha1 CRDs, which the binary installs")
	for _, f := range unified {
		g.Expect(f.Path).To(BeAnExistingFile())
	}

	p, err := Find(repoRoot, "v0.19.0", "tinkerbell.org_workflows.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(filepath.Base(p)).To(Equal("tinkerbell-repo-v0.19.0.v1alpha1.tinkerbell.org_workflows.yaml"))
	_, err = Find(repoRoot, "v0.19.0", "tinkerbell.org_policies.yaml")
	g.Expect(err).To(MatchError(ContainSubstring("no CRD file tinkerbell.org_policies.yaml in Tinkerbell v0.19.0")))

	_, err = Files(repoRoot, "v0.18.0")
	g.Expect(err).To(MatchError(ContainSubstring("no CRDs of Tinkerbell v0.18.0")))
}

func TestMissingDirectoryFails(t *testing.T) {
	g := NewWithT(t)
	t.Setenv(DirEnv, filepath.Join(t.TempDir(), "missing"))
	_, err := Files(repoRoot, "v0.25.0")
	g.Expect(err).To(MatchError(And(ContainSubstring("upstream's Tinkerbell CRDs are not there"), ContainSubstring(SharedDir), ContainSubstring("$"+DirEnv))))

	t.Setenv(ArgoCDDirEnv, t.TempDir())
	_, err = ArgoCDApplication(repoRoot)
	g.Expect(err).To(MatchError(ContainSubstring("no Application CRD of Argo CD " + ArgoCDVersion)))
}

func TestArgoCDApplication(t *testing.T) {
	g := NewWithT(t)
	p, err := ArgoCDApplication(repoRoot)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p).To(BeAnExistingFile())
}
