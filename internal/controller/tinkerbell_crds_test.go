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

package controller

import (
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// carries reports whether the live object holds every field of the rendered one.
func carries(g Gomega, u *unstructured.Unstructured) bool {
	obj := live(g, u)
	if obj == nil {
		return false
	}
	want, _, _ := unstructured.NestedFieldCopy(u.Object, "spec")
	got, _, _ := unstructured.NestedFieldCopy(obj.Object, "spec")
	return isSubset(normalize(want), normalize(got))
}

// crdObjects returns the CRDs' GitRepository and their single Kustomization from a rendered result.
func crdObjects(g Gomega, res *render.Result) (source, kustomization *unstructured.Unstructured) {
	source, kustomization = byKind(res, "GitRepository"), byKind(res, "Kustomization")
	g.Expect(source).NotTo(BeNil())
	g.Expect(kustomization).NotTo(BeNil())
	g.Expect(byComponent(res, render.ComponentCRDs)).To(HaveLen(2), "one GitRepository and one Kustomization")
	return source, kustomization
}

// TestTinkerbellReconciler_CRDPathMovesAfterTheSource upgrades across the move of the CRDs from crd/bases to
// crd/bases/v1alpha1 (v0.24). The Kustomization keeps building the old path until the GitRepository has fetched
// the new tag, and the release waits until the new CRDs are applied.
func TestTinkerbellReconciler_CRDPathMovesAfterTheSource(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"))
	create(t, g, tb)
	driveToReady(t, g, tb, expectedObjects(g, tb, values.Facts{}))

	editTinkerbell(g, tb, atVersion("v0.25.0"))
	finishJob(g, waitPreJob(g, tb, "v0.19.0", "v0.25.0"), true)
	res := expectedObjects(g, atVersionCopy(tb, "v0.25.0"), values.Facts{})
	source, kustomization := crdObjects(g, res)
	g.Expect(specField(kustomization, "path")).To(Equal("./crd/bases/v1alpha1"))

	// The GitRepository asks for the new tag; until source-controller has fetched it, nothing else moves.
	g.Eventually(func(g Gomega) { g.Expect(carries(g, source)).To(BeTrue()) }, timeout, interval).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(specField(live(g, kustomization), "path")).To(Equal("./crd/bases"), "the Kustomization must not build the new path from the old artifact")
		g.Expect(specField(live(g, byKind(res, "OCIRepository")), "ref", "tag")).To(Equal("v0.19.0"), "the chart waits for the new CRDs")
		g.Expect(carries(g, byKind(res, "HelmRelease"))).To(BeFalse(), "the release waits for the new CRDs")
	}, time.Second, interval).Should(Succeed())
	waitComponent(g, tb, "GitRepository", false)

	// The fetch completes: the Kustomization moves to the new path; the release still waits for it to apply.
	markReady(g, source)
	g.Eventually(func(g Gomega) { g.Expect(carries(g, kustomization)).To(BeTrue()) }, timeout, interval).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(carries(g, byKind(res, "HelmRelease"))).To(BeFalse(), "the release waits for the new CRDs")
	}, time.Second, interval).Should(Succeed())

	got := finishUpgrade(t, g, tb, "v0.19.0", "v0.25.0")
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
}

// TestTinkerbellReconciler_ReleaseWaitsForNewCRDRevision upgrades between two releases whose CRDs live at the
// same path and whose values are the same: only the sources' tags change. The Kustomization's generation does
// not change, and it stays Ready for its generation while it still holds the previous release's CRDs; the
// HelmRelease's generation does not change either, and it stays Ready while helm-controller has yet to upgrade.
// Neither may count as ready, and the chart may move only once the new CRDs are applied.
func TestTinkerbellReconciler_ReleaseWaitsForNewCRDRevision(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.20.0"))
	create(t, g, tb)
	oldRes := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, oldRes)
	_, oldKustomization := crdObjects(g, oldRes)
	kustomizationGen := live(g, oldKustomization).GetGeneration()
	releaseGen := live(g, byKind(oldRes, "HelmRelease")).GetGeneration()

	editTinkerbell(g, tb, atVersion("v0.22.0")) // no pre-upgrade migrations between the two
	res := expectedObjects(g, atVersionCopy(tb, "v0.22.0"), values.Facts{})
	source, kustomization := crdObjects(g, res)
	chart, release := byKind(res, "OCIRepository"), byKind(res, "HelmRelease")
	g.Expect(specField(chart, "ref", "tag")).To(Equal("v0.22.0"))
	g.Eventually(func(g Gomega) { g.Expect(carries(g, source)).To(BeTrue()) }, timeout, interval).Should(Succeed())
	markReady(g, source) // source-controller fetched v0.22.0

	g.Expect(carries(g, kustomization)).To(BeTrue(), "the path is the same in both releases")
	g.Expect(live(g, kustomization).GetGeneration()).To(Equal(kustomizationGen))
	g.Consistently(func(g Gomega) {
		g.Expect(specField(live(g, chart), "ref", "tag")).To(Equal("v0.20.0"), "the chart waits for the v0.22.0 CRDs")
	}, time.Second, interval).Should(Succeed())
	waitComponentMessage(g, tb, "Kustomization", "waiting for revision v0.22.0@sha1:")

	// kustomize-controller applies the new artifact: the chart source moves. The HelmRelease is unchanged and
	// Ready for its generation, but its latest release is still of the v0.20.0 chart.
	markReady(g, kustomization)
	g.Eventually(func(g Gomega) {
		g.Expect(specField(live(g, chart), "ref", "tag")).To(Equal("v0.22.0"))
	}, timeout, interval).Should(Succeed())
	g.Expect(live(g, release).GetGeneration()).To(Equal(releaseGen), "the values are the same in both releases")
	markReady(g, chart)
	waitComponentMessage(g, tb, "HelmRelease", "waiting for chart version 0.22.0 to be released (latest release: 0.20.0+")
	g.Expect(conditionOf(getTinkerbell(g, tb), meta.ReadyCondition)).To(HaveField("Status", Not(BeEquivalentTo("True"))))

	// helm-controller upgrades the release from the new chart; then the post-upgrade Job moves the iPXE paths.
	markReady(g, release)
	finishJob(g, waitJob(g, ns, jobName(tb, "v0.22.0", migration.PostUpgrade)), true)
	g.Expect(waitReady(g, tb).Status.LastAppliedVersion).To(Equal("v0.22.0"))
}

// specField returns a string field under an object's spec.
func specField(u *unstructured.Unstructured, fields ...string) string {
	v, _, _ := unstructured.NestedString(u.Object, append([]string{"spec"}, fields...)...)
	return v
}

// waitComponentMessage waits until status.components reports the Tinkerbell's object of that kind as not ready
// with a message containing msg.
func waitComponentMessage(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, kind, msg string) {
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(got.Status.Components).To(ContainElement(And(HaveField("Kind", kind), HaveField("Ready", false),
			HaveField("Message", ContainSubstring(msg)))))
	}, timeout, interval).Should(Succeed())
}

// waitComponent waits until status.components reports the Tinkerbell's object of that kind as ready or not.
func waitComponent(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, kind string, ready bool) {
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(got.Status.Components).To(ContainElement(And(HaveField("Kind", kind), HaveField("Ready", ready))))
	}, timeout, interval).Should(Succeed())
}
