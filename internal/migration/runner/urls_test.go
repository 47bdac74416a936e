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
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/migration"
)

// TestURLMovesV0210ToV0250 upgrades URLs on Tinkerbell's address in every kind that holds them (Hardware,
// Templates, Workflows, BMC Jobs and Tasks) from v0.21.0 to v0.25.0 on a real apiserver serving upstream's CRDs:
// the v0.22.0 iPXE paths, then the v0.23.0 ports. v0.22.1's CRDs stand in for v0.21.0's (from v0.20.0 to v0.25.0
// the CRDs only gain fields). The migrated objects must equal the golden file of the package's pure test.
func TestURLMovesV0210ToV0250(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "v0.22.1")
	c.apply(t, "urls-v0.21.0")
	originals := c.objects(t, "urls-v0.21.0")
	// The host name is matched in any case.
	opts := Options{From: "v0.21.0", To: "v0.25.0", PublicIP: "10.0.0.1", Hosts: []string{"TINK.example.com"}, Phases: post}

	c.upgradeCRDs(t, "v0.25.0")

	t.Run("dry run changes nothing", func(t *testing.T) {
		g := NewWithT(t)
		before := c.snapshot(t)
		dry := opts
		dry.DryRun = true
		res := c.migrate(t, dry)
		g.Expect(counts(res[migration.TinkerbellIPXEPathsV0220])).To(Equal([3]int{8, 2, 6}))
		g.Expect(c.snapshot(t)).To(Equal(before))
	})

	t.Run("PostUpgrade moves paths and ports", func(t *testing.T) {
		g := NewWithT(t)
		res := c.migrate(t, opts)
		g.Expect(res).To(HaveLen(2))
		// 1 Template, 2 Hardware, 2 Workflows, 1 BMC Job, 2 BMC Tasks; the look-alike hosts' objects are skipped.
		g.Expect(counts(res[migration.TinkerbellIPXEPathsV0220])).To(Equal([3]int{8, 2, 6}))
		g.Expect(counts(res[migration.TinkerbellPortsV0230])).To(Equal([3]int{8, 6, 2}))
		for _, r := range res {
			g.Expect(r.Notes).To(BeEmpty())
		}
		g.Expect(expectGolden(t, c, "urls-v0.21.0.to-v0.25.0")).To(HaveLen(len(originals)))
		task := c.get(t, migration.BMCTasks, "tinkerbell", "wf-isoboot-prepare-task-1")
		g.Expect(nestedString(task, "spec", "task", "virtualMediaAction", "mediaURL")).To(Equal("http://10.0.0.1:7080/iso/08-00-27-9e-f5-3a/hook.iso"))
		g.Expect(userView(c.get(t, migration.BMCTasks, "tinkerbell", "other-iso"))).To(Equal(userView(originals["Task/other-iso"])))
		g.Expect(userView(c.get(t, migration.Hardware, "tinkerbell", "machine2"))).To(Equal(userView(originals["Hardware/machine2"])))

		before := c.snapshot(t)
		expectNoChanges(g, c.migrate(t, opts))
		g.Expect(c.snapshot(t)).To(Equal(before), "a second run writes nothing")
	})

	t.Run("restore puts every object back, BMC Tasks included", func(t *testing.T) {
		g := NewWithT(t)
		res := c.restore(t, migration.TinkerbellPortsV0230, migration.TinkerbellIPXEPathsV0220)
		g.Expect(res[migration.TinkerbellPortsV0230].Restored).To(Equal(6))
		g.Expect(res[migration.TinkerbellIPXEPathsV0220].Restored).To(Equal(2))
		for k, o := range originals {
			g.Expect(userView(c.get(t, targetFor(t, o.GetKind()), o.GetNamespace(), o.GetName()))).To(Equal(userView(o)), k)
		}
		before := c.snapshot(t)
		for _, r := range c.restore(t, migration.TinkerbellPortsV0230, migration.TinkerbellIPXEPathsV0220) {
			g.Expect(r.Backups).To(BeZero())
		}
		g.Expect(c.snapshot(t)).To(Equal(before))
	})
}

// TestHookArtifactsFromLegacyStack062 leaves the legacy stack 0.6.2 for v0.25.0 on a real apiserver serving
// upstream's CRDs (tinkerbell/charts v0.6.2, then tinkerbell v0.25.0): the Hook file server URLs (8080 on
// Tinkerbell's address) stay and are listed while no artifacts file server is known, and move to it once it is.
func TestHookArtifactsFromLegacyStack062(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "0.6.2")
	c.apply(t, "urls-stack-0.6.2")
	originals := c.objects(t, "urls-stack-0.6.2")
	opts := Options{From: "0.6.2", To: "v0.25.0", PublicIP: "10.0.0.1", Hosts: []string{"tink.example.com"}}

	pre := opts
	pre.Phases = []migration.Phase{migration.PreUpgrade}
	c.migrate(t, pre)
	c.upgradeCRDs(t, "v0.25.0")
	post := opts
	post.Phases = []migration.Phase{migration.PostUpgrade}

	t.Run("without an artifacts file server the Hook URLs stay and are listed", func(t *testing.T) {
		g := NewWithT(t)
		res := c.migrate(t, post)
		g.Expect(counts(res[migration.HookArtifactsFileServer])).To(Equal([3]int{5, 0, 5}))
		g.Expect(res[migration.HookArtifactsFileServer].Notes).To(ConsistOf(
			ContainSubstring("Hardware tink/machine1: left http://10.0.0.1:8080 as is: the legacy stack's Hook file server on port 8080 is gone and no artifacts file server was given (--artifacts-file-server)"),
			ContainSubstring("Template tink/ubuntu: left http://10.0.0.1:8080/jammy-server-cloudimg-amd64.raw.gz as is"),
		))
		// Everything else moved: the legacy Smee's script path and port, Hegel's port, the ISO's port.
		g.Expect(counts(res[migration.TinkerbellIPXEPathsV0220])).To(Equal([3]int{5, 1, 4}))
		g.Expect(counts(res[migration.TinkerbellPortsV0230])).To(Equal([3]int{5, 5, 0}))
		hw := c.get(t, migration.Hardware, "tink", "machine1")
		ifaces, _, _ := unstructured.NestedSlice(hw.Object, "spec", "interfaces")
		g.Expect(ifaces[0]).To(HaveKeyWithValue("netboot", And(
			HaveKeyWithValue("ipxe", HaveKeyWithValue("url", "http://tink.example.com:7080/ipxe/script/auto.ipxe")),
			HaveKeyWithValue("osie", HaveKeyWithValue("baseURL", "http://10.0.0.1:8080")),
		)))
	})

	t.Run("with one they move there", func(t *testing.T) {
		g := NewWithT(t)
		post := post
		post.ArtifactsFileServer = "http://10.0.0.2:7173/hook"
		res := c.migrate(t, post)
		g.Expect(counts(res[migration.HookArtifactsFileServer])).To(Equal([3]int{5, 2, 3}))
		g.Expect(res[migration.HookArtifactsFileServer].Notes).To(BeEmpty())
		expectGolden(t, c, "urls-stack-0.6.2.to-v0.25.0")
		before := c.snapshot(t)
		expectNoChanges(g, c.migrate(t, post))
		g.Expect(c.snapshot(t)).To(Equal(before), "a second run writes nothing")
	})

	t.Run("restore gives the legacy URLs back", func(t *testing.T) {
		g := NewWithT(t)
		var names []string
		for _, m := range migration.All() {
			if m.Phase == migration.PostUpgrade {
				names = append([]string{m.Name}, names...) // latest first
			}
		}
		res := c.restore(t, names...)
		g.Expect(res[migration.HookArtifactsFileServer].Restored).To(Equal(2))
		for _, k := range []string{"Hardware/machine1", "Template/ubuntu", "Job/wf-iso-prepare", "Task/wf-iso-prepare-task-1"} {
			o := originals[k]
			got := c.get(t, targetFor(t, o.GetKind()), o.GetNamespace(), o.GetName())
			g.Expect(specStrings(got.Object["spec"], "spec")).To(Equal(specStrings(o.Object["spec"], "spec")), k)
		}
	})
}

// expectGolden checks that the strings under the spec of each object of the pure test's golden file
// (testdata/objects/<name>.golden.yaml) are those of the live object (defaults the apiserver adds are no strings
// the migrations write), and returns the golden objects.
func expectGolden(t *testing.T, c *cluster, name string) []*unstructured.Unstructured {
	t.Helper()
	g := NewWithT(t)
	want := readDocs(t, filepath.Join("..", "testdata", "objects", name+".golden.yaml"))
	for _, w := range want {
		got := c.get(t, targetFor(t, w.GetKind()), w.GetNamespace(), w.GetName())
		g.Expect(specStrings(got.Object["spec"], "spec")).To(Equal(specStrings(w.Object["spec"], "spec")), "%s %s", w.GetKind(), w.GetName())
	}
	return want
}

// specStrings returns every string under v by its path.
func specStrings(v any, path string) map[string]string {
	out := map[string]string{}
	switch t := v.(type) {
	case string:
		out[path] = t
	case map[string]any:
		for k, e := range t {
			maps.Copy(out, specStrings(e, path+"."+k))
		}
	case []any:
		for i, e := range t {
			maps.Copy(out, specStrings(e, fmt.Sprintf("%s[%d]", path, i)))
		}
	}
	return out
}

// objects returns the live objects of testdata/objects/<file>.yaml, keyed by "Kind/name".
func (c *cluster) objects(t *testing.T, file string) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	for _, o := range readDocs(t, filepath.Join("..", "testdata", "objects", file+".yaml")) {
		obj, err := c.dyn.Resource(targetFor(t, o.GetKind()).GVR()).Namespace(o.GetNamespace()).Get(context.Background(), o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[o.GetKind()+"/"+o.GetName()] = obj
	}
	return out
}
