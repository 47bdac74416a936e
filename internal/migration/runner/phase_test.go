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

	"github.com/kubetink/kubetink/internal/migration"
)

// TestPhaseWritesEachObjectOnce runs three migrations of one phase that all change the same Hardware (Hegel's
// port to Tootles', Tootles' to the shared port, tink-worker to tink-agent): the object is written once, with
// what running them one after the other gives, and each migration's backup holds the state that migration found,
// so that restoring them latest first gives the original back.
func TestPhaseWritesEachObjectOnce(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	c := startCluster(t, "v0.25.0")
	hw := fleetHardware("tink", 1)
	userData := "#cloud-config\ndatasource:\n  Ec2:\n    metadata_urls: [\"http://" + testPublicIP + ":50061\"]\n" +
		"runcmd:\n  - docker run quay.io/tinkerbell/tink-worker:v0.10.0\n"
	g.Expect(unstructured.SetNestedField(hw.Object, userData, "spec", "userData")).To(Succeed())
	original := c.createAll(t, []*unstructured.Unstructured{hw})["Hardware tink/machine-0001"]
	g.Expect(original.GetGeneration()).To(BeNumerically("==", 1))

	res := c.migrate(t, Options{From: "0.6.2", To: "v0.25.0", PublicIP: testPublicIP, Phases: post})
	for _, name := range []string{migration.TinkerbellPortsV0182, migration.TinkerbellPortsV0230, migration.TinkAgentImage} {
		g.Expect(counts(res[name])).To(Equal([3]int{1, 1, 0}), name)
		g.Expect(res[name].Objects).To(Equal([]string{"changed Hardware tink/machine-0001"}), name)
	}
	got := c.get(t, migration.Hardware, "tink", "machine-0001")
	g.Expect(got.GetGeneration()).To(BeNumerically("==", 2), "one write for three migrations")
	g.Expect(nestedString(got, "spec", "userData")).To(And(
		ContainSubstring("http://"+testPublicIP+":7080"), ContainSubstring("ghcr.io/tinkerbell/tink-agent:v0.25.0")))

	// Each backup is the state its migration found.
	found := map[string]string{}
	for _, cm := range c.backups(t) {
		entries, err := readBackup(&cm)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(entries).To(HaveLen(1))
		found[cm.GetLabels()[MigrationLabel]] = nestedString(entries[0].obj, "spec", "userData")
	}
	g.Expect(found).To(HaveLen(3))
	g.Expect(found[migration.TinkerbellPortsV0182]).To(Equal(userData))
	g.Expect(found[migration.TinkerbellPortsV0230]).To(And(ContainSubstring(":7172\"]"), ContainSubstring("tink-worker")))
	g.Expect(found[migration.TinkAgentImage]).To(And(ContainSubstring(":7080\"]"), ContainSubstring("tink-worker")))

	restored := c.restore(t, migration.TinkAgentImage, migration.TinkerbellPortsV0230, migration.TinkerbellPortsV0182)
	for name, r := range restored {
		g.Expect(r.Restored).To(Equal(1), name)
	}
	g.Expect(userView(c.get(t, migration.Hardware, "tink", "machine-0001"))).To(Equal(userView(original)))
}
