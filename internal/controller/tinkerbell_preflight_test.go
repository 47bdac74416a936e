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
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/values"
)

// An upgrade from v0.22.1 to v0.24.0 is refused while a Workflow that can still run picks its ISO with the
// ?sourceISO= parameter on Tinkerbell's own URL, which v0.24.0 ignores; once the user moves it, the upgrade goes on.
// A finished Workflow and a URL on another host do not count.
func TestTinkerbellReconciler_UpgradeRefusedForSourceISOQuery(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.22.1"), servingItsNamespace, withPublicIP("192.168.2.111"))
	create(t, g, tb)
	driveToReady(t, g, tb, expectedObjects(g, tb, values.Facts{}))

	isoWorkflow := func(name, url, state string) *unstructured.Unstructured {
		wf := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "tinkerbell.org/v1alpha1", "kind": "Workflow",
			"metadata": map[string]any{"namespace": ns, "name": name},
			"spec": map[string]any{"templateRef": "ubuntu", "hardwareRef": "node-1",
				"bootOptions": map[string]any{"bootMode": "isoboot", "isoURL": url}},
		}}
		g.Expect(k8sClient.Create(context.Background(), wf)).To(Succeed())
		if state != "" {
			g.Expect(unstructured.SetNestedField(wf.Object, state, "status", "state")).To(Succeed())
			g.Expect(k8sClient.Status().Update(context.Background(), wf)).To(Succeed())
		}
		return wf
	}
	query := "?sourceISO=https://mirror.example.com/hook.iso"
	pending := isoWorkflow("provision-1", "http://192.168.2.111:7171/iso/02:00:00:00:00:01/hook.iso"+query, "")
	isoWorkflow("provision-0", "http://192.168.2.111:7171/iso/02:00:00:00:00:02/hook.iso"+query, "SUCCESS")
	isoWorkflow("elsewhere", "http://192.168.2.200:7171/iso/02:00:00:00:00:03/hook.iso"+query, "")

	editTinkerbell(g, tb, atVersion("v0.24.0"))
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		stalled := conditionOf(got, meta.StalledCondition)
		g.Expect(stalled).To(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", kubetinkv1alpha1.UpgradeRefusedReason)))
		g.Expect(stalled.Message).To(And(ContainSubstring("Workflow "+ns+"/provision-1: spec.bootOptions.isoURL"),
			ContainSubstring("isoboot.sourceISO"), Not(ContainSubstring("provision-0")), Not(ContainSubstring("elsewhere")),
			Not(ContainSubstring("mirror.example.com")))) // a source URL may be presigned: never quoted
		g.Expect(got.Status.Upgrade).To(HaveField("Phase", kubetinkv1alpha1.UpgradePreflight))
		g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.22.1"))
	}, timeout, interval).Should(Succeed())

	// The user moves the source ISO to the Hardware and drops the parameter: the Workflow watch brings the
	// upgrade back, and it goes on.
	g.Expect(k8sClient.Get(context.Background(), key(pending), pending)).To(Succeed())
	g.Expect(unstructured.SetNestedField(pending.Object, "http://192.168.2.111:7171/iso/02:00:00:00:00:01/hook.iso",
		"spec", "bootOptions", "isoURL")).To(Succeed())
	g.Expect(k8sClient.Update(context.Background(), pending)).To(Succeed())
	got := upgradeThroughJobs(t, g, tb, "v0.22.1", "v0.24.0")
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.24.0"))
}

// createCAPTCRDs installs, without schemas, the kinds of Cluster API Provider Tinkerbell and Cluster API that the
// legacy upgrade's preflight reads (this workspace has no copy of their CRDs; the names and versions are CAPT's
// v1beta1 and Cluster API's v1beta1, see migration.CAPTTargets).
func createCAPTCRDs(t *testing.T, g *WithT) {
	t.Helper()
	for _, target := range migration.CAPTTargets() {
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: target.CRDName()},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: target.Group,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: target.Resource, Kind: target.Kind, ListKind: target.Kind + "List"},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: target.Version, Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: new(true)}}}},
			},
		}
		if err := k8sClient.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
			g.Expect(err).NotTo(HaveOccurred())
		}
	}
	g.Eventually(func(g Gomega) {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion(migration.CAPIClusters.APIVersion())
		list.SetKind("ClusterList")
		g.Expect(k8sClient.List(context.Background(), list)).To(Succeed())
	}, timeout, interval).Should(Succeed())
}

// Leaving the legacy stack waits while a Cluster API Provider Tinkerbell machine of the site's namespace is not
// paused, as upstream's upgrade guide asks (ORIGINAL_HELM_CHART_UPGRADE.md, v0.19.2), and goes on once its Cluster
// is paused.
func TestTinkerbellReconciler_LegacyUpgradeWaitsForCAPTToBePaused(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	createCAPTCRDs(t, g)
	tb := newTinkerbell(ns, "site", atVersion("0.6.2"), servingItsNamespace)
	create(t, g, tb)
	driveToReady(t, g, tb, expectedObjects(g, tb, values.Facts{}))

	object := func(target migration.Target, name string, labels map[string]any, spec map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": target.APIVersion(), "kind": target.Kind,
			"metadata": map[string]any{"namespace": ns, "name": name, "labels": labels},
			"spec":     spec,
		}}
		g.Expect(k8sClient.Create(context.Background(), u)).To(Succeed())
		return u
	}
	cluster := object(migration.CAPIClusters, "edge", nil, map[string]any{"paused": false})
	object(migration.TinkerbellMachines, "edge-cp-1", map[string]any{"cluster.x-k8s.io/cluster-name": "edge"}, map[string]any{})

	editTinkerbell(g, tb, atVersion("v0.19.0"))
	waitReason(g, tb, meta.ReadyCondition, kubetinkv1alpha1.UpgradeBlockedReason,
		"TinkerbellMachine "+ns+"/edge-cp-1: CAPT must not reconcile it while the legacy stack is replaced: pause its Cluster")
	g.Consistently(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(HaveField("Phase", kubetinkv1alpha1.UpgradePreflight))
	}, 3*time.Second, interval).Should(Succeed())

	g.Expect(k8sClient.Get(context.Background(), key(cluster), cluster)).To(Succeed())
	g.Expect(unstructured.SetNestedField(cluster.Object, true, "spec", "paused")).To(Succeed())
	g.Expect(k8sClient.Update(context.Background(), cluster)).To(Succeed())
	// Nothing watches Clusters: the periodic look (2 s here) finds it paused.
	g.Expect(waitPreJob(g, tb, "0.6.2", "v0.19.0")).NotTo(BeNil())
}
