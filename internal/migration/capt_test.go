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
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/testutil"
)

// captObjects returns the TinkerbellMachines, TinkerbellClusters and Clusters of testdata/objects/capt-v0.6.5.yaml.
func captObjects(t *testing.T) (machines, infraClusters, clusters []unstructured.Unstructured) {
	t.Helper()
	for _, u := range testutil.ReadObjects(t, filepath.Join("testdata", "objects", "capt-v0.6.5.yaml")) {
		switch u.GetKind() {
		case TinkerbellMachines.Kind:
			machines = append(machines, *u)
		case TinkerbellClusters.Kind:
			infraClusters = append(infraClusters, *u)
		case CAPIClusters.Kind:
			clusters = append(clusters, *u)
		}
	}
	return machines, infraClusters, clusters
}

// TestCAPTBlockers_LegacyReinstallV0192Guide: upstream's ORIGINAL_HELM_CHART_UPGRADE.md (v0.19.2, v0.19.3) asks
// that CAPT be paused or uninstalled for the stack 0.6.2 → v0.19 upgrade. Paused is what CAPT v0.6.5 checks with
// Cluster API v1.8.5's annotations.IsPaused: the Cluster's spec.paused or the object's cluster.x-k8s.io/paused.
func TestCAPTBlockers_LegacyReinstallV0192Guide(t *testing.T) {
	machines, infraClusters, clusters := captObjects(t)
	blocked := []string{
		"TinkerbellMachine capi/prod-control-plane-x7k2p",
		"TinkerbellMachine capi/dev-worker-a-5tlxc",
		"TinkerbellMachine capi-b/staging-worker-b-k2d9s",
		"TinkerbellMachine capi/prod-worker-a-pending",
		"TinkerbellCluster capi/prod",
	}
	for _, tt := range []struct {
		name                              string
		from, to                          string
		machines, infraClusters, clusters []unstructured.Unstructured
		want                              []string
	}{
		{name: "stack 0.6.2 to v0.19.0", from: "0.6.2", to: "v0.19.0", machines: machines, infraClusters: infraClusters, clusters: clusters, want: blocked},
		{name: "stack 0.6.2 to v0.25.0", from: "0.6.2", to: "v0.25.0", machines: machines, infraClusters: infraClusters, clusters: clusters, want: blocked},
		{name: "unified upgrade v0.19.0 to v0.25.0", from: "v0.19.0", to: "v0.25.0", machines: machines, infraClusters: infraClusters, clusters: clusters},
		{name: "install", from: "", to: "v0.25.0", machines: machines, infraClusters: infraClusters, clusters: clusters},
		{name: "CAPT not installed", from: "0.6.2", to: "v0.19.0"},
		{name: "Cluster API CRD absent: only annotations pause", from: "0.6.2", to: "v0.19.0", machines: machines, infraClusters: infraClusters,
			want: []string{
				"TinkerbellMachine capi/prod-control-plane-x7k2p",
				"TinkerbellMachine capi/staging-worker-a-9qz4d",
				"TinkerbellMachine capi/dev-worker-a-5tlxc",
				"TinkerbellMachine capi-b/staging-worker-b-k2d9s",
				"TinkerbellMachine capi/prod-worker-a-pending",
				"TinkerbellCluster capi/prod",
				"TinkerbellCluster capi/staging",
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := CAPTBlockers(tt.from, tt.to, tt.machines, tt.infraClusters, tt.clusters)
			lines := make([]string, 0, len(got))
			for _, b := range got {
				lines = append(lines, b.Kind+" "+b.Namespace+"/"+b.Name)
			}
			if tt.want == nil {
				g.Expect(got).To(BeEmpty())
				return
			}
			g.Expect(lines).To(Equal(tt.want))
		})
	}
}

// TestCAPTBlockers_Messages: a blocker says how to pause the object, through its Cluster when it has one.
func TestCAPTBlockers_Messages(t *testing.T) {
	g := NewWithT(t)
	machines, infraClusters, clusters := captObjects(t)
	got := map[string]string{}
	for _, b := range CAPTBlockers("0.6.2", "v0.19.0", machines, infraClusters, clusters) {
		got[b.Name] = b.String()
	}
	g.Expect(got).To(HaveKeyWithValue("prod-control-plane-x7k2p",
		"TinkerbellMachine capi/prod-control-plane-x7k2p: CAPT must not reconcile it while the legacy stack is replaced: "+
			`pause its Cluster (kubectl patch clusters.cluster.x-k8s.io prod -n capi --type merge -p '{"spec":{"paused":true}}') `+
			"and unpause it after the upgrade"))
	g.Expect(got).To(HaveKeyWithValue("staging-worker-b-k2d9s",
		"TinkerbellMachine capi-b/staging-worker-b-k2d9s: CAPT must not reconcile it while the legacy stack is replaced: "+
			"pause it (kubectl annotate tinkerbellmachines.infrastructure.cluster.x-k8s.io staging-worker-b-k2d9s -n capi-b "+
			"cluster.x-k8s.io/paused=true) and remove the annotation after the upgrade"))
	g.Expect(got["prod"]).To(ContainSubstring("kubectl patch clusters.cluster.x-k8s.io prod -n capi"))
}

// TestCAPTBlockers_PausedClusterV1beta2: Cluster API v1.11 and later store Clusters as v1beta2, where spec.paused
// is a *bool with the same JSON; a Cluster read at either version pauses its objects.
func TestCAPTBlockers_PausedClusterV1beta2(t *testing.T) {
	g := NewWithT(t)
	machines, _, _ := captObjects(t)
	cluster := unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
		"metadata": map[string]any{"name": "prod", "namespace": "capi"},
		"spec":     map[string]any{"paused": true},
	}}
	got := CAPTBlockers("0.6.2", "v0.19.0", machines[:1], nil, []unstructured.Unstructured{cluster})
	g.Expect(got).To(BeEmpty())
}

func TestCAPTTargets(t *testing.T) {
	g := NewWithT(t)
	gvrs := make([]string, 0, 3)
	for _, tg := range CAPTTargets() {
		gvrs = append(gvrs, tg.GVR().String())
	}
	g.Expect(gvrs).To(Equal([]string{
		"infrastructure.cluster.x-k8s.io/v1beta1, Resource=tinkerbellmachines",
		"infrastructure.cluster.x-k8s.io/v1beta1, Resource=tinkerbellclusters",
		"cluster.x-k8s.io/v1beta1, Resource=clusters",
	}))
}
